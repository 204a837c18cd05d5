package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 9, autoscaling on real metrics: an LLMDeployment of SmolLM2 workers (one CPU each)
 * autoscaled from 1 to 2 on queue depth. One worker's capacity is measured first; then open-loop
 * load through the ingress at 1.5 times that makes the HPA add a worker, and TTFT P95 comes back
 * down once it is Ready; then a low rate lets the HPA remove it after its (shortened)
 * stabilization window, the removed worker draining its requests. No request may fail but by a
 * 429 of a full queue. The test's own samples become docs/autoscaling-timeline.png (copied from
 * target/e2e/) and the figures of the README.
 */
@Order(9)
@ExtendWith(E2eExtension.class)
class S9AutoscalingIT {
    static Cluster cluster;
    static final String NAME = "autoscaled";
    static final String HOST = "autoscaled.gantry-e2e.local";
    /** Per worker: the engine's sequences; requests beyond wait, which is what the HPA reads. */
    static final int MAX_NUM_SEQS = 4;
    static final int TARGET_QUEUE_DEPTH = 2;
    /**
     * Long enough to outlast the high phase: two workers drain the queue the HPA scales on, so from
     * the second worker's start it already recommends one (the default is 300 s; shortened for the test).
     */
    static final int SCALE_DOWN_WINDOW_S = 120;
    static final int MAX_WAITING = 16;

    @BeforeAll
    static void install() {
        GantryRelease.ensureInstalled(cluster);
        HubModels.smolLm2();
    }

    /**
     * The SmolLM2 example made autoscaled: at most two workers of one CPU each (the node has two),
     * so that a second worker adds capacity; a scale-down window of 30 s instead of 5 minutes.
     */
    static ObjectNode autoscaled() {
        ObjectNode llmd = Manifests.smolLm2OneCpu(NAME, HOST);
        ObjectNode spec = (ObjectNode) llmd.get("spec");
        spec.remove("replicas");
        spec.withObject("resources").withObject("requests").put("cpu", "250m");
        spec.withObject("engine").put("maxNumSeqs", MAX_NUM_SEQS).put("maxNumBatchedTokens", 256)
                // A short queue: beyond it a worker refuses with 429 and Retry-After rather than let waits grow.
                .putArray("args").add("--max-waiting-requests").add(String.valueOf(MAX_WAITING));
        spec.set("autoscaling", Manifests.parse("""
                {"minReplicas": 1, "maxReplicas": 2, "targetQueueDepth": %d,
                 "behavior": {
                   "scaleUp": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 10}]},
                   "scaleDown": {"stabilizationWindowSeconds": %d, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 10}]}}}
                """.formatted(TARGET_QUEUE_DEPTH, SCALE_DOWN_WINDOW_S)));
        return llmd;
    }

    @Test
    @Order(1)
    void theHpaReadsTheQueueDepthAndTheStatusSaysSo() {
        Shell.Result apply = Manifests.apply(cluster, Llmd.NAMESPACE, List.of(autoscaled()));
        assertThat(apply.exit()).as(apply.err()).isZero();
        Llmd llmd = Llmd.of(cluster, NAME);
        llmd.awaitReady(Duration.ofMinutes(5));
        JsonNode active = llmd.await("autoscaling on a metric it can read", Duration.ofMinutes(2),
                s -> Llmd.isTrue(s, "Autoscaling"));
        JsonNode condition = Llmd.condition(active, "Autoscaling");
        System.out.println("e2e: Autoscaling condition: " + condition);
        assertThat(condition.path("reason").asText()).isEqualTo("ValidMetricFound");
        assertThat(active.path("status").path("replicas").asInt()).isEqualTo(1);
    }

    @Test
    @Order(2)
    void loadAboveOneWorkersCapacityAddsASecondWhichLeavesWhenTheLoadDrops() throws Exception {
        Llmd llmd = Llmd.of(cluster, NAME);
        llmd.awaitReady(Duration.ofMinutes(5));
        String ingress = "http://" + cluster.ingress;
        // Unmeasured: the JIT warms up on the batched paths.
        Bench.serve("autoscaled-warm-up", ingress, HOST, null, MAX_NUM_SEQS, Duration.ofSeconds(15));
        JsonNode one = Bench.serve("autoscaled-capacity", ingress, HOST, null, MAX_NUM_SEQS, Duration.ofSeconds(30));
        double capacity = one.path("request_throughput").asDouble();
        double baselineTtftP95 = one.path("ttft_ms").path("p95").asDouble();
        System.out.printf("e2e: one worker: %.2f requests/s at concurrency %d, TTFT P95 %.0f ms%n", capacity,
                MAX_NUM_SEQS, baselineTtftP95);
        assertThat(capacity).isPositive();
        // A closed loop at exactly the worker's sequences leaves a request waiting now and then, and
        // with no scale-up stabilization one such moment may already bring a second worker: the
        // step starts from one worker, after the scale-down window.
        llmd.await("back to one worker", Duration.ofMinutes(5), s -> s.path("status").path("replicas").asInt() == 1
                && s.path("status").path("readyReplicas").asInt() == 1);

        double high = 1.5 * capacity;
        double low = 0.3 * capacity;
        List<TimelinePlot.Event> events = new ArrayList<>();
        Map<String, Object> figures = new LinkedHashMap<>();
        List<OpenLoad.Sample> samples;
        List<ScalingTimeline.Tick> ticks;
        double stepUpMs;
        double stepDownMs;
        try (OpenLoad load = new OpenLoad(ingress, HOST, null, 9, 2000, Duration.ofMinutes(10));
                ScalingTimeline timeline = new ScalingTimeline(cluster, Llmd.NAMESPACE, NAME, load)) {
            // A few seconds at the low rate, for the timeline's left edge.
            load.rate(low);
            Llmd.sleep(Duration.ofSeconds(10));
            stepUpMs = load.nowMs();
            load.rate(high);
            events.add(new TimelinePlot.Event("load x1.5", stepUpMs / 1000));
            // Until a second worker is Ready and TTFT P95 is back, or 5 minutes.
            awaitTick(load, timeline, Duration.ofMinutes(5), t -> t.readyReplicas() >= 2
                    && recovered(load.samples(), t.tMs(), baselineTtftP95));
            Llmd.sleep(Duration.ofSeconds(20));
            stepDownMs = load.nowMs();
            load.rate(low);
            events.add(new TimelinePlot.Event("load x0.3", stepDownMs / 1000));
            // Until one worker is left, or 5 minutes (the window, then the drain).
            awaitTick(load, timeline, Duration.ofMinutes(5), t -> t.specReplicas() == 1 && t.readyReplicas() == 1
                    && t.waiting().size() == 1);
            Llmd.sleep(Duration.ofSeconds(15));
            load.rate(0);
            load.close();
            samples = load.samples();
            ticks = timeline.ticks();
        }

        // The moments of the timeline.
        Double decision = firstAfter(ticks, stepUpMs, t -> t.hpaDesired() >= 2 || t.specReplicas() >= 2);
        Double ready = firstAfter(ticks, stepUpMs, t -> t.readyReplicas() >= 2);
        Double recovered = ready == null ? null : firstAfter(ticks, ready, t -> recovered(samples, t.tMs(), baselineTtftP95));
        Double downDecision = firstAfter(ticks, stepDownMs, t -> t.specReplicas() == 1);
        Double gone = firstAfter(ticks, stepDownMs, t -> t.specReplicas() == 1 && t.waiting().size() == 1);
        double peakTtft = ticks.stream().filter(t -> t.tMs() >= stepUpMs && t.tMs() <= stepDownMs)
                .mapToDouble(t -> ScalingTimeline.ttftP95(samples, t.tMs(), 10_000)).filter(v -> !Double.isNaN(v))
                .max().orElse(Double.NaN);
        if (decision != null) {
            events.add(new TimelinePlot.Event("HPA: 2", decision / 1000));
        }
        if (ready != null) {
            events.add(new TimelinePlot.Event("2 Ready", ready / 1000));
        }
        if (downDecision != null) {
            events.add(new TimelinePlot.Event("HPA: 1", downDecision / 1000));
        }
        Path plot = Cluster.OUT.resolve("autoscaling-timeline.png");
        TimelinePlot.write(plot, "SmolLM2 on CPU, 1-2 workers, HPA on queue depth", ticks, samples, events);

        long upFailed = failures(samples, stepUpMs, stepDownMs);
        long downFailed = failures(samples, stepDownMs, Double.MAX_VALUE);
        long refused = samples.stream().filter(OpenLoad.Sample::refused).count();
        figures.put("capacity_one_worker_rps", capacity);
        figures.put("baseline_ttft_p95_ms", baselineTtftP95);
        figures.put("high_rate_rps", high);
        figures.put("low_rate_rps", low);
        figures.put("step_to_hpa_decision_s", seconds(decision, stepUpMs));
        figures.put("step_to_second_worker_ready_s", seconds(ready, stepUpMs));
        figures.put("step_to_ttft_recovered_s", seconds(recovered, stepUpMs));
        figures.put("peak_ttft_p95_ms", peakTtft);
        figures.put("drop_to_hpa_scale_down_s", seconds(downDecision, stepDownMs));
        figures.put("drop_to_one_worker_left_s", seconds(gone, stepDownMs));
        figures.put("requests", samples.size());
        figures.put("failed_during_scale_up", upFailed);
        figures.put("failed_during_scale_down", downFailed);
        figures.put("refused_429", refused);
        Figures.record("autoscaling", figures);
        System.out.println("e2e: autoscaling figures " + figures + "; timeline in " + plot);
        samples.stream().filter(s -> !s.ok() && !s.refused()).limit(10)
                .forEach(s -> System.out.println("e2e: failed request at " + Math.round(s.sentMs()) + " ms: " + s.error()));

        assertThat(decision).as("the HPA asked for a second worker").isNotNull();
        assertThat(ready).as("a second worker became Ready").isNotNull();
        assertThat(recovered).as("TTFT P95 came back within 2x the one-worker baseline after the second worker was Ready")
                .isNotNull();
        // Queue depth relieves itself: two workers at 1.5x one's capacity drain their queues, and the
        // HPA then wants one again. The window must outlast the high phase, or the scale-down this
        // measures would come before the load drops.
        int replicasAtDrop = ticks.stream().filter(t -> t.tMs() <= stepDownMs).reduce((a, b) -> b)
                .map(ScalingTimeline.Tick::specReplicas).orElse(0);
        assertThat(replicasAtDrop).as("workers when the load dropped (a scale-down before it means the window is too short)")
                .isEqualTo(2);
        assertThat(downDecision).as("the HPA scaled back to one worker").isNotNull();
        assertThat(gone).as("the removed worker went away").isNotNull();
        assertThat(upFailed).as("requests failed (other than 429) during scale-up").isZero();
        assertThat(downFailed).as("requests failed (other than 429) during scale-down").isZero();
    }

    @Test
    @Order(3)
    void everyDashboardQueryReturnsDataFromPrometheus() {
        Dashboard.Answers answers = Dashboard.run(new MetricsApis(cluster), Llmd.NAMESPACE, NAME);
        System.out.println("e2e: dashboard queries with data (series each): " + answers.withData());
        assertThat(answers.withData().size()).as("queries answered").isGreaterThan(15);
        assertThat(answers.empty()).as("dashboard queries that returned no data").isEmpty();
    }

    /** TTFT P95 over the last 10 s within twice the one-worker baseline. */
    static boolean recovered(List<OpenLoad.Sample> samples, double tMs, double baselineMs) {
        double p95 = ScalingTimeline.ttftP95(samples, tMs, 10_000);
        return !Double.isNaN(p95) && p95 <= 2 * baselineMs;
    }

    private static void awaitTick(OpenLoad load, ScalingTimeline timeline, Duration limit,
            Predicate<ScalingTimeline.Tick> done) {
        double deadline = load.nowMs() + limit.toMillis();
        while (load.nowMs() < deadline) {
            ScalingTimeline.Tick last = timeline.last();
            if (last != null && done.test(last)) {
                return;
            }
            Llmd.sleep(Duration.ofSeconds(1));
        }
    }

    private static Double firstAfter(List<ScalingTimeline.Tick> ticks, double fromMs, Predicate<ScalingTimeline.Tick> p) {
        return ticks.stream().filter(t -> t.tMs() >= fromMs).filter(p).map(ScalingTimeline.Tick::tMs).findFirst()
                .orElse(null);
    }

    private static long failures(List<OpenLoad.Sample> samples, double fromMs, double toMs) {
        return samples.stream().filter(s -> s.sentMs() >= fromMs && s.sentMs() < toMs)
                .filter(s -> !s.ok() && !s.refused()).count();
    }

    private static Double seconds(Double atMs, double fromMs) {
        return atMs == null ? null : Math.round((atMs - fromMs) / 100.0) / 10.0;
    }
}
