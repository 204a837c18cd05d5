package dev.gantry.worker.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.List;

/**
 * The JSON bodies this worker sends, shaped exactly like OpenAI's (and vLLM's) so that OpenAI
 * client libraries read them. Record components are camelCase; {@link #JSON} writes them in
 * snake_case. Fields OpenAI always sends are sent even when null ({@code logprobs}).
 */
public final class OpenAiDtos {

    /** Writes and reads every body of the API. */
    public static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            // "{} junk" is not a JSON object: refuse it rather than read the first value.
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private OpenAiDtos() {}

    /** Serializes a body; these records always serialize, so a failure is a bug. */
    public static String write(Object body) {
        try {
            return JSON.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + body.getClass().getSimpleName(), e);
        }
    }

    public record ErrorResponse(ErrorDetail error) {}

    public record ErrorDetail(String message, String type, String param, String code) {}

    public record Usage(int promptTokens, int completionTokens, int totalTokens) {
        public static Usage of(int prompt, int completion) {
            return new Usage(prompt, completion, prompt + completion);
        }
    }

    // --- /v1/completions

    /** {@code object: "text_completion"}, also for streamed chunks (as OpenAI does). */
    public record Completion(String id, String object, long created, String model, List<CompletionChoice> choices,
            @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {}

    public record CompletionChoice(int index, String text, Object logprobs, String finishReason) {}

    // --- /v1/chat/completions

    public record ChatCompletion(String id, String object, long created, String model, List<ChatChoice> choices,
            Usage usage) {}

    public record ChatChoice(int index, AssistantMessage message, Object logprobs, String finishReason) {}

    /** {@code tool_calls} only when the model called tools (its content is then null if it wrote nothing else). */
    public record AssistantMessage(String role, String content, Object refusal,
            @JsonInclude(JsonInclude.Include.NON_EMPTY) List<dev.gantry.worker.api.tools.ToolCall> toolCalls) {

        public AssistantMessage(String role, String content, Object refusal) {
            this(role, content, refusal, List.of());
        }
    }

    /** {@code object: "chat.completion.chunk"}. */
    public record ChatCompletionChunk(String id, String object, long created, String model, List<ChatChunkChoice> choices,
            @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {}

    public record ChatChunkChoice(int index, Delta delta, Object logprobs, String finishReason) {}

    /** A piece of the assistant's message; absent fields are left out, as OpenAI does. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content, List<dev.gantry.worker.api.tools.ToolCallDelta> toolCalls) {

        public Delta(String role, String content) {
            this(role, content, null);
        }
    }

    // --- log-probabilities

    /** Completions' {@code logprobs}: one entry per token (a prompt's first token has nulls). */
    public record CompletionLogprobs(List<String> tokens, List<Float> tokenLogprobs,
            List<java.util.Map<String, Float>> topLogprobs, List<Integer> textOffset) {}

    /** Chat's {@code logprobs}. */
    public record ChatLogprobs(List<ChatLogprob> content, Object refusal) {}

    public record ChatLogprob(String token, float logprob, List<Integer> bytes, List<TopLogprob> topLogprobs) {}

    public record TopLogprob(String token, float logprob, List<Integer> bytes) {}

    // --- /v1/models

    public record ModelList(String object, List<ModelCard> data) {}

    /** vLLM's model card: OpenAI's fields plus {@code max_model_len}. */
    public record ModelCard(String id, String object, long created, String ownedBy, String root, int maxModelLen) {}
}
