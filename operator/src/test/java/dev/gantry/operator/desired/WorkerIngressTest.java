package dev.gantry.operator.desired;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.api.IngressSpec;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.ServingSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPath;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRule;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerIngressTest {

    private static LLMDeployment withIngress(IngressSpec ingress) {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().ingress = ingress;
        return llmd;
    }

    private static IngressSpec ingress(String host) {
        IngressSpec ingress = new IngressSpec();
        ingress.host = host;
        return ingress;
    }

    private static IngressRule rule(Ingress ingress) {
        assertThat(ingress.getSpec().getRules()).hasSize(1);
        return ingress.getSpec().getRules().getFirst();
    }

    private static HTTPIngressPath path(Ingress ingress) {
        assertThat(rule(ingress).getHttp().getPaths()).hasSize(1);
        return rule(ingress).getHttp().getPaths().getFirst();
    }

    @Test
    void onlyWhenTheSpecAsks() {
        assertThat(WorkerIngress.wanted(Fixtures.llmd())).isFalse();
        assertThat(WorkerIngress.wanted(withIngress(new IngressSpec()))).isTrue();
        assertThatThrownBy(() -> WorkerIngress.of(Fixtures.llmd())).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void routesTheHostsPrefixToTheWorkersServiceAndPort() {
        LLMDeployment llmd = withIngress(ingress("chat.example.com"));
        Ingress ingress = WorkerIngress.of(llmd);
        assertThat(ingress.getMetadata().getName()).isEqualTo("chat");
        assertThat(ingress.getMetadata().getNamespace()).isEqualTo("llm");
        assertThat(ingress.getMetadata().getLabels()).isEqualTo(WorkerLabels.of(llmd));
        assertThat(rule(ingress).getHost()).isEqualTo("chat.example.com");
        HTTPIngressPath path = path(ingress);
        assertThat(path.getPath()).isEqualTo("/");
        assertThat(path.getPathType()).isEqualTo("Prefix");
        Service service = WorkerService.of(llmd);
        assertThat(path.getBackend().getService().getName()).isEqualTo(service.getMetadata().getName());
        assertThat(path.getBackend().getService().getPort().getNumber())
                .isEqualTo(service.getSpec().getPorts().getFirst().getPort());
        assertThat(ingress.getSpec().getTls()).as("no certificate: plain HTTP").isNullOrEmpty();
        assertThat(ingress.getSpec().getIngressClassName()).isNull();
    }

    @Test
    void theServingPortIsTheBackendPort() {
        LLMDeployment llmd = withIngress(ingress("chat.example.com"));
        llmd.getSpec().serving = new ServingSpec();
        llmd.getSpec().serving.port = 9000;
        assertThat(path(WorkerIngress.of(llmd)).getBackend().getService().getPort().getNumber()).isEqualTo(9000);
    }

    @Test
    void classPathAndAnnotationsAsGiven() {
        IngressSpec spec = ingress("chat.example.com");
        spec.className = "nginx";
        spec.path = "/chat";
        spec.annotations = Map.of("nginx.ingress.kubernetes.io/proxy-read-timeout", "600");
        Ingress ingress = WorkerIngress.of(withIngress(spec));
        assertThat(ingress.getSpec().getIngressClassName()).isEqualTo("nginx");
        assertThat(path(ingress).getPath()).isEqualTo("/chat");
        assertThat(ingress.getMetadata().getAnnotations())
                .containsExactlyEntriesOf(Map.of("nginx.ingress.kubernetes.io/proxy-read-timeout", "600"));
    }

    @Test
    void tlsForTheHostWithTheNamedSecret() {
        IngressSpec spec = ingress("chat.example.com");
        spec.tls = new IngressSpec.Tls("chat-tls");
        Ingress ingress = WorkerIngress.of(withIngress(spec));
        assertThat(ingress.getSpec().getTls()).singleElement().satisfies(tls -> {
            assertThat(tls.getHosts()).containsExactly("chat.example.com");
            assertThat(tls.getSecretName()).isEqualTo("chat-tls");
        });
    }

    @Test
    void withoutAHostTheRuleTakesAnyHost() {
        Ingress ingress = WorkerIngress.of(withIngress(new IngressSpec()));
        assertThat(rule(ingress).getHost()).isNull();
        assertThat(path(ingress).getPath()).isEqualTo("/");
        // Absent, not empty: what the API server stores, so the applied object matches the observed one.
        String json = Serialization.asJson(ingress);
        assertThat(json).doesNotContain("\"host\"").doesNotContain("\"tls\"").doesNotContain("ingressClassName");
        // No annotations asked for: still a map that takes JOSDK's own on create (a null one made
        // creating the Ingress throw on a real cluster).
        assertThat(ingress.getMetadata().getAnnotations()).isEmpty();
        ingress.getMetadata().getAnnotations().put("javaoperatorsdk.io/previous", "1");
    }

    @Test
    void urlThroughTheIngressWhenItNamesAHost() {
        assertThat(WorkerIngress.url(Fixtures.llmd())).isEmpty();
        assertThat(WorkerIngress.url(withIngress(new IngressSpec()))).as("any host: no one URL").isEmpty();
        assertThat(WorkerIngress.url(withIngress(ingress("chat.example.com")))).hasValue("http://chat.example.com/");
        IngressSpec spec = ingress("chat.example.com");
        spec.path = "/llm";
        spec.tls = new IngressSpec.Tls("chat-tls");
        assertThat(WorkerIngress.url(withIngress(spec))).hasValue("https://chat.example.com/llm");
    }
}
