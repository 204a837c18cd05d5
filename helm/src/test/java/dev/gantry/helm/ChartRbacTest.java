package dev.gantry.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The chart grants the operator exactly what quarkus-operator-sdk derives from the operator's code
 * (its dependents' types and the reconciler's @RBACRule annotations) into the ClusterRole of
 * operator/target/kubernetes/kubernetes.yml at package time: no permission missing (the operator
 * would fail on a 403) and none extra (least privilege). Compared as (group, resource, verb)
 * triples, so grouping and order do not matter.
 */
class ChartRbacTest {
    static final Path GENERATED = ChartRendering.REPO.resolve("operator/target/kubernetes/kubernetes.yml");

    @Test
    void clusterRoleGrantsExactlyWhatTheOperatorUses() throws IOException {
        assertThat(GENERATED).as("generated when the operator is packaged: ./mvnw -pl operator -am package -DskipTests")
                .isRegularFile();
        List<JsonNode> generated = ChartRendering.objects(Files.readString(GENERATED));
        List<JsonNode> generatedRoles = ChartRendering.ofKind(generated, "ClusterRole");
        assertThat(generatedRoles).as("quarkus-operator-sdk's ClusterRoles").isNotEmpty();
        Set<String> wanted = new TreeSet<>();
        generatedRoles.forEach(role -> wanted.addAll(triples(role.path("rules"))));

        List<JsonNode> chart = ChartRendering.objects(ChartRendering.render(ChartRendering.DEFAULTS));
        List<JsonNode> chartRoles = ChartRendering.ofKind(chart, "ClusterRole");
        assertThat(chartRoles).hasSize(1);
        Set<String> granted = triples(chartRoles.getFirst().path("rules"));

        assertThat(granted).as("granted by the chart but not used by the operator").isSubsetOf(wanted);
        assertThat(wanted).as("used by the operator but not granted by the chart").isSubsetOf(granted);
    }

    @Test
    void theChartBindsItsClusterRoleToTheOperatorsServiceAccount() {
        List<JsonNode> chart = ChartRendering.objects(ChartRendering.render(ChartRendering.DEFAULTS));
        JsonNode binding = ChartRendering.ofKind(chart, "ClusterRoleBinding").getFirst();
        assertThat(binding.path("roleRef").path("name").asText())
                .isEqualTo(ChartRendering.ofKind(chart, "ClusterRole").getFirst().path("metadata").path("name").asText());
        JsonNode subject = binding.path("subjects").get(0);
        assertThat(subject.path("kind").asText()).isEqualTo("ServiceAccount");
        assertThat(subject.path("namespace").asText()).isEqualTo(ChartRendering.NAMESPACE);
        JsonNode pod = ChartRendering.find(chart, "Deployment", "gantry-operator").orElseThrow()
                .path("spec").path("template").path("spec");
        assertThat(pod.path("serviceAccountName").asText()).isEqualTo(subject.path("name").asText());
    }

    /**
     * What else the generated manifest binds, and why the chart leaves it out: Quarkus's
     * Kubernetes extension binds the application's ServiceAccount to the built-in "view"
     * ClusterRole in its own namespace by default (for applications that read their ConfigMaps);
     * the operator reads nothing there, and its ClusterRole covers what it reads anywhere. A new
     * kind of generated RBAC object fails this test, so that it is looked at.
     */
    @Test
    void theOnlyOtherGeneratedBindingIsQuarkussDefaultViewBinding() throws IOException {
        List<JsonNode> generated = ChartRendering.objects(Files.readString(GENERATED));
        List<JsonNode> roleBindings = ChartRendering.ofKind(generated, "RoleBinding");
        assertThat(roleBindings).extracting(b -> b.path("roleRef").path("name").asText()).containsOnly("view");
        assertThat(ChartRendering.ofKind(generated, "Role")).isEmpty();
        assertThat(ChartRendering.ofKind(generated, "ClusterRoleBinding")).hasSameSizeAs(ChartRendering.ofKind(generated, "ClusterRole"));
    }

    static Set<String> triples(JsonNode rules) {
        Set<String> triples = new TreeSet<>();
        for (JsonNode rule : rules) {
            assertThat(rule.has("resourceNames") || rule.has("nonResourceURLs")).as("rules by name or URL are not compared: " + rule).isFalse();
            for (JsonNode group : rule.path("apiGroups")) {
                for (JsonNode resource : rule.path("resources")) {
                    for (JsonNode verb : rule.path("verbs")) {
                        triples.add(group.asText() + "/" + resource.asText() + ":" + verb.asText());
                    }
                }
            }
        }
        return triples;
    }
}
