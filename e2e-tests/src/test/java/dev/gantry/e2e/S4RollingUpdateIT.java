package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 4: an engine change rolls the workers while {@code gantry bench serve} runs at
 * concurrency 8 through the ingress: not one request fails. The new worker must be ready before
 * the old one is taken out of the Service, and the old one must finish what it holds (preStop
 * delay, drain, grace period), all executed by a real kubelet.
 */
@Order(4)
@ExtendWith(E2eExtension.class)
class S4RollingUpdateIT {
    static Cluster cluster;

    @Test
    void aRollingUpdateUnderLoadFailsNoRequest() {
        Llmd llmd = Llmd.of(cluster, S2ApplySmolLm2IT.NAME);
        llmd.awaitReady(Duration.ofMinutes(5));
        List<String> before = llmd.podNames();
        String templateBefore = podTemplateHash();
        // The old workers' logs to their end (their drain is what this scenario tests), kept in
        // target/e2e/S4RollingUpdateIT/ whatever the outcome: a deleted pod's log is gone after.
        List<Process> followers = before.stream().map(this::followLog).toList();

        CompletableFuture<JsonNode> load = CompletableFuture.supplyAsync(() -> Bench.serve("rolling-update",
                "http://" + cluster.ingress, S2ApplySmolLm2IT.HOST, S2ApplySmolLm2IT.FIRST_KEY, 8, Duration.ofSeconds(
                        Long.getLong("gantry.e2e.rollout.seconds", 150))));
        Llmd.sleep(Duration.ofSeconds(15)); // the load is on, the old worker busy
        Instant patched = Instant.now();
        cluster.kubectl("patch", "llmd", S2ApplySmolLm2IT.NAME, "-n", Llmd.NAMESPACE, "--type", "merge", "-p",
                "{\"spec\":{\"engine\":{\"maxNumSeqs\":12}}}");
        JsonNode rolled = llmd.await("rolled out", Duration.ofMinutes(4), s -> Llmd.isTrue(s, "Ready")
                && !Llmd.isTrue(s, "Progressing") && !podTemplateHash().equals(templateBefore)
                && llmd.podNames().stream().noneMatch(before::contains));
        assertThat(rolled.path("status").path("readyReplicas").asInt()).isEqualTo(1);
        double rolloutSeconds = Duration.between(patched, Instant.now()).toMillis() / 1000.0;
        Figures.record("rolling_update_seconds", rolloutSeconds);
        assertThat(load).as("the load must outlast the rollout (%.0f s) to show anything; raise "
                + "-Dgantry.e2e.rollout.seconds", rolloutSeconds).isNotDone();

        JsonNode level = load.join();
        followers.forEach(Process::destroy);
        Figures.record("rolling_update_bench", level);
        System.out.printf("e2e: rolling update under load: %d completed, %d failed%n",
                level.path("completed").asInt(), level.path("failed").asInt());
        assertThat(level.path("failed").asInt()).as("requests failed during the rolling update; errors: "
                + level.path("errors")).isZero();
        assertThat(level.path("completed").asInt()).isPositive();
    }

    private Process followLog(String pod) {
        try {
            Path dir = Cluster.OUT.resolve("S4RollingUpdateIT");
            Files.createDirectories(dir);
            return new ProcessBuilder(cluster.kubectl.toString(), "--kubeconfig", cluster.kubeconfig.toString(),
                    "logs", "-f", "-n", Llmd.NAMESPACE, pod, "--timestamps")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("old-worker-" + pod + ".log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String podTemplateHash() {
        return cluster.kubectl("get", "deployment", S2ApplySmolLm2IT.NAME, "-n", Llmd.NAMESPACE, "-o",
                "jsonpath={.spec.template.metadata.annotations.gantry\\.dev/config-hash}");
    }
}
