package dev.gantry.worker.api;

import dev.gantry.worker.api.tools.ToolSettings;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import java.util.List;

/**
 * A {@code /v1/completions} or {@code /v1/chat/completions} request, parsed and type-checked but
 * not yet tokenized (that needs the model).
 *
 * @param model        the {@code model} field, or null when the client left it out
 * @param params       sampling and stop settings; range checks against the vocabulary come later
 * @param includeUsage {@code stream_options.include_usage}: end the stream with a usage chunk
 * @param echo         completions' {@code echo}: the response's text starts with the prompt's
 * @param n            choices to return
 * @param bestOf       completions' {@code best_of}: sequences to generate, of which the n with the
 *                     highest log-probability are returned (at least n)
 * @param logprobs     top log-probabilities per token (completions' {@code logprobs}, chat's
 *                     {@code top_logprobs} when {@code logprobs} is true), -1 for none; with echo on
 *                     completions the prompt's tokens get them too
 * @param constraint   what the output must match (response_format, guided_*), or null
 * @param tools        chat's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}; null
 *                     when the request gives no tools
 */
public record GenerationRequest(Endpoint endpoint, String model, Prompt prompt, SamplingParams params, boolean stream,
        boolean includeUsage, boolean echo, int n, int bestOf, int logprobs, StructuredOutputs.Constraint constraint,
        ToolSettings tools) {

    /** The most choices ({@code n}, {@code best_of}) one request may ask for. */
    public static final int MAX_CHOICES = 64;

    /** A request for one choice without log-probabilities, constraints or tools. */
    public GenerationRequest(Endpoint endpoint, String model, Prompt prompt, SamplingParams params, boolean stream,
            boolean includeUsage, boolean echo) {
        this(endpoint, model, prompt, params, stream, includeUsage, echo, 1, 1, -1, null, null);
    }

    /** The two generating endpoints: their paths, id prefixes and {@code object} values. */
    public enum Endpoint {
        COMPLETIONS("/v1/completions", "cmpl-", "text_completion", "text_completion"),
        CHAT("/v1/chat/completions", "chatcmpl-", "chat.completion", "chat.completion.chunk");

        private final String path;
        private final String idPrefix;
        private final String object;
        private final String chunkObject;

        Endpoint(String path, String idPrefix, String object, String chunkObject) {
            this.path = path;
            this.idPrefix = idPrefix;
            this.object = object;
            this.chunkObject = chunkObject;
        }

        public String path() {
            return path;
        }

        public String idPrefix() {
            return idPrefix;
        }

        public String object() {
            return object;
        }

        public String chunkObject() {
            return chunkObject;
        }
    }

    /** What the model is to continue. */
    public sealed interface Prompt {
        /** A completions prompt given as text. */
        record Text(String text) implements Prompt {}

        /** A completions prompt given as token ids, used as they are (no BOS added). */
        record Tokens(int[] ids) implements Prompt {}

        /** A conversation, rendered through the model's chat template. */
        record Chat(List<ChatMessage> messages) implements Prompt {}
    }
}
