package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 8, the metrics path: while load runs on the SmolLM2 worker, its queue depth and request
 * rate are read through the custom metrics API (prometheus-adapter, with the chart's rules, over
 * the real Prometheus that scraped the worker by its annotations) and its CPU through the resource
 * metrics API (metrics-server). (That every panel query of the chart's Grafana dashboard returns
 * data is checked in scenario 9, on the autoscaled LLMDeployment: the replica panel needs an HPA.)
 */
@Order(8)
@ExtendWith(E2eExtension.class)
class S8MetricsFlowIT {
    static Cluster cluster;

    /** The key the SmolLM2 workers take now: scenario 6 rotates it, and this one may run alone. */
    static String currentKey() {
        String chat = S6ApiKeyRotationIT.CHAT;
        for (String key : List.of(S6ApiKeyRotationIT.NEW_KEY, S2ApplySmolLm2IT.FIRST_KEY)) {
            if (Http.post("http://" + cluster.ingress, S2ApplySmolLm2IT.HOST, "/v1/chat/completions", chat, key).status() == 200) {
                return key;
            }
        }
        throw new AssertionError("neither API key of the SmolLM2 scenarios is accepted");
    }

    @Test
    @Order(1)
    void queueDepthRequestRateAndCpuAreReadableThroughTheMetricsApis() throws Exception {
        Llmd llmd = Llmd.of(cluster, S2ApplySmolLm2IT.NAME);
        llmd.awaitReady(Duration.ofMinutes(5));
        String key = currentKey();
        MetricsApis apis = new MetricsApis(cluster);

        // More clients than the worker's 16 sequences: some must wait.
        CompletableFuture<JsonNode> load = CompletableFuture.supplyAsync(() -> Bench.serve("metrics-flow",
                "http://" + cluster.ingress, S2ApplySmolLm2IT.HOST, key, 24, Duration.ofSeconds(45)));
        double maxWaiting = 0;
        double maxRate = 0;
        double maxCpu = 0;
        List<String> seen = new ArrayList<>();
        while (!load.isDone()) {
            Map<String, Double> waiting = apis.podsMetric(Llmd.NAMESPACE, S2ApplySmolLm2IT.NAME, "vllm:num_requests_waiting");
            Map<String, Double> rate = apis.podsMetric(Llmd.NAMESPACE, S2ApplySmolLm2IT.NAME, "gantry:requests_per_second");
            Map<String, Double> cpu = apis.podsCpu(Llmd.NAMESPACE, S2ApplySmolLm2IT.NAME);
            seen.add("waiting " + waiting + ", requests/s " + rate + ", cpu " + cpu);
            maxWaiting = Math.max(maxWaiting, waiting.values().stream().mapToDouble(d -> d).max().orElse(0));
            maxRate = Math.max(maxRate, rate.values().stream().mapToDouble(d -> d).max().orElse(0));
            maxCpu = Math.max(maxCpu, cpu.values().stream().mapToDouble(d -> d).max().orElse(0));
            Llmd.sleep(Duration.ofSeconds(2));
        }
        JsonNode bench = load.join();
        System.out.println("e2e: metrics APIs during the load:\n  " + String.join("\n  ", seen));
        Figures.record("metrics_flow", Map.of("max_waiting", maxWaiting, "max_requests_per_second", maxRate,
                "max_cpu_cores", maxCpu, "bench_completed", bench.path("completed").asInt()));

        assertThat(bench.path("failed").asInt()).as("failed requests").isZero();
        assertThat(maxWaiting).as("vllm:num_requests_waiting through custom.metrics.k8s.io").isGreaterThan(0);
        assertThat(maxRate).as("gantry:requests_per_second through custom.metrics.k8s.io").isGreaterThan(0.1);
        assertThat(maxCpu).as("the worker's CPU (cores) through metrics.k8s.io").isGreaterThan(0.2);
    }
}
