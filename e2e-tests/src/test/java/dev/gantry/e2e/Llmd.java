package dev.gantry.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** An LLMDeployment on the cluster, read through kubectl as a user would. */
record Llmd(Cluster cluster, String namespace, String name) {
    static final String NAMESPACE = "llm";

    static Llmd of(Cluster cluster, String name) {
        return new Llmd(cluster, NAMESPACE, name);
    }

    JsonNode get() {
        return json(cluster.kubectl("get", "llmd", name, "-n", namespace, "-o", "json"));
    }

    /** The status condition of that type in an LLMDeployment as read, or a missing node. */
    static JsonNode condition(JsonNode llmd, String type) {
        for (JsonNode c : llmd.path("status").path("conditions")) {
            if (type.equals(c.path("type").asText())) {
                return c;
            }
        }
        return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }

    /** Waits until the status of the latest generation satisfies the test, and returns it. */
    JsonNode await(String what, Duration limit, Predicate<JsonNode> test) {
        Instant deadline = Instant.now().plus(limit);
        JsonNode last = null;
        while (true) {
            last = get();
            long generation = last.path("metadata").path("generation").asLong();
            if (last.path("status").path("observedGeneration").asLong() == generation && test.test(last)) {
                return last;
            }
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("llmd/" + name + ": not " + what + " within " + limit + "; status: "
                        + last.path("status").toPrettyString());
            }
            sleep(Duration.ofSeconds(1));
        }
    }

    /** Ready=True with every wanted worker ready and no old ones left. */
    JsonNode awaitReady(Duration limit) {
        return await("Ready", limit, s -> isTrue(s, "Ready") && !isTrue(s, "Progressing"));
    }

    static boolean isTrue(JsonNode llmd, String type) {
        return "True".equals(condition(llmd, type).path("status").asText());
    }

    /** The worker pods that are Ready, as pod IPs (reachable from the host over the node's link). */
    List<String> readyPodIps() {
        JsonNode pods = json(cluster.kubectl("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/instance=" + name,
                "-o", "json"));
        List<String> ips = new ArrayList<>();
        for (JsonNode pod : pods.path("items")) {
            if (!pod.path("metadata").path("deletionTimestamp").isMissingNode()) {
                continue;
            }
            for (JsonNode c : pod.path("status").path("conditions")) {
                if ("Ready".equals(c.path("type").asText()) && "True".equals(c.path("status").asText())) {
                    ips.add(pod.path("status").path("podIP").asText());
                }
            }
        }
        return ips;
    }

    List<String> podNames() {
        String out = cluster.kubectl("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/instance=" + name,
                "-o", "jsonpath={.items[*].metadata.name}");
        return out.isBlank() ? List.of() : List.of(out.trim().split("\\s+"));
    }

    static JsonNode json(String s) {
        try {
            return Manifests.JSON.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
