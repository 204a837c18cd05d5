package dev.gantry.helm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The chart's crds/ is the repository's crds/ (generated from the operator's API classes), byte
 * for byte. After operator/refresh-crds.sh, helm/refresh-manifests.sh copies it over.
 */
class ChartCrdsTest {
    static final Path REPO_CRDS = ChartRendering.REPO.resolve("crds");
    static final Path CHART_CRDS = ChartRendering.CHART.resolve("crds");

    @Test
    void chartCrdsAreTheRepositorysCrds() throws IOException {
        if (Boolean.getBoolean("gantry.manifests.update")) {
            copy();
        }
        List<String> repo = names(REPO_CRDS);
        assertThat(repo).isNotEmpty();
        assertThat(names(CHART_CRDS)).as("helm/gantry/crds/ (run helm/refresh-manifests.sh)").isEqualTo(repo);
        for (String name : repo) {
            assertThat(Files.readString(CHART_CRDS.resolve(name)))
                    .as("helm/gantry/crds/" + name + " differs from crds/" + name + ": run helm/refresh-manifests.sh")
                    .isEqualTo(Files.readString(REPO_CRDS.resolve(name)));
        }
    }

    private static void copy() throws IOException {
        Files.createDirectories(CHART_CRDS);
        for (String stale : names(CHART_CRDS)) {
            Files.delete(CHART_CRDS.resolve(stale));
        }
        for (String name : names(REPO_CRDS)) {
            Files.copy(REPO_CRDS.resolve(name), CHART_CRDS.resolve(name));
        }
    }

    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yml") || n.endsWith(".yaml")).sorted().toList();
        }
    }
}
