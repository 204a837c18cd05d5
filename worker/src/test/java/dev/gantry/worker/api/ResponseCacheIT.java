package dev.gantry.worker.api;

import static dev.gantry.worker.api.ApiTestSupport.get;
import static dev.gantry.worker.api.ApiTestSupport.json;
import static dev.gantry.worker.api.ApiTestSupport.post;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The in-memory response cache through the API: a repeated deterministic request gets the very
 * same body (id and created included) without reaching the engine; sampled requests are never
 * cached. {@link RedisResponseCacheApiIT} runs the same checks with Redis behind the cache.
 */
@QuarkusTest
class ResponseCacheIT {
    @TestHTTPResource("/")
    URL root;

    @Test
    void deterministicRequestIsAnsweredFromTheCacheWithoutTheEngine() throws Exception {
        checkCaching(URI.create(root.toString()), "memory");
    }

    static void checkCaching(URI root, String tag) throws Exception {
        ApiTestSupport.awaitReady(root, Duration.ofMinutes(2));
        String greedy = "{\"model\": \"stories260K\", \"prompt\": \"Once upon a time " + tag + "\", \"max_tokens\": 12, \"temperature\": 0}";
        HttpResponse<String> first = post(root.resolve("/v1/completions"), greedy);
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        double promptTokens = metric(root, "vllm:prompt_tokens_total");
        double successes = metric(root, "vllm:request_success_total");
        double hits = metric(root, "gantry:response_cache_hits_total");
        double received = metric(root, "gantry:requests_received_total");
        // Both endpoints' arrivals exist from the start (at zero until a request comes), so that an
        // HPA on requests per second finds the series of a worker no one has called yet.
        assertThat(get(root.resolve("/metrics")).body()).contains("gantry:requests_received_total{endpoint=\"chat\"",
                "gantry:requests_received_total{endpoint=\"completions\"");

        // Same request, keys in another order and other whitespace: the same canonical request.
        String reordered = "{ \"temperature\": 0.0, \"max_tokens\": 12, \"prompt\": \"Once upon a time " + tag + "\", \"model\": \"stories260K\" }";
        HttpResponse<String> second = post(root.resolve("/v1/completions"), reordered);
        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(second.body()).isEqualTo(first.body());
        assertThat(metric(root, "gantry:response_cache_hits_total")).isEqualTo(hits + 1);
        assertThat(metric(root, "vllm:prompt_tokens_total")).as("the engine saw no new prompt").isEqualTo(promptTokens);
        assertThat(metric(root, "vllm:request_success_total")).isEqualTo(successes);
        assertThat(metric(root, "gantry:requests_received_total")).as("a cache hit is demand all the same")
                .isEqualTo(received + 1);

        // Another sampling parameter: another key, computed by the engine.
        HttpResponse<String> other = post(root.resolve("/v1/completions"), greedy.replace("\"max_tokens\": 12", "\"max_tokens\": 11"));
        assertThat(json(other.body()).get("id").asText()).isNotEqualTo(json(first.body()).get("id").asText());
        assertThat(metric(root, "vllm:request_success_total")).isEqualTo(successes + 1);

        // A stream: the second one is the first's events replayed, without the engine.
        String stream = "{\"model\": \"stories260K\", \"prompt\": \"The dog " + tag + "\", \"max_tokens\": 8,"
                + " \"temperature\": 0, \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
        HttpResponse<String> firstStream = post(root.resolve("/v1/completions"), stream);
        assertThat(firstStream.body()).contains("\"finish_reason\"").endsWith("data: [DONE]\n\n");
        double streamed = metric(root, "vllm:request_success_total");
        HttpResponse<String> replay = post(root.resolve("/v1/completions"), stream);
        assertThat(replay.statusCode()).isEqualTo(200);
        assertThat(replay.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        assertThat(replay.body()).isEqualTo(firstStream.body());
        assertThat(metric(root, "vllm:request_success_total")).as("the replay never reached the engine").isEqualTo(streamed);
        // The streamed and the buffered answer are different entries.
        HttpResponse<String> buffered = post(root.resolve("/v1/completions"), stream.replace("\"stream\": true", "\"stream\": false")
                .replace(", \"stream_options\": {\"include_usage\": true}", ""));
        assertThat(buffered.body()).startsWith("{");
        assertThat(metric(root, "vllm:request_success_total")).isEqualTo(streamed + 1);
        // Several seeded choices with log-probabilities are deterministic: cached too.
        String choices = "{\"model\": \"stories260K\", \"prompt\": \"A cat " + tag + "\", \"max_tokens\": 6, \"seed\": 3,"
                + " \"n\": 2, \"logprobs\": 1}";
        String c1 = post(root.resolve("/v1/completions"), choices).body();
        String c2 = post(root.resolve("/v1/completions"), choices).body();
        assertThat(c2).isEqualTo(c1);
        assertThat(json(c1).get("choices").size()).isEqualTo(2);
        assertThat(metric(root, "vllm:request_success_total")).as("two choices computed once").isEqualTo(streamed + 3);
        successes += 4; // the first stream, the buffered answer, and the two choices (counted per sequence)

        // Sampled without a seed: never cached.
        String sampled = "{\"model\": \"stories260K\", \"prompt\": \"Once " + tag + "\", \"max_tokens\": 4, \"temperature\": 1}";
        String a = post(root.resolve("/v1/completions"), sampled).body();
        String b = post(root.resolve("/v1/completions"), sampled).body();
        assertThat(json(a).get("id").asText()).isNotEqualTo(json(b).get("id").asText());
        assertThat(metric(root, "vllm:request_success_total")).isEqualTo(successes + 3);
    }

    /** The sum of a metric's samples (over all label sets) in the Prometheus text. */
    static double metric(URI root, String name) throws Exception {
        String text = get(root.resolve("/metrics")).body();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*})? ([0-9.eE+-]+)$").matcher(text);
        double sum = 0;
        boolean found = false;
        while (m.find()) {
            sum += Double.parseDouble(m.group(2));
            found = true;
        }
        return found ? sum : 0;
    }
}
