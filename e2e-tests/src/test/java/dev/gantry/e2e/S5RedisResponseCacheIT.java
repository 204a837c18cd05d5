package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 5: manifests/examples/llmdeployment-redis-cache.yaml, two workers sharing a response
 * cache in Redis (a pod, from the image this repository builds): a deterministic request answered
 * by one replica is, sent again to the other, a hit there, as that worker's /metrics show.
 *
 * <p>Changed for the node: the CPU request (as in scenario 2), and the Redis image, the one built
 * here instead of redis:7.4-alpine from a public registry.
 */
@Order(5)
@ExtendWith(E2eExtension.class)
class S5RedisResponseCacheIT {
    static Cluster cluster;
    static final String NAME = "smollm2-cached";

    @Test
    void anIdenticalRequestIsAHitOnTheOtherReplica() {
        applyExample(cluster);

        Llmd llmd = Llmd.of(cluster, NAME);
        llmd.awaitReady(Duration.ofMinutes(6));
        List<String> pods = llmd.readyPodIps();
        assertThat(pods).hasSize(2);

        String request = """
                {"model": "smollm2-135m-instruct", "prompt": "A haiku about caches:", "max_tokens": 16, "temperature": 0}""";
        String a = "http://" + pods.get(0) + ":8000";
        String b = "http://" + pods.get(1) + ":8000";
        double hitsBefore = hits(b);
        Http.Reply first = Http.post(a, null, "/v1/completions", request, null);
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        Http.Reply second = Http.post(b, null, "/v1/completions", request, null);
        assertThat(second.status()).as(second.body()).isEqualTo(200);

        String text1 = Llmd.json(first.body()).at("/choices/0/text").asText();
        String text2 = Llmd.json(second.body()).at("/choices/0/text").asText();
        assertThat(text2).isEqualTo(text1);
        assertThat(hits(b)).as("gantry:response_cache_hits on the second replica").isEqualTo(hitsBefore + 1);
        assertThat(Http.counter(metrics(b), "gantry:response_cache_errors")).isZero();
    }

    /** The example as written, but for the Redis image, which is this repository's (nothing is pulled). */
    static void applyExample(Cluster cluster) {
        GantryRelease.ensureInstalled(cluster);
        HubModels.smolLm2();
        List<ObjectNode> docs = Manifests.load("manifests/examples/llmdeployment-redis-cache.yaml");
        Manifests.fitWorkerToNode(Manifests.ofKind(docs, "LLMDeployment"));
        ObjectNode redis = (ObjectNode) Manifests.ofKind(docs, "Deployment").at("/spec/template/spec/containers/0");
        redis.put("image", "gantry.local/redis:7").put("imagePullPolicy", "Never");
        Shell.Result apply = Manifests.apply(cluster, Llmd.NAMESPACE, docs);
        assertThat(apply.exit()).as(apply.err()).isZero();
    }

    private static String metrics(String base) {
        Http.Reply r = Http.get(base, null, "/metrics", null);
        assertThat(r.status()).isEqualTo(200);
        return r.body();
    }

    private static double hits(String base) {
        return Http.counter(metrics(base), "gantry:response_cache_hits");
    }
}
