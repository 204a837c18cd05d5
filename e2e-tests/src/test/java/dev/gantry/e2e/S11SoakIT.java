package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 11, the soak: open-loop load at twice what the autoscaled LLMDeployment's most workers
 * can serve, for {@code -Dgantry.e2e.soak.seconds} (60 in CI; the README's figures are from 300).
 * Beyond capacity the only answers are 429 or 503, with Retry-After; nothing hangs; at the end no
 * request is left running or waiting and no KV block is in use, and the workers' memory has not
 * grown.
 */
@Order(11)
@ExtendWith(E2eExtension.class)
class S11SoakIT {
    static Cluster cluster;

    @Test
    void twiceTheCapacityOfTheMostWorkersGetsOnly429sBeyondItAndLeavesNothingBehind() {
        Duration length = Duration.ofSeconds(Long.getLong("gantry.e2e.soak.seconds", 60));
        Llmd llmd = Llmd.of(cluster, S9AutoscalingIT.NAME);
        if (!cluster.kubectlResult(null, "get", "llmd", S9AutoscalingIT.NAME, "-n", Llmd.NAMESPACE).ok()) {
            Manifests.apply(cluster, Llmd.NAMESPACE, List.of(S9AutoscalingIT.autoscaled())).orThrow();
        }
        llmd.awaitReady(Duration.ofMinutes(5));
        String ingress = "http://" + cluster.ingress;
        JsonNode one = Bench.serve("soak-capacity", ingress, S9AutoscalingIT.HOST, null, S9AutoscalingIT.MAX_NUM_SEQS,
                Duration.ofSeconds(20));
        int maxReplicas = 2;
        double rate = 2 * maxReplicas * one.path("request_throughput").asDouble();
        MetricsApis apis = new MetricsApis(cluster);

        List<Http.Reply> probes = new ArrayList<>();
        Map<Long, Double> memory = new TreeMap<>();
        List<OpenLoad.Sample> samples;
        int leftInFlight;
        try (OpenLoad load = new OpenLoad(ingress, S9AutoscalingIT.HOST, null, 11, 20_000, length.plusMinutes(1))) {
            load.rate(rate);
            // The soak proper starts with the most workers up (the HPA adds the second at once),
            // so that their memory is compared with itself.
            llmd.await("the most workers", Duration.ofMinutes(3),
                    st -> st.path("status").path("readyReplicas").asInt() == maxReplicas);
            long start = System.nanoTime();
            while (System.nanoTime() - start < length.toNanos()) {
                Llmd.sleep(Duration.ofSeconds(5));
                // A plain client beside the load, to see the headers of what it gets.
                probes.add(Http.post(ingress, S9AutoscalingIT.HOST, "/v1/completions",
                        "{\"prompt\": \"Soak\", \"max_tokens\": 4}", null));
                long elapsed = Duration.ofNanos(System.nanoTime() - start).toSeconds();
                memory.put(elapsed, workingSetMiB(apis));
            }
            load.rate(0);
            load.close();
            samples = load.samples();
            leftInFlight = load.inFlight();
        }

        List<OpenLoad.Sample> other = samples.stream().filter(s -> !s.ok() && s.status() != 429 && s.status() != 503)
                .toList();
        long refused = samples.stream().filter(s -> s.status() == 429 || s.status() == 503).count();
        List<Http.Reply> refusedProbes = probes.stream().filter(p -> p.status() == 429 || p.status() == 503).toList();
        // Idle once the load has ended: what every worker's own /metrics says.
        Llmd.sleep(Duration.ofSeconds(3));
        Map<String, Double> running = new LinkedHashMap<>();
        Map<String, Double> waiting = new LinkedHashMap<>();
        Map<String, Double> kv = new LinkedHashMap<>();
        for (String ip : llmd.readyPodIps()) {
            String text = Http.get("http://" + ip + ":8000", null, "/metrics", null).body();
            running.put(ip, Http.counter(text, "vllm:num_requests_running"));
            waiting.put(ip, Http.counter(text, "vllm:num_requests_waiting"));
            kv.put(ip, Http.counter(text, "vllm:kv_cache_usage_perc"));
        }
        List<Double> mem = new ArrayList<>(memory.values());
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("seconds", length.toSeconds());
        figures.put("rate_rps", rate);
        figures.put("requests", samples.size());
        figures.put("completed", samples.stream().filter(OpenLoad.Sample::ok).count());
        figures.put("refused_429_503", refused);
        figures.put("other_failures", other.size());
        figures.put("left_in_flight", leftInFlight);
        figures.put("working_set_mib_by_second", memory);
        figures.put("running_at_end", running);
        figures.put("waiting_at_end", waiting);
        figures.put("kv_usage_at_end", kv);
        Figures.record("soak", figures);
        System.out.println("e2e: soak " + figures);
        other.stream().limit(10).forEach(s -> System.out.println("e2e:   failed: " + s));

        assertThat(other).as("failures other than 429/503").isEmpty();
        assertThat(leftInFlight).as("requests that never ended").isZero();
        assertThat(refusedProbes).as("429/503 answers carry Retry-After")
                .allSatisfy(p -> assertThat(p.retryAfter()).isNotBlank());
        assertThat(refused).as("beyond capacity, some requests are refused").isPositive();
        assertThat(running.values()).as("requests still running at the end").allMatch(v -> v == 0);
        assertThat(waiting.values()).as("requests still waiting at the end").allMatch(v -> v == 0);
        assertThat(kv.values()).as("KV-cache blocks in use at the end").allMatch(v -> v == 0);
        // Flat: the last reading within 15 % (+ 32 MiB) of the first one taken under load.
        assertThat(mem.getLast()).as("worker working set (MiB) at the end against the start of the soak, " + memory)
                .isLessThanOrEqualTo(mem.getFirst() * 1.15 + 32);
    }

    /** The workers' working set, summed, in MiB (metrics-server). */
    private static double workingSetMiB(MetricsApis apis) {
        return apis.podsMemoryBytes(Llmd.NAMESPACE, S9AutoscalingIT.NAME).values().stream()
                .mapToDouble(b -> b / 1048576).sum();
    }
}
