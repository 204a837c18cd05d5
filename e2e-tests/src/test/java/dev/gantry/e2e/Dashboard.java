package dev.gantry.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The chart's Grafana dashboard (helm/gantry/files/grafana-dashboard.json), its queries run as Grafana runs them. */
final class Dashboard {
    private Dashboard() {
    }

    /** What became of the queries: those with data (series each) and those without. */
    record Answers(Map<String, Integer> withData, List<String> empty) {
    }

    /**
     * Every query of every panel but the GPU one (no GPU here, so no DCGM exporter), with the
     * variables set as a user picks them: this namespace, this LLMDeployment. A query counts as
     * answered when some series has a number (a quantile over no requests is NaN).
     */
    static Answers run(MetricsApis apis, String namespace, String instance) {
        JsonNode dashboard;
        try {
            dashboard = Manifests.JSON.readTree(Files.readString(Cluster.REPO.resolve("helm/gantry/files/grafana-dashboard.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Integer> answered = new LinkedHashMap<>();
        List<String> empty = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            String title = panel.path("title").asText();
            if (title.startsWith("GPU")) {
                continue;
            }
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText();
                if (expr.isEmpty()) {
                    continue;
                }
                String promql = expr.replace("$namespace", namespace).replace("$deployment", instance)
                        // Grafana's $__rate_interval: at least four scrape intervals.
                        .replace("$__rate_interval", "2m");
                // A panel may need a scrape or two more than the load that just ended gave.
                JsonNode result = awaitNumber(apis, promql, Duration.ofSeconds(30));
                if (result == null) {
                    empty.add(title + ": " + promql);
                } else {
                    answered.put(title + " [" + target.path("refId").asText() + "]", result.size());
                }
            }
        }
        return new Answers(answered, empty);
    }

    private static JsonNode awaitNumber(MetricsApis apis, String promql, Duration limit) {
        Instant deadline = Instant.now().plus(limit);
        while (true) {
            JsonNode result = apis.query(promql);
            for (JsonNode series : result) {
                String v = series.path("value").path(1).asText();
                if (!v.isEmpty() && !v.equals("NaN")) {
                    return result;
                }
            }
            if (Instant.now().isAfter(deadline)) {
                return null;
            }
            Llmd.sleep(Duration.ofSeconds(2));
        }
    }
}
