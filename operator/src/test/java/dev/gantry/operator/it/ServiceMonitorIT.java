package dev.gantry.operator.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.monitoring.ServiceMonitor;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ServiceMonitor follows the Prometheus Operator's CRD: none while the CRD is missing (and no
 * failure either), one once the CRD is there. Its own control plane, since the CRD is cluster-wide.
 */
class ServiceMonitorIT extends OperatorClusterTest {

    @BeforeAll
    static void start() {
        startCluster(ServiceMonitorIT.class);
    }

    /**
     * The CRD of monitoring.coreos.com/v1 ServiceMonitor as far as the operator relies on it: its
     * names and version. The schema keeps every field (the real one is 1000 lines of OpenAPI).
     */
    private static CustomResourceDefinition serviceMonitorCrd() {
        return new CustomResourceDefinitionBuilder()
                .withNewMetadata().withName("servicemonitors.monitoring.coreos.com").endMetadata()
                .withNewSpec()
                .withGroup("monitoring.coreos.com")
                .withScope("Namespaced")
                .withNewNames().withKind("ServiceMonitor").withListKind("ServiceMonitorList")
                .withPlural("servicemonitors").withSingular("servicemonitor").endNames()
                .addNewVersion().withName("v1").withServed(true).withStorage(true)
                .withNewSchema().withNewOpenAPIV3Schema().withType("object").withXKubernetesPreserveUnknownFields(true)
                .endOpenAPIV3Schema().endSchema()
                .endVersion()
                .endSpec()
                .build();
    }

    private ServiceMonitor serviceMonitor() {
        return client.resources(ServiceMonitor.class).inNamespace(ns).withName(NAME).get();
    }

    @Test
    void aServiceMonitorComesOnlyOnceItsCrdIsInstalled() {
        LLMDeployment created = create(llmd());
        eventually().until(() -> condition("Progressing").isPresent());
        assertThat(condition("Degraded").orElseThrow().getReason())
                .as("a missing Prometheus Operator is no failure").isEqualTo("AsExpected");
        assertThat(client.apiextensions().v1().customResourceDefinitions()
                .withName("servicemonitors.monitoring.coreos.com").get()).isNull();

        installCrd(client, serviceMonitorCrd());
        // The operator learns of the CRD on a later reconcile (JOSDK looks again at most every 10s);
        // model name edits make reconciles happen meanwhile, as any change in a live cluster would.
        int[] edits = {0};
        ServiceMonitor monitor = eventually().pollInterval(Duration.ofSeconds(2)).until(() -> {
            editSpec(l -> {
                l.getSpec().model.name = "chat-" + ++edits[0];
                return l;
            });
            return serviceMonitor();
        }, m -> m != null);

        assertThat(monitor.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(ref -> assertThat(ref.getUid()).isEqualTo(created.getMetadata().getUid()));
        assertThat(monitor.getSpec().selector.getMatchLabels())
                .isEqualTo(deploymentResource().get().getSpec().getSelector().getMatchLabels());
        assertThat(monitor.getSpec().endpoints).singleElement().satisfies(e -> {
            assertThat(e.port).isEqualTo("http");
            assertThat(e.path).isEqualTo("/metrics");
        });
    }
}
