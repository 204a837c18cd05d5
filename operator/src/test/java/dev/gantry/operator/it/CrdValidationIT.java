package dev.gantry.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.gantry.operator.api.EngineSpec;
import dev.gantry.operator.api.LLMDeployment;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The committed CRD (crds/) in a real API server: it installs, serves LLMDeployments, and its
 * OpenAPI schema and CEL rules reject what the operator could not reconcile, with their messages.
 * Only admission decides here, so no controllers and no operator run.
 */
class CrdValidationIT {
    private static final String NS = "validation";
    private static ControlPlane plane;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        plane = ControlPlane.apiServerOnly(CrdValidationIT.class.getSimpleName());
        client = plane.client();
        OperatorClusterTest.installCrd(client, OperatorClusterTest.repoRoot().resolve("crds/llmdeployments.gantry.dev-v1.yml"));
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
    }

    @AfterAll
    static void stop() {
        if (plane != null) {
            plane.close();
        }
    }

    /** An LLMDeployment manifest with the given lines under spec (indented by two). */
    private static String manifest(String name, String specLines) {
        return """
                apiVersion: gantry.dev/v1alpha1
                kind: LLMDeployment
                metadata:
                  name: %s
                  namespace: %s
                spec:
                %s
                """.formatted(name, NS, specLines.indent(2));
    }

    private static KubernetesClientException rejected(String name, String specLines) {
        KubernetesClientException e = catchThrowableOfType(KubernetesClientException.class,
                () -> client.resource(manifest(name, specLines)).create());
        assertThat(e).as("the API server must refuse " + name).isNotNull();
        assertThat(e.getCode()).isEqualTo(422);
        return e;
    }

    @Test
    void crdIsEstablishedWithScaleAndStatusSubresources() {
        CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
                .withName("llmdeployments.gantry.dev").get();
        assertThat(crd.getSpec().getNames().getShortNames()).containsExactly("llmd");
        var version = crd.getSpec().getVersions().getFirst();
        assertThat(version.getName()).isEqualTo(LLMDeployment.VERSION);
        assertThat(version.getSubresources().getScale().getSpecReplicasPath()).isEqualTo(".spec.replicas");
        assertThat(version.getSubresources().getStatus()).isNotNull();
    }

    @Test
    void acceptsAValidLLMDeploymentAndKeepsItsFields() {
        client.resource(manifest("valid", """
                model:
                  uri: pvc://models/llama/model.gguf
                  maxModelLen: 4096
                engine:
                  maxNumSeqs: 8
                  activations: q8
                autoscaling:
                  minReplicas: 2
                  maxReplicas: 4
                """)).create();
        LLMDeployment read = client.resources(LLMDeployment.class).inNamespace(NS).withName("valid").get();
        assertThat(read.getSpec().model.maxModelLen).isEqualTo(4096);
        assertThat(read.getSpec().engine.activations).isEqualTo(EngineSpec.Activations.q8);
        assertThat(read.getSpec().autoscaling.maxReplicas).isEqualTo(4);
        assertThat(read.getMetadata().getGeneration()).isEqualTo(1L);
    }

    @Test
    void replicasAndAutoscalingTogetherAreRejectedByTheCelRule() {
        KubernetesClientException e = rejected("both", """
                model: {uri: /models/m.gguf}
                replicas: 2
                autoscaling: {maxReplicas: 3}
                """);
        assertThat(e.getMessage()).contains("set either replicas or autoscaling, not both");
    }

    @Test
    void minReplicasAboveMaxReplicasIsRejectedByTheCelRule() {
        KubernetesClientException e = rejected("minmax", """
                model: {uri: /models/m.gguf}
                autoscaling: {minReplicas: 5, maxReplicas: 2}
                """);
        assertThat(e.getMessage()).contains("spec.autoscaling").contains("minReplicas must not be greater than maxReplicas");
    }

    @Test
    void utilizationTargetsNeedARequestToBeAPercentageOf() {
        KubernetesClientException cpu = rejected("cpu-target", """
                model: {uri: /models/m.gguf}
                resources: {requests: {memory: 1Gi}}
                autoscaling: {maxReplicas: 3, targetCpuUtilization: 70}
                """);
        assertThat(cpu.getMessage()).contains("targetCpuUtilization is a percentage of the CPU request");
        KubernetesClientException memory = rejected("memory-target", """
                model: {uri: /models/m.gguf}
                autoscaling: {maxReplicas: 3, targetMemoryUtilization: 80}
                """);
        assertThat(memory.getMessage()).contains("targetMemoryUtilization is a percentage of the memory request");
        // A limit alone will do: Kubernetes makes it the request.
        client.resource(manifest("cpu-limit", """
                model: {uri: /models/m.gguf}
                resources: {limits: {cpu: "2", memory: 2Gi}}
                autoscaling: {maxReplicas: 3, targetCpuUtilization: 70, targetMemoryUtilization: 80,
                              targetRequestsPerSecond: 0.5}
                """)).create();
        assertThat(client.resources(LLMDeployment.class).inNamespace(NS).withName("cpu-limit").get()
                .getSpec().autoscaling.targetRequestsPerSecond).isEqualTo(0.5);
        rejected("zero-rps", """
                model: {uri: /models/m.gguf}
                autoscaling: {maxReplicas: 3, targetRequestsPerSecond: 0}
                """);
    }

    @Test
    void aModelCacheIsForHubModelsOnly() {
        KubernetesClientException e = rejected("pvc-cache", """
                model: {uri: pvc://weights/m.gguf, cache: {claimName: shared}}
                replicas: 1
                """);
        assertThat(e.getMessage()).contains("cache holds hf:// downloads");
        client.resource(manifest("hub-cache", """
                model: {uri: hf://o/r/m.gguf, cache: {claimName: shared}}
                """)).create();
        assertThat(client.resources(LLMDeployment.class).inNamespace(NS).withName("hub-cache").get()
                .getSpec().model.cache.claimName).isEqualTo("shared");
    }

    @Test
    void negativeMaxNumSeqsIsRejectedByTheSchema() {
        KubernetesClientException e = rejected("negative", """
                model: {uri: /models/m.gguf}
                engine: {maxNumSeqs: -1}
                """);
        assertThat(e.getMessage()).contains("spec.engine.maxNumSeqs").contains("should be greater than or equal to 1");
    }

    @Test
    void unknownActivationsValueIsRejectedByTheEnum() {
        KubernetesClientException e = rejected("enum", """
                model: {uri: /models/m.gguf}
                engine: {activations: f16}
                """);
        assertThat(e.getMessage()).contains("spec.engine.activations").contains("Unsupported value: \"f16\"")
                .contains("\"f32\"", "\"q8\"");
    }

    @Test
    void modelUriOfAnUnknownSchemeIsRejectedByThePattern() {
        KubernetesClientException e = rejected("scheme", """
                model: {uri: "s3://bucket/model.gguf"}
                """);
        assertThat(e.getMessage()).contains("spec.model.uri").contains("should match");
    }

    @Test
    void anIngressAndExtraEnvironmentAreKept() {
        client.resource(manifest("exposed", """
                model: {uri: "hf://acme/m-GGUF/m.gguf"}
                ingress:
                  host: chat.example.com
                  className: nginx
                  annotations: {nginx.ingress.kubernetes.io/proxy-body-size: 8m}
                  tls: {secretName: chat-tls}
                env:
                - {name: HF_ENDPOINT, value: "http://hub.e2e.svc"}
                - name: HF_TOKEN
                  valueFrom: {secretKeyRef: {name: hub, key: token}}
                """)).create();
        LLMDeployment read = client.resources(LLMDeployment.class).inNamespace(NS).withName("exposed").get();
        assertThat(read.getSpec().ingress.host).isEqualTo("chat.example.com");
        assertThat(read.getSpec().ingress.path).as("the schema's default").isEqualTo("/");
        assertThat(read.getSpec().ingress.tls.secretName).isEqualTo("chat-tls");
        assertThat(read.getSpec().env).extracting(e -> e.getName()).containsExactly("HF_ENDPOINT", "HF_TOKEN");
        assertThat(read.getSpec().env.get(1).getValueFrom().getSecretKeyRef().getName()).isEqualTo("hub");
    }

    @Test
    void tlsWithoutAHostIsRejectedByTheCelRule() {
        KubernetesClientException e = rejected("tlsnohost", """
                model: {uri: /models/m.gguf}
                ingress: {tls: {secretName: chat-tls}}
                """);
        assertThat(e.getMessage()).contains("spec.ingress").contains("tls needs a host");
    }

    @Test
    void anIngressHostThatIsNoHostNameIsRejectedByThePattern() {
        KubernetesClientException e = rejected("badhost", """
                model: {uri: /models/m.gguf}
                ingress: {host: "https://chat.example.com"}
                """);
        assertThat(e.getMessage()).contains("spec.ingress.host").contains("should match");
    }

    @Test
    void settingAReservedVariableIsRejectedByTheCelRule() {
        KubernetesClientException e = rejected("reserved", """
                model: {uri: /models/m.gguf}
                env: [{name: HF_TOKEN, value: t}, {name: QUARKUS_HTTP_PORT, value: "9000"}]
                """);
        assertThat(e.getMessage()).contains("spec.env").contains("set by the operator from spec.model and spec.serving.port");
    }

    @Test
    void missingModelIsRejected() {
        KubernetesClientException e = rejected("nomodel", """
                replicas: 1
                """);
        assertThat(e.getMessage()).contains("spec.model: Required value");
    }
}
