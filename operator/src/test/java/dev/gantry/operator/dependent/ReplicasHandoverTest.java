package dev.gantry.operator.dependent;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.FieldsV1;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReplicasHandoverTest {

    private static Deployment managedBy(String manager, String operation, Map<String, Object> spec) {
        FieldsV1 fields = new FieldsV1();
        fields.setAdditionalProperty("f:spec", spec);
        return new DeploymentBuilder().withNewMetadata().withName("chat").withNamespace("llm")
                .withManagedFields(new ManagedFieldsEntryBuilder().withManager(manager).withOperation(operation)
                        .withFieldsType("FieldsV1").withFieldsV1(fields).build())
                .endMetadata().build();
    }

    @Test
    void onlyTheManagersOwnApplyOfSpecReplicasCounts() {
        Map<String, Object> withReplicas = Map.of("f:replicas", Map.of(), "f:template", Map.of());
        assertThat(ReplicasHandover.ownsReplicas(managedBy("op", "Apply", withReplicas), "op")).isTrue();
        assertThat(ReplicasHandover.ownsReplicas(managedBy("op", "Apply", Map.of("f:template", Map.of())), "op")).isFalse();
        assertThat(ReplicasHandover.ownsReplicas(managedBy("kube-controller-manager", "Update", withReplicas), "op")).isFalse();
        assertThat(ReplicasHandover.ownsReplicas(managedBy("op", "Update", withReplicas), "op")).isFalse();
        assertThat(ReplicasHandover.ownsReplicas(new DeploymentBuilder().withNewMetadata().endMetadata().build(), "op"))
                .isFalse();
    }
}
