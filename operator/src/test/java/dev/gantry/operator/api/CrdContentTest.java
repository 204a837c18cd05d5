package dev.gantry.operator.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What the generated CRD must contain for the API server to enforce and display what the classes say. */
class CrdContentTest {
    private static CustomResourceDefinition crd;
    private static CustomResourceDefinitionVersion version;
    private static JSONSchemaProps spec;

    @BeforeAll
    static void generate() {
        crd = GeneratedCrd.parsed();
        version = crd.getSpec().getVersions().getFirst();
        spec = version.getSchema().getOpenAPIV3Schema().getProperties().get("spec");
    }

    @Test
    void namesAndScope() {
        assertThat(crd.getMetadata().getName()).isEqualTo("llmdeployments.gantry.dev");
        assertThat(crd.getSpec().getScope()).isEqualTo("Namespaced");
        assertThat(crd.getSpec().getNames().getKind()).isEqualTo("LLMDeployment");
        assertThat(crd.getSpec().getNames().getShortNames()).containsExactly("llmd");
        assertThat(version.getName()).isEqualTo("v1alpha1");
        assertThat(version.getServed()).isTrue();
        assertThat(version.getStorage()).isTrue();
    }

    @Test
    void statusAndScaleSubresources() {
        assertThat(version.getSubresources().getStatus()).isNotNull();
        var scale = version.getSubresources().getScale();
        assertThat(scale.getSpecReplicasPath()).isEqualTo(".spec.replicas");
        assertThat(scale.getStatusReplicasPath()).isEqualTo(".status.replicas");
        assertThat(scale.getLabelSelectorPath()).isEqualTo(".status.selector");
    }

    @Test
    void printerColumns() {
        assertThat(version.getAdditionalPrinterColumns())
                .extracting(CustomResourceColumnDefinition::getName, CustomResourceColumnDefinition::getJsonPath)
                .contains(
                        org.assertj.core.groups.Tuple.tuple("Model", ".spec.model.uri"),
                        org.assertj.core.groups.Tuple.tuple("Replicas", ".status.replicas"),
                        org.assertj.core.groups.Tuple.tuple("Ready", ".status.readyReplicas"),
                        org.assertj.core.groups.Tuple.tuple("URL", ".status.url"),
                        org.assertj.core.groups.Tuple.tuple("Age", ".metadata.creationTimestamp"));
    }

    @Test
    void celRules() {
        assertThat(spec.getXKubernetesValidations()).extracting(ValidationRule::getRule)
                .hasSize(3).first().isEqualTo("!(has(self.replicas) && has(self.autoscaling))");
        // A Utilization target needs a request to be a percentage of.
        assertThat(spec.getXKubernetesValidations().subList(1, 3)).extracting(ValidationRule::getMessage)
                .allSatisfy(m -> assertThat(m).contains("percentage of the"));
        assertThat(spec.getProperties().get("autoscaling").getXKubernetesValidations()).extracting(ValidationRule::getRule)
                .containsExactly("!has(self.minReplicas) || self.minReplicas <= self.maxReplicas");
        assertThat(spec.getProperties().get("ingress").getXKubernetesValidations()).extracting(ValidationRule::getRule)
                .containsExactly("!has(self.tls) || has(self.host)");
        JSONSchemaProps env = spec.getProperties().get("env");
        assertThat(env.getXKubernetesValidations()).extracting(ValidationRule::getRule).singleElement()
                .satisfies(rule -> assertThat(rule).contains(LLMDeploymentSpec.RESERVED_ENV));
        // The API server refuses a CEL rule over a list whose estimated cost has no bound.
        assertThat(env.getMaxItems()).isEqualTo((long) LLMDeploymentSpec.MAX_ENV);
    }

    @Test
    void ingressFields() {
        JSONSchemaProps ingress = spec.getProperties().get("ingress");
        assertThat(ingress.getProperties()).containsOnlyKeys("host", "path", "className", "annotations", "tls");
        assertThat(ingress.getProperties().get("path").getDefault().asText()).isEqualTo("/");
        assertThat(ingress.getProperties().get("tls").getRequired()).containsExactly("secretName");
        assertThat(spec.getProperties().get("engine").getProperties()).as("env moved to spec.env").doesNotContainKey("env");
    }

    @Test
    void requiredFieldsBoundsPatternsAndEnums() {
        assertThat(spec.getRequired()).containsExactly("model");
        JSONSchemaProps model = spec.getProperties().get("model");
        assertThat(model.getRequired()).containsExactly("uri");
        assertThat(model.getProperties().get("uri").getPattern()).isEqualTo(ModelSpec.URI_PATTERN);
        JSONSchemaProps engine = spec.getProperties().get("engine");
        JSONSchemaProps utilization = engine.getProperties().get("gpuMemoryUtilization");
        assertThat(utilization.getMinimum()).isEqualTo(0.0);
        assertThat(utilization.getExclusiveMinimum()).isTrue();
        assertThat(utilization.getMaximum()).isEqualTo(1.0);
        assertThat(engine.getProperties().get("activations").getEnum()).extracting(n -> n.asText())
                .containsExactly("auto", "f32", "q8");
        assertThat(engine.getProperties().get("kvCacheDtype").getEnum()).extracting(n -> n.asText())
                .containsExactly("auto", "f16", "f32", "q8_0");
        assertThat(spec.getProperties().get("autoscaling").getRequired()).containsExactly("maxReplicas");
        assertThat(spec.getProperties().get("serving").getProperties().get("port").getMaximum()).isEqualTo(65535.0);
        assertThat(spec.getProperties().get("replicas").getMinimum()).isEqualTo(0.0);
    }

    @Test
    void everyGantryFieldIsDescribed() {
        // Kubernetes types reused from fabric8 (affinity, tolerations, env, HPA behavior, conditions)
        // carry no descriptions; everything Gantry defines must.
        Set<String> foreign = Set.of("affinity", "tolerations", "env", "behavior", "conditions");
        List<String> undescribed = new ArrayList<>();
        collectUndescribed("spec", spec, foreign, undescribed);
        collectUndescribed("status", version.getSchema().getOpenAPIV3Schema().getProperties().get("status"), foreign, undescribed);
        assertThat(undescribed).isEmpty();
    }

    private static void collectUndescribed(String path, JSONSchemaProps schema, Set<String> foreign, List<String> out) {
        Map<String, JSONSchemaProps> properties = schema.getProperties();
        if (properties == null) {
            return;
        }
        properties.forEach((name, child) -> {
            if (child.getDescription() == null || child.getDescription().isBlank()) {
                out.add(path + "." + name);
            }
            if (!foreign.contains(name)) {
                collectUndescribed(path + "." + name, child, foreign, out);
            }
        });
    }
}
