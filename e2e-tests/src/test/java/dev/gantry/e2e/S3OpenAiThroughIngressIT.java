package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 3: the official OpenAI Java SDK through the ingress (Traefik, routed by host name):
 * chat, streamed chat, completions, a 400 for a bad request, a 401 without the key. Then
 * {@code gantry bench serve} at concurrency 8 for 60 s through the ingress and, in the same run,
 * straight to the worker pod, so the cost of the ingress hop is known.
 */
@Order(3)
@ExtendWith(E2eExtension.class)
class S3OpenAiThroughIngressIT {
    static Cluster cluster;
    static OpenAIClient client;
    static final String MODEL = "smollm2-135m-instruct";

    @BeforeAll
    static void connect() {
        Llmd.of(cluster, S2ApplySmolLm2IT.NAME).awaitReady(Duration.ofMinutes(5));
        client = sdk(S2ApplySmolLm2IT.FIRST_KEY);
    }

    @AfterAll
    static void close() {
        if (client != null) {
            client.close();
        }
    }

    /** The SDK as a user configures it for a base URL behind the cluster's ingress. */
    static OpenAIClient sdk(String apiKey) {
        return OpenAIOkHttpClient.builder().baseUrl("http://" + cluster.ingress + "/v1").apiKey(apiKey)
                .putHeader("Host", S2ApplySmolLm2IT.HOST).maxRetries(0).timeout(Duration.ofSeconds(120)).build();
    }

    static ChatCompletionCreateParams.Builder capital() {
        return ChatCompletionCreateParams.builder().model(MODEL).addUserMessage("Which city is the capital of France?")
                .temperature(0.0).maxCompletionTokens(24);
    }

    @Test
    @Order(1)
    void chatStreamedChatAndCompletionsThroughTheIngress() {
        ChatCompletion chat = client.chat().completions().create(capital().build());
        String answer = chat.choices().get(0).message().content().orElseThrow();
        assertThat(answer).containsIgnoringCase("Paris");
        assertThat(chat.usage().orElseThrow().completionTokens()).isPositive();

        StringBuilder streamed = new StringBuilder();
        int[] chunks = {0};
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(capital().build())) {
            stream.stream().forEach(c -> {
                chunks[0]++;
                c.choices().forEach(choice -> choice.delta().content().ifPresent(streamed::append));
            });
        }
        assertThat(streamed.toString()).as("greedy: streamed equals buffered").isEqualTo(answer);
        assertThat(chunks[0]).as("the stream arrives in pieces through the ingress").isGreaterThan(3);

        Completion completion = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .prompt("The capital of France is").maxTokens(8).temperature(0.0).build());
        assertThat(completion.choices().get(0).text()).isNotBlank();
    }

    @Test
    @Order(2)
    void aBadRequestIs400AndNoKeyIs401InOpenAisErrorFormat() {
        BadRequestException bad = catchThrowableOfType(BadRequestException.class,
                () -> client.completions().create(CompletionCreateParams.builder().model(MODEL).prompt("Hi")
                        .maxTokens(0).build()));
        assertThat(bad).isNotNull();
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.getMessage()).contains("max_tokens");

        OpenAIClient wrongKey = sdk("sk-not-the-key");
        try {
            UnauthorizedException denied = catchThrowableOfType(UnauthorizedException.class,
                    () -> wrongKey.chat().completions().create(capital().build()));
            assertThat(denied).isNotNull();
            assertThat(denied.statusCode()).isEqualTo(401);
        } finally {
            wrongKey.close();
        }
        Http.Reply noKey = Http.post("http://" + cluster.ingress, S2ApplySmolLm2IT.HOST, "/v1/chat/completions",
                "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", null);
        assertThat(noKey.status()).isEqualTo(401);
        assertThat(noKey.body()).contains("\"error\"");
    }

    @Test
    @Order(3)
    void benchThroughTheIngressAndStraightToTheWorker() {
        Duration length = Duration.ofSeconds(Long.getLong("gantry.e2e.bench.seconds", 60));
        List<String> pods = Llmd.of(cluster, S2ApplySmolLm2IT.NAME).readyPodIps();
        assertThat(pods).hasSize(1);
        // Unmeasured: the worker's JIT compiles the batched paths under this load first, so that
        // neither measured run pays for it.
        Bench.serve("warm-up", "http://" + pods.get(0) + ":8000", null, S2ApplySmolLm2IT.FIRST_KEY, 8,
                Duration.ofSeconds(15));
        JsonNode direct = Bench.serve("direct", "http://" + pods.get(0) + ":8000", null, S2ApplySmolLm2IT.FIRST_KEY,
                8, length);
        JsonNode ingress = Bench.serve("ingress", "http://" + cluster.ingress, S2ApplySmolLm2IT.HOST,
                S2ApplySmolLm2IT.FIRST_KEY, 8, length);
        Map<String, Object> figures = new LinkedHashMap<>();
        for (var run : List.of(Map.entry("direct", direct), Map.entry("ingress", ingress))) {
            JsonNode l = run.getValue();
            System.out.printf("e2e: bench %s: %d completed, %d failed, %.1f output tok/s, TTFT p50/p95/p99 %.0f/%.0f/%.0f ms,"
                            + " TPOT p50/p95/p99 %.1f/%.1f/%.1f ms, e2e p50/p95/p99 %.0f/%.0f/%.0f ms%n", run.getKey(),
                    l.path("completed").asInt(), l.path("failed").asInt(), l.path("output_throughput").asDouble(),
                    p(l, "ttft_ms", "p50"), p(l, "ttft_ms", "p95"), p(l, "ttft_ms", "p99"),
                    p(l, "tpot_ms", "p50"), p(l, "tpot_ms", "p95"), p(l, "tpot_ms", "p99"),
                    p(l, "e2e_ms", "p50"), p(l, "e2e_ms", "p95"), p(l, "e2e_ms", "p99"));
            figures.put(run.getKey(), l);
        }
        Figures.record("bench_c8", figures);
        for (var run : List.of(Map.entry("direct", direct), Map.entry("ingress", ingress))) {
            JsonNode l = run.getValue();
            // The report's errors (kind, HTTP status, the first message of each), so that a
            // failure here says what went wrong without the bench's full output.
            assertThat(l.path("failed").asInt()).as("failed requests, %s: %s", run.getKey(), l.path("errors"))
                    .isZero();
            assertThat(l.path("completed").asInt()).isPositive();
        }
    }

    private static double p(JsonNode level, String metric, String q) {
        return level.path(metric).path(q).asDouble();
    }
}
