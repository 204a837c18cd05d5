package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The API as OpenAI's own Java client sees it, on stories260K: completions buffered and
 * streamed, stop strings, the model list, and errors arriving as the client's exceptions.
 */
@QuarkusTest
class OpenAiApiIT {
    private static final String MODEL = "stories260K";
    /** What stories260K writes greedily after "Once upon a time" (its README's greedy text). */
    private static final String GREEDY_START = ", there was a little girl named Lily.";

    @TestHTTPResource("/")
    URL root;

    @Inject
    MeterRegistry registry;

    private OpenAIClient client;

    @BeforeEach
    void connect() throws Exception {
        ApiTestSupport.awaitReady(root.toURI(), Duration.ofMinutes(2));
        client = OpenAIOkHttpClient.builder().baseUrl(root.toURI().resolve("/v1").toString()).apiKey("unused")
                .maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    private static CompletionCreateParams.Builder greedy(int maxTokens) {
        return CompletionCreateParams.builder().model(MODEL).prompt("Once upon a time").maxTokens(maxTokens)
                .temperature(0.0);
    }

    @Test
    void modelsListsTheServedModel() {
        List<Model> models = client.models().list().data();
        assertThat(models).hasSize(1);
        Model m = models.get(0);
        assertThat(m.id()).isEqualTo(MODEL);
        assertThat(m.ownedBy()).isEqualTo("gantry");
        assertThat(m._additionalProperties().get("max_model_len")).isEqualTo(JsonValue.from(2048));
    }

    @Test
    void greedyCompletion() {
        Completion c = client.completions().create(greedy(20).build());
        assertThat(c.id()).startsWith("cmpl-");
        assertThat(c.model()).isEqualTo(MODEL);
        CompletionChoice choice = c.choices().get(0);
        assertThat(choice.text()).startsWith(GREEDY_START);
        assertThat(choice.finishReason()).isEqualTo(CompletionChoice.FinishReason.LENGTH);
        assertThat(choice.index()).isZero();
        var usage = c.usage().orElseThrow();
        assertThat(usage.completionTokens()).isEqualTo(20);
        assertThat(usage.promptTokens()).isEqualTo(5); // BOS + 4 pieces
        assertThat(usage.totalTokens()).isEqualTo(25);
    }

    @Test
    void streamedTextEqualsTheBufferedText() {
        String buffered = client.completions().create(greedy(40).build()).choices().get(0).text();
        StringBuilder streamed = new StringBuilder();
        List<String> finishReasons = new ArrayList<>();
        List<Completion> usageChunks = new ArrayList<>();
        int[] chunks = {0};
        try (StreamResponse<Completion> stream = client.completions().createStreaming(greedy(40)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunk -> {
                chunks[0]++;
                assertThat(chunk.id()).startsWith("cmpl-");
                if (chunk.choices().isEmpty()) {
                    usageChunks.add(chunk);
                    return;
                }
                CompletionChoice choice = chunk.choices().get(0);
                streamed.append(choice.text());
                if (!choice._finishReason().isNull() && !choice._finishReason().isMissing()) {
                    finishReasons.add(choice.finishReason().asString());
                }
            });
        }
        assertThat(streamed.toString()).isEqualTo(buffered);
        assertThat(chunks[0]).isGreaterThan(10); // one event per engine output, not one blob
        assertThat(finishReasons).containsExactly("length");
        assertThat(usageChunks).hasSize(1);
        assertThat(usageChunks.get(0).usage().orElseThrow().completionTokens()).isEqualTo(40);
    }

    @Test
    void echoStartsTheTextWithThePromptBufferedAndStreamed() {
        String plain = client.completions().create(greedy(12).build()).choices().get(0).text();
        Completion echoed = client.completions().create(greedy(12).echo(true).build());
        assertThat(echoed.choices().get(0).text()).isEqualTo("Once upon a time" + plain);
        assertThat(echoed.usage().orElseThrow().completionTokens()).isEqualTo(12);

        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(greedy(12).echo(true).build())) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(c -> streamed.append(c.text())));
        }
        assertThat(streamed.toString()).isEqualTo("Once upon a time" + plain);

        // A prompt of token ids is echoed as the text those ids read (BOS, a control token, has none).
        Completion ids = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .prompt(CompletionCreateParams.Prompt.ofArrayOfTokens(List.of(1L, 403L, 407L))).maxTokens(3)
                .temperature(0.0).echo(true).build());
        assertThat(ids.choices().get(0).text()).isNotBlank().doesNotContain("<s>");
    }

    @Test
    void stopStringEndsTheTextBeforeIt() {
        Completion c = client.completions().create(greedy(40).stop("Lily").build());
        CompletionChoice choice = c.choices().get(0);
        assertThat(choice.text()).isEqualTo(", there was a little girl named ");
        assertThat(choice.finishReason()).isEqualTo(CompletionChoice.FinishReason.STOP);

        Completion listed = client.completions().create(greedy(40)
                .stop(CompletionCreateParams.Stop.ofStrings(List.of("zebra", " girl"))).build());
        assertThat(listed.choices().get(0).text()).isEqualTo(", there was a little");
    }

    @Test
    void vllmExtrasAndSeedsAreHonoured() {
        // ignore_eos and min_tokens are vLLM's; the SDK sends them as extra body properties.
        Completion c = client.completions().create(greedy(30).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                .putAdditionalBodyProperty("min_tokens", JsonValue.from(30)).build());
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(30);

        CompletionCreateParams seeded = CompletionCreateParams.builder().model(MODEL).prompt("Once upon a time")
                .maxTokens(30).temperature(1.0).seed(42L).build();
        assertThat(client.completions().create(seeded).choices().get(0).text())
                .isEqualTo(client.completions().create(seeded).choices().get(0).text());
    }

    @Test
    void errorsArriveAsTheClientsExceptions() {
        BadRequestException zero = catchThrowableOfType(BadRequestException.class,
                () -> client.completions().create(greedy(1).maxTokens(0).build()));
        assertThat(zero.statusCode()).isEqualTo(400);
        assertThat(zero.param()).contains("max_tokens");
        assertThat(zero.getMessage()).contains("max_tokens must be at least 1");

        BadRequestException n = catchThrowableOfType(BadRequestException.class,
                () -> client.completions().create(greedy(5).n(65).build()));
        assertThat(n.param()).contains("n");
        assertThat(n.getMessage()).contains("n must be between 1 and 64");

        BadRequestException tooLong = catchThrowableOfType(BadRequestException.class,
                () -> client.completions().create(greedy(5000).build()));
        assertThat(tooLong.code()).contains("context_length_exceeded");
        assertThat(tooLong.getMessage()).contains("This model's maximum context length is 2048 tokens. However, you"
                + " requested 5005 tokens (5 in the prompt, 5000 in the completion).");

        NotFoundException unknown = catchThrowableOfType(NotFoundException.class,
                () -> client.completions().create(greedy(5).model("gpt-4o").build()));
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.getMessage()).contains("The model `gpt-4o` does not exist.");
        assertThat(unknown.code()).contains("model_not_found");

        assertThat(rejected("model_not_found")).isPositive();
        assertThat(rejected("context_length")).isPositive();
    }

    @Test
    void prometheusShowsVllmNamesWithColons() throws Exception {
        client.completions().create(greedy(3).build());
        String metrics = ApiTestSupport.get(root.toURI().resolve("/metrics")).body();
        assertThat(metrics).contains("vllm:num_requests_running{", "vllm:generation_tokens_total{",
                "vllm:time_to_first_token_seconds_bucket{", "model_name=\"stories260K\"");
    }

    @Test
    void aClientThatHangsUpIsCancelledInTheEngine() throws Exception {
        double abortsBefore = aborts();
        URI uri = root.toURI().resolve("/v1/completions");
        HttpRequest request = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"stories260K\", \"prompt\": \"Once\","
                        + " \"max_tokens\": 2000, \"ignore_eos\": true, \"stream\": true}")).build();
        HttpResponse<InputStream> response = ApiTestSupport.HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        try (InputStream body = response.body()) {
            String first = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8)).readLine();
            assertThat(first).startsWith("data: {");
        } // closing the stream before its end closes the connection
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (aborts() == abortsBefore && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(aborts()).as("vllm:request_success{finished_reason=abort}").isEqualTo(abortsBefore + 1);
    }

    private double aborts() {
        return Optional.ofNullable(registry.find("vllm:request_success").tag("finished_reason", "abort").counter())
                .map(Counter::count).orElse(0.0);
    }

    private double rejected(String reason) {
        return Optional.ofNullable(registry.find(ErrorResponder.REJECTED_METRIC).tag("reason", reason).counter())
                .map(Counter::count).orElse(0.0);
    }
}
