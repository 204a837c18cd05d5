package dev.gantry.operator.desired;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.ServingSpec;
import dev.gantry.operator.monitoring.ServiceMonitor;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.junit.jupiter.api.Test;

class WorkerServiceTest {

    @Test
    void clusterIpServiceOnTheNamedPort() {
        LLMDeployment llmd = Fixtures.llmd();
        Service service = WorkerService.of(llmd);
        assertThat(service.getSpec().getType()).isEqualTo("ClusterIP");
        assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http");
            assertThat(p.getPort()).isEqualTo(8000);
            assertThat(p.getTargetPort().getStrVal()).isEqualTo("http");
        });
        Deployment workers = WorkerDeployment.of(llmd, Fixtures.config());
        assertThat(workers.getSpec().getTemplate().getMetadata().getLabels())
                .as("the Service selects the worker pods")
                .containsAllEntriesOf(service.getSpec().getSelector());
    }

    @Test
    void urlNamesServiceNamespaceAndPort() {
        LLMDeployment llmd = Fixtures.llmd();
        assertThat(WorkerService.url(llmd)).isEqualTo("http://chat.llm.svc:8000");
        llmd.getSpec().serving = new ServingSpec();
        llmd.getSpec().serving.port = 8080;
        assertThat(WorkerService.url(llmd)).isEqualTo("http://chat.llm.svc:8080");
        assertThat(WorkerService.of(llmd).getSpec().getPorts().getFirst().getPort()).isEqualTo(8080);
    }

    @Test
    void serviceMonitorScrapesTheServicesMetrics() {
        LLMDeployment llmd = Fixtures.llmd();
        ServiceMonitor monitor = WorkerServiceMonitor.of(llmd);
        assertThat(monitor.getApiVersion()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(monitor.getKind()).isEqualTo("ServiceMonitor");
        assertThat(monitor.getMetadata().getNamespace()).isEqualTo("llm");
        assertThat(WorkerService.of(llmd).getMetadata().getLabels())
                .as("the ServiceMonitor selects the Service")
                .containsAllEntriesOf(monitor.getSpec().selector.getMatchLabels());
        assertThat(monitor.getSpec().endpoints).singleElement().satisfies(e -> {
            assertThat(e.port).isEqualTo("http");
            assertThat(e.path).isEqualTo("/metrics");
        });
    }
}
