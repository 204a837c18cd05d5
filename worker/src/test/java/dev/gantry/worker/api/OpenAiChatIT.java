package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.FunctionDefinition;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.gantry.worker.testing.TestModels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Chat completions through SmolLM2-135M-Instruct's own chat template, with OpenAI's Java client. */
@QuarkusTest
@TestProfile(OpenAiChatIT.SmolLm2.class)
class OpenAiChatIT {

    /** Serves SmolLM2-135M-Instruct under a name of our choosing. */
    public static class SmolLm2 implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("gantry.model", TestModels.smolLm2().toString(), "gantry.served-model-name", "smollm2",
                    "gantry.max-model-len", "2048");
        }
    }

    @TestHTTPResource("/")
    URL root;

    private OpenAIClient client;

    @BeforeEach
    void connect() throws Exception {
        ApiTestSupport.awaitReady(root.toURI(), Duration.ofMinutes(3));
        client = OpenAIOkHttpClient.builder().baseUrl(root.toURI().resolve("/v1").toString()).apiKey("unused")
                .maxRetries(0).timeout(Duration.ofSeconds(120)).build();
    }

    private static ChatCompletionCreateParams.Builder capitalOfFrance() {
        // Worded so that SmolLM2-135M Q4_1 answers "Paris" with float and with 8-bit activations alike:
        // with llama.cpp's 8-bit activations (--activations q8) it, and llama.cpp itself on the same
        // file, answer "What is the capital of France?" with "L'Étoile, ..." and "Which city is the
        // capital of France?" with "Le Grand Château, ...".
        return ChatCompletionCreateParams.builder().model("smollm2").addUserMessage("Name the capital of France.")
                .temperature(0.0).maxCompletionTokens(30);
    }

    @Test
    void answersAQuestion() {
        ChatCompletion c = client.chat().completions().create(capitalOfFrance().build());
        assertThat(c.id()).startsWith("chatcmpl-");
        assertThat(c.model()).isEqualTo("smollm2");
        ChatCompletion.Choice choice = c.choices().get(0);
        assertThat(choice.message().content()).hasValueSatisfying(text -> assertThat(text).contains("Paris"));
        assertThat(choice.finishReason()).isIn(ChatCompletion.Choice.FinishReason.STOP, ChatCompletion.Choice.FinishReason.LENGTH);
        assertThat(c.usage().orElseThrow().promptTokens()).isGreaterThan(10); // the template's system turn and markers
    }

    @Test
    void logprobsAndSeveralChoicesThroughTheJavaSdk() {
        ChatCompletion c = client.chat().completions().create(capitalOfFrance().logprobs(true).topLogprobs(2).n(2).build());
        assertThat(c.choices()).hasSize(2);
        assertThat(c.choices().get(0).index()).isZero();
        assertThat(c.choices().get(1).index()).isEqualTo(1);
        // Greedy: both choices are the same answer, with the same log-probabilities.
        assertThat(c.choices().get(1).message().content()).isEqualTo(c.choices().get(0).message().content());
        var entries = c.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
        assertThat(entries).isNotEmpty();
        for (var e : entries) {
            assertThat(e.topLogprobs()).hasSize(2);
            assertThat(e.logprob()).isEqualTo(e.topLogprobs().get(0).logprob());
            assertThat(e.topLogprobs().get(1).logprob()).isLessThanOrEqualTo(e.logprob());
        }
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(2L * entries.size());
    }

    /** Embeddings of a batch through the Java SDK (its default asks for base64 and decodes it). */
    @Test
    void embeddingsOfABatchThroughTheJavaSdk() {
        var r = client.embeddings().create(com.openai.models.embeddings.EmbeddingCreateParams.builder().model("smollm2")
                .inputOfArrayOfStrings(List.of("Paris is in France.", "Paris is in France.", "Bananas are yellow."))
                .build());
        assertThat(r.data()).hasSize(3);
        List<List<Float>> v = r.data().stream().map(com.openai.models.embeddings.Embedding::embedding).toList();
        assertThat(v.get(0)).hasSize(576);
        double same = 0;
        double other = 0;
        double norm = 0;
        for (int d = 0; d < 576; d++) {
            norm += v.get(0).get(d) * v.get(0).get(d);
            same += v.get(0).get(d) * v.get(1).get(d);
            other += v.get(0).get(d) * v.get(2).get(d);
        }
        assertThat(norm).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-4));
        assertThat(same).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-4));
        assertThat(other).isLessThan(same);
        assertThat(r.usage().promptTokens()).isPositive();
    }

    @Test
    void streamedChatMatchesTheBufferedAnswer() {
        String buffered = client.chat().completions().create(capitalOfFrance().build()).choices().get(0).message()
                .content().orElseThrow();
        StringBuilder streamed = new StringBuilder();
        List<String> roles = new ArrayList<>();
        List<String> finishReasons = new ArrayList<>();
        List<ChatCompletionChunk> usage = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(capitalOfFrance()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunk -> {
                assertThat(chunk.id()).startsWith("chatcmpl-");
                if (chunk.choices().isEmpty()) {
                    usage.add(chunk);
                    return;
                }
                ChatCompletionChunk.Choice choice = chunk.choices().get(0);
                choice.delta().role().ifPresent(r -> roles.add(r.asString()));
                choice.delta().content().ifPresent(streamed::append);
                choice.finishReason().ifPresent(f -> finishReasons.add(f.asString()));
            });
        }
        assertThat(roles).containsExactly("assistant"); // the first chunk only
        assertThat(streamed.toString()).isEqualTo(buffered);
        assertThat(finishReasons).hasSize(1);
        assertThat(usage).hasSize(1);
        assertThat(usage.get(0).usage().orElseThrow().totalTokens()).isPositive();
    }

    @Test
    void textPartsAreJoinedAndOtherPartsRefused() {
        ChatCompletion parts = client.chat().completions().create(ChatCompletionCreateParams.builder().model("smollm2")
                .addUserMessageOfArrayOfContentParts(List.of(
                        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("What is the capital").build()),
                        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("of France?").build())))
                .temperature(0.0).maxCompletionTokens(30).build());
        assertThat(parts.choices().get(0).message().content()).hasValueSatisfying(t -> assertThat(t).contains("Paris"));

        BadRequestException image = catchThrowableOfType(BadRequestException.class, () -> client.chat().completions()
                .create(ChatCompletionCreateParams.builder().model("smollm2").addUserMessageOfArrayOfContentParts(List.of(
                        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder().imageUrl(
                                ChatCompletionContentPartImage.ImageUrl.builder().url("https://example.com/a.png").build())
                                .build()))).build()));
        assertThat(image.getMessage()).contains("has type 'image_url': only text parts are supported");
        assertThat(image.param()).contains("messages");
    }

    /**
     * JSON output and a tool call through the Java client; what it asks for and this server does
     * not do is refused, naming it, never ignored.
     */
    @Test
    void jsonOutputAndToolCallsThroughTheJavaSdk() throws Exception {
        var schema = com.openai.models.ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                .putAdditionalProperty("type", com.openai.core.JsonValue.from("object"))
                .putAdditionalProperty("properties", com.openai.core.JsonValue.from(Map.of("capital",
                        Map.of("type", "string", "maxLength", 20))))
                .putAdditionalProperty("required", com.openai.core.JsonValue.from(List.of("capital")))
                .build();
        ChatCompletion json = client.chat().completions().create(capitalOfFrance().maxCompletionTokens(100)
                .responseFormat(com.openai.models.ResponseFormatJsonSchema.builder().jsonSchema(
                        com.openai.models.ResponseFormatJsonSchema.JsonSchema.builder().name("capital").schema(schema)
                                .strict(true).build()).build()).build());
        String content = json.choices().get(0).message().content().orElseThrow();
        var answer = new com.fasterxml.jackson.databind.ObjectMapper().readTree(content);
        assertThat(answer.path("capital").isTextual()).as(content).isTrue();
        assertThat(json.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);

        // A named tool choice through the Java SDK: a call to that function, its arguments valid for its schema.
        var parameters = com.openai.models.FunctionParameters.builder()
                .putAdditionalProperty("type", com.openai.core.JsonValue.from("object"))
                .putAdditionalProperty("properties", com.openai.core.JsonValue.from(Map.of("country",
                        Map.of("type", "string", "maxLength", 30))))
                .putAdditionalProperty("required", com.openai.core.JsonValue.from(List.of("country")))
                .build();
        ChatCompletion called = client.chat().completions().create(capitalOfFrance().maxCompletionTokens(100)
                .addTool(ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder().name("capital")
                        .description("The capital of a country.").parameters(parameters).build()).build())
                .toolChoice(com.openai.models.chat.completions.ChatCompletionNamedToolChoice.builder().function(
                        com.openai.models.chat.completions.ChatCompletionNamedToolChoice.Function.builder().name("capital")
                                .build()).build())
                .build());
        ChatCompletion.Choice choice = called.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        var call = choice.message().toolCalls().orElseThrow().get(0).asFunction();
        assertThat(call.id()).startsWith("call_");
        assertThat(call.function().name()).isEqualTo("capital");
        var arguments = new com.fasterxml.jackson.databind.ObjectMapper().readTree(call.function().arguments());
        assertThat(arguments.path("country").isTextual()).as(call.function().arguments()).isTrue();

        BadRequestException logprobs = catchThrowableOfType(BadRequestException.class, () -> client.chat().completions()
                .create(capitalOfFrance().topLogprobs(3).build()));
        assertThat(logprobs.param()).contains("top_logprobs");
        assertThat(logprobs.getMessage()).contains("top_logprobs requires logprobs to be true");
    }

    /** vLLM's /tokenize renders messages through the same template: its count is the completion's prompt_tokens. */
    @Test
    void tokenizeCountsTheMessagesAsGenerationDoes() throws Exception {
        String messages = "[{\"role\": \"system\", \"content\": \"Be brief.\"},"
                + " {\"role\": \"user\", \"content\": \"What is the capital of France?\"}]";
        java.net.http.HttpResponse<String> t = ApiTestSupport.post(root.toURI().resolve("/tokenize"),
                "{\"model\": \"smollm2\", \"messages\": " + messages + "}");
        assertThat(t.statusCode()).as(t.body()).isEqualTo(200);
        int count = ApiTestSupport.json(t.body()).get("count").asInt();
        java.net.http.HttpResponse<String> c = ApiTestSupport.post(root.toURI().resolve("/v1/chat/completions"),
                "{\"model\": \"smollm2\", \"messages\": " + messages + ", \"max_tokens\": 1}");
        assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
        assertThat(ApiTestSupport.json(c.body()).at("/usage/prompt_tokens").asInt()).isEqualTo(count);
        java.net.http.HttpResponse<String> open = ApiTestSupport.post(root.toURI().resolve("/tokenize"),
                "{\"messages\": " + messages + ", \"add_generation_prompt\": false}");
        assertThat(ApiTestSupport.json(open.body()).get("count").asInt()).as("without the assistant's opening")
                .isLessThan(count);
    }
}
