package dev.gantry.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code ./gantry bench serve}, run as a user runs it, its JSON report read back. */
final class Bench {
    private Bench() {
    }

    /**
     * A closed-loop run at one concurrency for a fixed time; returns the report's level. Each run
     * draws its prompts from a seed of its own (the bench's default), so that no run finds the
     * prompts of an earlier one in the worker's prefix cache.
     */
    static JsonNode serve(String label, String url, String host, String apiKey, int concurrency, Duration duration) {
        Path json = Cluster.OUT.resolve("bench-" + label + ".json");
        List<String> cmd = new ArrayList<>(List.of(Cluster.REPO.resolve("gantry").toString(), "bench", "serve",
                "--url", url, "--model", "smollm2-135m-instruct", "--concurrency", Integer.toString(concurrency),
                "--duration", duration.toSeconds() + "s", "--warmup", "2",
                "--input-len", "64", "--output-len", "32", "--timeout", "120s",
                "--label", label, "--json", json.toString()));
        if (host != null) {
            cmd.addAll(List.of("--header", "Host: " + host));
        }
        if (apiKey != null) {
            cmd.addAll(List.of("--api-key", apiKey));
        }
        try {
            Files.createDirectories(json.getParent());
            Files.deleteIfExists(json);
            Shell.Result r = Shell.run(duration.plusMinutes(5), Map.of(), null, cmd, System.out);
            if (!Files.exists(json)) {
                r.orThrow();
                throw new IllegalStateException("bench wrote no " + json);
            }
            JsonNode report = Manifests.JSON.readTree(json.toFile());
            return report.path("levels").path(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
