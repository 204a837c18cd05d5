package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 12, scale-up with a shared model cache: an LLMDeployment whose workers share a
 * PersistentVolumeClaim for their hf:// downloads (spec.model.cache) and one without, on the same
 * model. Each goes from one worker to two; the time from the scale-up to the second worker Ready
 * is measured for both, and the worker added with the cache must not download the model again.
 * The claim is a hostPath volume on the node (no provisioner here), ReadWriteMany as a shared
 * filesystem would be.
 */
@Order(12)
@ExtendWith(E2eExtension.class)
class S12ModelCacheIT {
    static Cluster cluster;
    static final String CACHED = "cache-shared";
    static final String UNCACHED = "cache-none";
    static final String CLAIM = "model-cache";

    @Test
    void aWorkerAddedWithTheSharedCacheLoadsTheModelWithoutDownloadingIt() throws IOException {
        GantryRelease.ensureInstalled(cluster);
        HubModels.smolLm2();
        Path dir = cluster.kubeconfig.getParent().resolve("model-cache-" + CACHED);
        Files.createDirectories(dir);
        // The workers run as a non-root user, and a hostPath volume keeps its owner.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        ObjectNode pv = Manifests.parse("""
                {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "gantry-e2e-%s"},
                 "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteMany"],
                          "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                          "claimRef": {"namespace": "%s", "name": "%s"},
                          "hostPath": {"path": "%s", "type": "Directory"}}}""".formatted(CLAIM, Llmd.NAMESPACE, CLAIM, dir));
        ObjectNode pvc = Manifests.parse("""
                {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "%s"},
                 "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": "gantry-e2e-%s",
                          "resources": {"requests": {"storage": "2Gi"}}}}""".formatted(CLAIM, CLAIM));
        ObjectNode cached = Manifests.smolLm2OneCpu(CACHED, CACHED + ".gantry-e2e.local");
        ((ObjectNode) cached.get("spec")).withObject("model").putObject("cache").put("claimName", CLAIM);
        ObjectNode uncached = Manifests.smolLm2OneCpu(UNCACHED, UNCACHED + ".gantry-e2e.local");
        try {
            Manifests.apply(cluster, Llmd.NAMESPACE, List.of(pv, pvc, cached, uncached)).orThrow();
            Llmd withCache = Llmd.of(cluster, CACHED);
            Llmd without = Llmd.of(cluster, UNCACHED);
            withCache.awaitReady(Duration.ofMinutes(5));
            without.awaitReady(Duration.ofMinutes(5));
            assertThat(Files.walk(dir).anyMatch(p -> p.getFileName().toString().endsWith(".gguf")))
                    .as("the first worker downloaded the model into the claim").isTrue();

            double secondsWith = scaleToTwo(withCache);
            double secondsWithout = scaleToTwo(without);
            String addedWith = newest(withCache);
            String addedWithout = newest(without);
            List<String> progressWith = downloadLines(addedWith);
            List<String> progressWithout = downloadLines(addedWithout);

            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("scale_up_to_ready_with_cache_s", secondsWith);
            figures.put("scale_up_to_ready_without_cache_s", secondsWithout);
            figures.put("download_lines_with_cache", progressWith.size());
            figures.put("download_lines_without_cache", progressWithout.size());
            Figures.record("model_cache", figures);
            System.out.println("e2e: model cache " + figures);

            assertThat(progressWith).as("download progress of the worker added with the shared cache").isEmpty();
            assertThat(progressWithout).as("download progress of the worker added without it").isNotEmpty();
        } finally {
            cluster.kubectlResult(null, "delete", "llmd", CACHED, UNCACHED, "-n", Llmd.NAMESPACE, "--ignore-not-found",
                    "--wait");
            cluster.kubectlResult(null, "delete", "pvc", CLAIM, "-n", Llmd.NAMESPACE, "--ignore-not-found", "--wait");
            cluster.kubectlResult(null, "delete", "pv", "gantry-e2e-" + CLAIM, "--ignore-not-found", "--wait");
        }
    }

    /** {@code kubectl scale} to two workers (what the HPA does), and the seconds until both are Ready. */
    private static double scaleToTwo(Llmd llmd) {
        Instant start = Instant.now();
        cluster.kubectl("scale", "llmd/" + llmd.name(), "-n", Llmd.NAMESPACE, "--replicas=2");
        llmd.await("two workers Ready", Duration.ofMinutes(5), s -> s.path("status").path("readyReplicas").asInt() == 2
                && Llmd.isTrue(s, "Ready"));
        return Duration.between(start, Instant.now()).toMillis() / 1000.0;
    }

    private static String newest(Llmd llmd) {
        return cluster.kubectl("get", "pods", "-n", Llmd.NAMESPACE, "-l", "app.kubernetes.io/instance=" + llmd.name(),
                "--sort-by=.metadata.creationTimestamp", "-o", "jsonpath={.items[-1:].metadata.name}").trim();
    }

    /** The download progress lines in a worker's log (ConsoleProgress off a terminal, as scenario 2 reads them). */
    private static List<String> downloadLines(String pod) {
        return cluster.kubectl("logs", "-n", Llmd.NAMESPACE, pod).lines()
                .filter(l -> l.matches("\\s*\\d+% \\[[#-]+\\] .+ / .+")).toList();
    }
}
