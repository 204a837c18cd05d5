package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 10, faults with load running: a worker pod killed mid-stream; the operator killed; the
 * custom-metrics adapter down; Redis down under the response cache. Each says what a platform team
 * checks before it trusts the system: errors end promptly and only where the fault was, serving
 * goes on, and everything comes back by itself.
 */
@Order(10)
@ExtendWith(E2eExtension.class)
class S10FaultsIT {
    static Cluster cluster;
    static final String NAME = "faults";
    static final String HOST = "faults.gantry-e2e.local";
    /** Streams long enough (several seconds on one core) that the kill surely lands in them. */
    static final int LONG_STREAMS = 4;
    static final int LONG_STREAM_TOKENS = 600;

    @BeforeAll
    static void install() {
        GantryRelease.ensureInstalled(cluster);
        HubModels.smolLm2();
    }

    /** Two SmolLM2 workers of one CPU each behind the ingress. */
    static ObjectNode twoWorkers() {
        ObjectNode llmd = Manifests.smolLm2OneCpu(NAME, HOST);
        ((ObjectNode) llmd.get("spec")).put("replicas", 2);
        return llmd;
    }

    @Test
    @Order(1)
    void aWorkerKilledMidStreamEndsItsStreamsPromptlyAndTheOtherServesOn() throws Exception {
        Shell.Result apply = Manifests.apply(cluster, Llmd.NAMESPACE, List.of(twoWorkers()));
        assertThat(apply.exit()).as(apply.err()).isZero();
        Llmd llmd = Llmd.of(cluster, NAME);
        llmd.awaitReady(Duration.ofMinutes(5));
        List<String> before = llmd.podNames();
        assertThat(before).hasSize(2);
        // Unmeasured: both workers' JIT warm, so that only the kill shows in what follows.
        Bench.serve("faults-warm-up", "http://" + cluster.ingress, HOST, null, 4, Duration.ofSeconds(15));

        double killedAtMs;
        double runningAtKill;
        int restarts;
        List<OpenLoad.Sample> samples;
        try (OpenLoad load = new OpenLoad("http://" + cluster.ingress, HOST, null, 10, 600, Duration.ofMinutes(4))) {
            load.rate(2.5);
            Llmd.sleep(Duration.ofSeconds(20));
            // Mid-stream for sure: the load's own requests last a fraction of a second, so one seen
            // running may be done before the kill lands. So, with the load paused and its requests
            // drained, four long streams go through the ingress; once all four stream, the worker
            // serving the most of them is the victim, and the load resumes the moment it is killed.
            Map<String, JsonNode> pods = new LinkedHashMap<>();
            for (String pod : before) {
                pods.put(pod, Llmd.json(cluster.kubectl("get", "pod", pod, "-n", Llmd.NAMESPACE, "-o", "json")));
            }
            load.rate(0);
            for (int i = 0; i < 600 && load.inFlight() > 0; i++) {
                Llmd.sleep(Duration.ofMillis(100));
            }
            CountDownLatch streaming = new CountDownLatch(LONG_STREAMS);
            for (int i = 0; i < LONG_STREAMS; i++) {
                load.sendNow(LONG_STREAM_TOKENS, streaming);
            }
            assertThat(streaming.await(2, TimeUnit.MINUTES)).as("the long streams all streaming").isTrue();
            Map<String, Double> running = new LinkedHashMap<>();
            pods.forEach((pod, json) -> running.put(pod, Http.counter(
                    metrics("http://" + json.at("/status/podIP").asText() + ":8000"), "vllm:num_requests_running")));
            String killed = running.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
            runningAtKill = running.get(killed);
            System.out.println("e2e: worker killed: requests running per worker before the kill: " + running);
            // SIGKILL of the worker's process, as the OOM killer would: no drain, no goodbye.
            String container = pods.get(killed).at("/status/containerStatuses/0/containerID").asText()
                    .replaceFirst("^containerd://", "");
            load.rate(2.5);
            killedAtMs = load.nowMs();
            cluster.ctr("tasks", "kill", "--signal", "SIGKILL", container);
            // The kubelet restarts the container in its pod (the pod's restart policy); once the
            // model is loaded again, both workers are Ready.
            llmd.await("the killed worker restarted and both Ready again", Duration.ofMinutes(4),
                    s -> restarts(killed) > 0 && Llmd.isTrue(s, "Ready") && llmd.readyPodIps().size() == 2);
            restarts = restarts(killed);
            Llmd.sleep(Duration.ofSeconds(15));
            load.rate(0);
            load.close();
            samples = load.samples();
        }
        List<OpenLoad.Sample> failed = samples.stream().filter(s -> !s.ok()).toList();
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("requests", samples.size());
        figures.put("running_on_the_victim_at_the_kill", runningAtKill);
        figures.put("failed", failed.size());
        figures.put("restarts_of_the_killed_worker", restarts);
        figures.put("failed_latest_end_after_kill_s", failed.stream().mapToDouble(s -> (s.endMs() - killedAtMs) / 1000)
                .max().orElse(0));
        figures.put("failed_sent_latest_after_kill_s", failed.stream().mapToDouble(s -> (s.sentMs() - killedAtMs) / 1000)
                .max().orElse(Double.NaN));
        Figures.record("fault_worker_killed", figures);
        System.out.println("e2e: worker killed: " + figures);
        failed.stream().limit(10).forEach(s -> System.out.printf("e2e:   failed: sent %+.1f s, ended %+.1f s: %s%n",
                (s.sentMs() - killedAtMs) / 1000, (s.endMs() - killedAtMs) / 1000, s.error()));

        // What was on the killed worker fails, within seconds of the kill; nothing else does.
        assertThat(runningAtKill).as("requests running on the worker when it was killed").isPositive();
        assertThat(failed).as("the streams cut by the kill").hasSizeGreaterThanOrEqualTo((int) runningAtKill).allSatisfy(s -> {
            assertThat(s.sentMs()).as("sent before the kill or within the moment the endpoints take to follow")
                    .isLessThan(killedAtMs + 5_000);
            assertThat(s.endMs()).as("ended promptly after the kill, not at a timeout").isLessThan(killedAtMs + 15_000);
        });
        assertThat(restarts).as("the killed worker's container was restarted").isPositive();
        assertThat(samples.stream().filter(s -> s.sentMs() > killedAtMs + 5_000)).as("requests after the kill")
                .isNotEmpty().allSatisfy(s -> assertThat(s.ok()).as(String.valueOf(s.error())).isTrue());
    }

    @Test
    @Order(2)
    void theOperatorKilledServingGoesOnAndOnRestartNothingChanges() {
        Llmd llmd = Llmd.of(cluster, NAME);
        llmd.awaitReady(Duration.ofMinutes(5));
        Map<String, String> before = workloadVersions();
        List<OpenLoad.Sample> samples;
        try (OpenLoad load = new OpenLoad("http://" + cluster.ingress, HOST, null, 11, 300, Duration.ofMinutes(3))) {
            load.rate(1);
            Llmd.sleep(Duration.ofSeconds(5));
            String operatorPods = cluster.kubectl("get", "pods", "-n", GantryRelease.NAMESPACE, "-l",
                    "app.kubernetes.io/instance=" + GantryRelease.RELEASE, "-o", "name").trim();
            List<String> delete = new java.util.ArrayList<>(List.of("delete", "-n", GantryRelease.NAMESPACE,
                    "--grace-period=0", "--force"));
            delete.addAll(List.of(operatorPods.split("\\s+")));
            cluster.kubectl(delete.toArray(String[]::new));
            // Serving goes on while there is no operator, and while the new one starts.
            cluster.kubectl("rollout", "status", "deployment", "-n", GantryRelease.NAMESPACE, "-l",
                    "app.kubernetes.io/instance=" + GantryRelease.RELEASE, "--timeout=3m");
            // The new operator reconciles everything once at start; give it the time to.
            Llmd.sleep(Duration.ofSeconds(20));
            load.rate(0);
            load.close();
            samples = load.samples();
        }
        assertThat(samples).isNotEmpty().allSatisfy(s -> assertThat(s.ok()).as(String.valueOf(s.error())).isTrue());
        assertThat(workloadVersions()).as("generations of what the operator made, before and after its restart")
                .isEqualTo(before);
    }

    @Test
    @Order(3)
    void withTheAdapterDownTheHpaHoldsTheReplicasAndTheStatusSaysWhy() {
        Llmd autoscaled = Llmd.of(cluster, S9AutoscalingIT.NAME);
        if (!cluster.kubectlResult(null, "get", "llmd", S9AutoscalingIT.NAME, "-n", Llmd.NAMESPACE).ok()) {
            Manifests.apply(cluster, Llmd.NAMESPACE, List.of(S9AutoscalingIT.autoscaled())).orThrow();
        }
        autoscaled.await("autoscaling", Duration.ofMinutes(5), s -> Llmd.isTrue(s, "Ready") && Llmd.isTrue(s, "Autoscaling"));
        int replicas = autoscaled.get().path("status").path("replicas").asInt();
        try {
            cluster.kubectl("scale", "deployment/prometheus-adapter", "-n", "monitoring", "--replicas=0");
            JsonNode held = autoscaled.await("Autoscaling False", Duration.ofMinutes(3),
                    s -> "False".equals(Llmd.condition(s, "Autoscaling").path("status").asText()));
            JsonNode condition = Llmd.condition(held, "Autoscaling");
            System.out.println("e2e: adapter down: " + condition);
            Figures.record("fault_adapter_down_condition", condition);
            assertThat(condition.path("reason").asText()).startsWith("FailedGet");
            assertThat(condition.path("message").asText()).contains("vllm:num_requests_waiting")
                    .contains("replicas held at " + replicas);
            // Held: the same count some HPA periods later, and the workers still serve.
            Llmd.sleep(Duration.ofSeconds(20));
            assertThat(autoscaled.get().path("status").path("replicas").asInt()).isEqualTo(replicas);
            assertThat(Http.post("http://" + cluster.ingress, S9AutoscalingIT.HOST, "/v1/completions",
                    "{\"prompt\": \"Hello\", \"max_tokens\": 4}", null).status()).isEqualTo(200);
        } finally {
            cluster.kubectl("scale", "deployment/prometheus-adapter", "-n", "monitoring", "--replicas=1");
        }
        cluster.kubectl("rollout", "status", "deployment/prometheus-adapter", "-n", "monitoring", "--timeout=2m");
        autoscaled.await("Autoscaling True again", Duration.ofMinutes(3), s -> Llmd.isTrue(s, "Autoscaling"));
    }

    @Test
    @Order(4)
    void withRedisDownTheWorkersServeUncachedAndUseTheCacheWhenItReturns() {
        Llmd cached = Llmd.of(cluster, S5RedisResponseCacheIT.NAME);
        if (!cluster.kubectlResult(null, "get", "llmd", S5RedisResponseCacheIT.NAME, "-n", Llmd.NAMESPACE).ok()) {
            S5RedisResponseCacheIT.applyExample(cluster);
        }
        cached.awaitReady(Duration.ofMinutes(6));
        String worker = "http://" + cached.readyPodIps().getFirst() + ":8000";
        String request = """
                {"model": "smollm2-135m-instruct", "prompt": "Redis is down, and yet", "max_tokens": 8, "temperature": 0}""";
        try {
            cluster.kubectl("scale", "deployment/gantry-redis", "-n", Llmd.NAMESPACE, "--replicas=0");
            cluster.kubectl("wait", "--for=delete", "pod", "-l", "app.kubernetes.io/name=gantry-redis", "-n",
                    Llmd.NAMESPACE, "--timeout=60s");
            double errorsBefore = Http.counter(metrics(worker), "gantry:response_cache_errors");
            for (int i = 0; i < 3; i++) {
                Http.Reply r = Http.post(worker, null, "/v1/completions", request, null);
                assertThat(r.status()).as("served without its cache: " + r.body()).isEqualTo(200);
            }
            assertThat(Http.counter(metrics(worker), "gantry:response_cache_errors"))
                    .as("gantry:response_cache_errors counts the failed look-ups").isGreaterThan(errorsBefore);
        } finally {
            cluster.kubectl("scale", "deployment/gantry-redis", "-n", Llmd.NAMESPACE, "--replicas=1");
        }
        cluster.kubectl("rollout", "status", "deployment/gantry-redis", "-n", Llmd.NAMESPACE, "--timeout=2m");
        // Back: the next identical request is stored, the one after is a hit (the client reconnects by itself).
        double hits = Http.counter(metrics(worker), "gantry:response_cache_hits");
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (Http.counter(metrics(worker), "gantry:response_cache_hits") <= hits && System.nanoTime() < deadline) {
            assertThat(Http.post(worker, null, "/v1/completions", request, null).status()).isEqualTo(200);
            Llmd.sleep(Duration.ofSeconds(1));
        }
        assertThat(Http.counter(metrics(worker), "gantry:response_cache_hits")).as("hits once Redis is back")
                .isGreaterThan(hits);
    }

    private static int restarts(String pod) {
        return Llmd.json(cluster.kubectl("get", "pod", pod, "-n", Llmd.NAMESPACE, "-o", "json"))
                .at("/status/containerStatuses/0/restartCount").asInt();
    }

    private static String metrics(String base) {
        Http.Reply r = Http.get(base, null, "/metrics", null);
        assertThat(r.status()).isEqualTo(200);
        return r.body();
    }

    /** metadata.generation of every Deployment, Service, HPA and Ingress in the LLMDeployments' namespace. */
    private static Map<String, String> workloadVersions() {
        Map<String, String> versions = new LinkedHashMap<>();
        JsonNode items = Llmd.json(cluster.kubectl("get", "deployment,service,hpa,ingress,pdb", "-n", Llmd.NAMESPACE,
                "-l", "app.kubernetes.io/managed-by=gantry-operator", "-o", "json")).path("items");
        for (JsonNode item : items) {
            versions.put(item.path("kind").asText() + "/" + item.path("metadata").path("name").asText(),
                    item.path("metadata").path("generation").asText() + " "
                            + item.path("spec").path("replicas").asText("-"));
        }
        return versions;
    }
}
