package dev.gantry.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * manifests/install.yaml, for `kubectl apply -f`: the namespace, the CRD and the chart rendered
 * with default values as release "gantry" in "gantry-system". Fails when the chart or the CRD
 * changed and the file was not regenerated (helm/refresh-manifests.sh).
 */
class InstallManifestTest {
    static final Path INSTALL = ChartRendering.REPO.resolve("manifests/install.yaml");

    static final String HEADER = """
            # Gantry: the LLMDeployment CRD and the operator, for kubectl apply.
            #
            #   kubectl apply -f manifests/install.yaml
            #
            # Generated from the Helm chart helm/gantry with its default values (release "gantry",
            # namespace "gantry-system") by helm/refresh-manifests.sh; do not edit: InstallManifestTest
            # fails when it differs from the chart. To change settings, install the chart instead.
            """;

    /** The whole file, as the chart and crds/ make it now. */
    static String expected() throws IOException {
        StringBuilder out = new StringBuilder(HEADER);
        out.append("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ").append(ChartRendering.NAMESPACE)
                .append("\n  labels:\n    app.kubernetes.io/part-of: gantry\n")
                // The operator's pod meets the restricted standard; hold the namespace to it.
                .append("    pod-security.kubernetes.io/enforce: restricted\n");
        for (String crd : ChartCrdsTest.names(ChartCrdsTest.CHART_CRDS)) {
            String text = Files.readString(ChartCrdsTest.CHART_CRDS.resolve(crd));
            out.append(text.startsWith("---") ? "" : "---\n").append(text.endsWith("\n") ? text : text + "\n");
        }
        String rendered = ChartRendering.render(ChartRendering.DEFAULTS);
        out.append(rendered.startsWith("---") ? "" : "---\n").append(rendered.endsWith("\n") ? rendered : rendered + "\n");
        return out.toString();
    }

    @BeforeAll
    static void updateWhenAsked() throws IOException {
        if (Boolean.getBoolean("gantry.manifests.update")) {
            Files.writeString(INSTALL, expected());
        }
    }

    @Test
    void installManifestIsTheChartWithDefaultValues() throws IOException {
        String expected = expected();
        assertThat(INSTALL).as("manifests/install.yaml (run helm/refresh-manifests.sh)").exists();
        assertThat(Files.readString(INSTALL)).as("manifests/install.yaml is stale: run helm/refresh-manifests.sh")
                .isEqualTo(expected);
    }

    @Test
    void installManifestHoldsEverythingKubectlNeeds() throws IOException {
        List<JsonNode> objects = ChartRendering.objects(Files.readString(INSTALL));
        assertThat(objects).extracting(o -> o.path("kind").asText()).containsExactly(
                "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                "Service", "Deployment");
        // Namespaced objects all land in the namespace the file creates.
        for (JsonNode o : objects) {
            String kind = o.path("kind").asText();
            if (!List.of("Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding").contains(kind)) {
                assertThat(o.path("metadata").path("namespace").asText()).as(kind).isEqualTo(ChartRendering.NAMESPACE);
            }
        }
    }
}
