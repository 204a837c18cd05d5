package dev.gantry.operator.dependent;

import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Hands the workers' spec.replicas over to the autoscaler without a reset, as Kubernetes'
 * server-side apply documentation prescribes: once autoscaling is on, the operator applies the
 * Deployment without spec.replicas, and a field its sole manager stops sending is removed, which
 * for a Deployment means 1 replica until the HPA next acts. So before that apply, while the
 * operator still owns the field, the current count is applied once more under a field manager of
 * its own; that manager then holds the field (at the count there is), the operator's apply lets
 * go of it, and the HPA takes it over on its first scale.
 */
final class ReplicasHandover {
    static final String FIELD_MANAGER = "gantry-operator-replicas-handover";
    private static final Logger LOG = Logger.getLogger(ReplicasHandover.class);

    private ReplicasHandover() {
    }

    /** Whether {@code manager}'s apply owns spec.replicas of the Deployment. */
    @SuppressWarnings("unchecked")
    static boolean ownsReplicas(Deployment deployment, String manager) {
        if (deployment.getMetadata().getManagedFields() == null) {
            return false;
        }
        for (ManagedFieldsEntry entry : deployment.getMetadata().getManagedFields()) {
            if (!manager.equals(entry.getManager()) || !"Apply".equals(entry.getOperation()) || entry.getFieldsV1() == null) {
                continue;
            }
            Object spec = entry.getFieldsV1().getAdditionalProperties().get("f:spec");
            if (spec instanceof Map<?, ?> fields && fields.containsKey("f:replicas")) {
                return true;
            }
        }
        return false;
    }

    /** Before the operator applies {@code actual} without spec.replicas: keeps the count there is. */
    static void keepReplicas(KubernetesClient client, Deployment actual, String operatorFieldManager) {
        Integer replicas = actual.getSpec() == null ? null : actual.getSpec().getReplicas();
        if (replicas == null || !ownsReplicas(actual, operatorFieldManager)) {
            return;
        }
        Deployment handover = new DeploymentBuilder()
                .withNewMetadata().withName(actual.getMetadata().getName()).withNamespace(actual.getMetadata().getNamespace())
                .endMetadata()
                .withNewSpec().withReplicas(replicas).endSpec()
                .build();
        try {
            // No force: the same value as the operator's is shared ownership. A conflict means
            // someone (the HPA) has set another count since, and owns the field already.
            client.resource(handover).fieldManager(FIELD_MANAGER).serverSideApply();
            LOG.infof("Deployment %s/%s: spec.replicas (%d) handed over for the autoscaler",
                    actual.getMetadata().getNamespace(), actual.getMetadata().getName(), replicas);
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                throw e;
            }
            LOG.debugf("Deployment %s/%s: spec.replicas changed since it was read; nothing to hand over",
                    actual.getMetadata().getNamespace(), actual.getMetadata().getName());
        }
    }
}
