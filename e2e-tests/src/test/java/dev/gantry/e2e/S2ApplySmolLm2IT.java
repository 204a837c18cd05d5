package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 2: {@code kubectl apply} of manifests/examples/llmdeployment-smollm2.yaml, its model
 * downloaded by the worker from the hub-like server in the cluster; Ready, readyReplicas right,
 * status.url set, download progress visible while it loads.
 *
 * <p>The example as written (its hf:// URI too: the hub serves that file), with what the node and
 * the later scenarios need: a CPU request that fits a 2-core node that must also hold a surge
 * worker, and the Service exposed through the ingress under a host name, with an API key
 * (scenarios 3 and 6).
 */
@Order(2)
@ExtendWith(E2eExtension.class)
class S2ApplySmolLm2IT {
    static Cluster cluster;
    static final String NAME = "smollm2";
    static final String HOST = "smollm2.gantry-e2e.local";
    static final String KEY_SECRET = "smollm2-api-key";
    static final String FIRST_KEY = "sk-e2e-first-key";

    @BeforeAll
    static void install() {
        GantryRelease.ensureInstalled(cluster);
        HubModels.smolLm2();
    }

    /** The example, fitted to the node (see the class comment). */
    static ObjectNode smolLm2() {
        ObjectNode llmd = Manifests.ofKind(Manifests.load("manifests/examples/llmdeployment-smollm2.yaml"), "LLMDeployment");
        Manifests.fitWorkerToNode(llmd);
        ObjectNode spec = (ObjectNode) llmd.get("spec");
        spec.putObject("ingress").put("host", HOST);
        spec.withObject("serving").putObject("apiKeySecretRef").put("name", KEY_SECRET).put("key", "key");
        return llmd;
    }

    @Test
    void theExampleBecomesReadyWithItsUrlAndShowsDownloadProgress() {
        cluster.kubectlResult(null, "delete", "llmd", NAME, "-n", Llmd.NAMESPACE, "--ignore-not-found", "--wait");
        ObjectNode secret = Manifests.parse("""
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "%s"}, "stringData": {"key": "%s"}}"""
                .formatted(KEY_SECRET, FIRST_KEY));
        Instant applied = Instant.now();
        Shell.Result apply = Manifests.apply(cluster, Llmd.NAMESPACE, List.of(secret, smolLm2()));
        assertThat(apply.exit()).as(apply.err()).isZero();

        // While it loads: the worker's log shows the download as it goes.
        Llmd llmd = Llmd.of(cluster, NAME);
        List<String> progress = new ArrayList<>();
        Instant deadline = Instant.now().plus(Duration.ofMinutes(5));
        while (!Llmd.isTrue(llmd.get(), "Ready") && Instant.now().isBefore(deadline)) {
            for (String pod : llmd.podNames()) {
                Shell.Result logs = cluster.kubectlResult(null, "logs", "-n", Llmd.NAMESPACE, pod);
                // ConsoleProgress, off a terminal: a line per tenth, e.g. " 40% [####------] 36 MB / 90 MB ..."
                logs.out().lines().filter(l -> l.matches("\\s*\\d+% \\[[#-]+\\] .+ / .+"))
                        .filter(l -> !progress.contains(l)).forEach(progress::add);
            }
            Llmd.sleep(Duration.ofMillis(500));
        }
        JsonNode ready = llmd.awaitReady(Duration.ofMinutes(5));
        Duration toReady = Duration.between(applied, Instant.now());
        Figures.record("apply_to_ready_seconds", toReady.toMillis() / 1000.0);
        System.out.println("e2e: kubectl apply to Ready in " + toReady.toMillis() / 1000.0 + " s; progress lines seen:\n  "
                + String.join("\n  ", progress));

        assertThat(progress).as("download progress in the worker's log while it loads").isNotEmpty();
        assertThat(ready.path("status").path("readyReplicas").asInt()).isEqualTo(1);
        assertThat(ready.path("status").path("replicas").asInt()).isEqualTo(1);
        assertThat(ready.path("status").path("url").asText()).isEqualTo("http://" + HOST + "/");
        assertThat(llmd.readyPodIps()).hasSize(1);
        assertThat(cluster.kubectl("get", "ingress", NAME, "-n", Llmd.NAMESPACE, "-o",
                "jsonpath={.spec.rules[0].host}")).isEqualTo(HOST);
    }
}
