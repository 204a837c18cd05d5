package dev.gantry.worker.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.api.GenerationRequest.Endpoint;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What becomes of every field a generating request may carry: a field is honoured, accepted only
 * with the value that asks for nothing (such as {@code n: 1}), or refused with a 400 that names
 * it. Nothing is ignored: a client that asks for JSON output, a tool call or log-probabilities
 * and cannot have them is told so, instead of getting free text it takes for what it asked.
 * Fields of no API are refused as OpenAI refuses them ("Unrecognized request argument").
 *
 * <p>{@link RequestParser} reads the honoured fields; this class only decides which may pass.
 */
final class RequestFields {

    /** Read by {@link RequestParser} on both endpoints (the OpenAI fields and vLLM's sampling extras). */
    private static final Set<String> HONOURED = Set.of("model", "stream", "stream_options", "max_tokens",
            "temperature", "top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty", "repetition_penalty",
            "seed", "min_tokens", "ignore_eos", "stop", "stop_token_ids", "logit_bias", "skip_special_tokens",
            // Identify the end user or group requests for a provider's own monitoring and cache
            // routing; they ask nothing of the output (the prefix cache needs no key to hit).
            "user", "safety_identifier", "prompt_cache_key", "n", "logprobs",
            // Structured outputs (StructuredOutputs): OpenAI's and vLLM's ways to ask for them.
            "response_format", "guided_json", "guided_regex", "guided_choice", "guided_grammar");
    private static final Set<String> HONOURED_CHAT = Set.of("messages", "max_completion_tokens", "top_logprobs",
            "tools", "tool_choice", "parallel_tool_calls");
    private static final Set<String> HONOURED_COMPLETIONS = Set.of("prompt", "echo", "best_of");

    /** Accepted only with the value that asks for nothing beyond what the server does anyway. */
    private record NoOp(Predicate<JsonNode> accepts, String refusal) {}

    private static final Map<String, NoOp> NO_OP = Map.of(
            "store", new NoOp(v -> v.isBoolean() && !v.asBoolean(), "store must be false: this server stores no completions"),
            "metadata", new NoOp(v -> v.isObject() && v.isEmpty(),
                    "metadata is for stored completions, and this server stores none (store must be false)"),
            "modalities", new NoOp(v -> v.isArray() && v.size() == 1 && "text".equals(v.get(0).asText()),
                    "modalities must be [\"text\"]: this server writes text only"),
            "service_tier", new NoOp(v -> v.isTextual() && Set.of("auto", "default").contains(v.asText()),
                    "service_tier must be \"auto\" or \"default\": this server has one tier"));
    private static final Map<String, NoOp> NO_OP_CHAT = Map.of();
    private static final Map<String, NoOp> NO_OP_COMPLETIONS = Map.of(
            "suffix", new NoOp(v -> v.isTextual() && v.asText().isEmpty(), "suffix is not supported"));

    /**
     * Fields of OpenAI's or vLLM's API that this server does not implement (yet); those of one
     * endpoint's no-op list are refused here on the other (vLLM's chat takes echo and best_of).
     */
    private static final Set<String> UNSUPPORTED = Set.of("functions",
            "function_call", "audio", "prediction", "reasoning_effort", "verbosity", "web_search_options",
            "moderation", "prompt_cache_retention", "prompt_cache_options", "guided_decoding_backend", "guided_whitespace_pattern",
            "structured_outputs", "use_beam_search", "length_penalty", "include_stop_str_in_output",
            "prompt_logprobs", "allowed_token_ids", "bad_words", "logits_processors", "truncate_prompt_tokens",
            "chat_template", "chat_template_kwargs", "add_generation_prompt", "continue_final_message",
            "documents", "add_special_tokens", "spaces_between_special_tokens", "priority");

    private RequestFields() {}

    /**
     * Throws a 400 naming the first field of {@code body} that this server would not honour.
     * A JSON {@code null} is the same as leaving the field out.
     */
    static void check(Endpoint endpoint, JsonNode body) {
        boolean chat = endpoint == Endpoint.CHAT;
        for (Map.Entry<String, JsonNode> e : body.properties()) {
            String name = e.getKey();
            JsonNode value = e.getValue();
            if (value == null || value.isNull() || HONOURED.contains(name)
                    || (chat ? HONOURED_CHAT : HONOURED_COMPLETIONS).contains(name)) {
                continue;
            }
            NoOp noOp = NO_OP.getOrDefault(name, (chat ? NO_OP_CHAT : NO_OP_COMPLETIONS).get(name));
            if (noOp != null) {
                if (!noOp.accepts().test(value)) {
                    throw ApiException.badRequest(name, noOp.refusal() + ", got " + RequestParser.describe(value) + ".");
                }
                continue;
            }
            if (UNSUPPORTED.contains(name) || HONOURED_CHAT.contains(name) || HONOURED_COMPLETIONS.contains(name)) {
                throw ApiException.badRequest(name, name + " is not supported by this server"
                        + (UNSUPPORTED.contains(name) ? " yet" : " on " + endpoint.path()) + ".");
            }
            throw ApiException.badRequest(name, "Unrecognized request argument supplied: " + name + ".");
        }
        JsonNode options = body.get("stream_options");
        if (options != null && options.isObject()) {
            for (Map.Entry<String, JsonNode> o : options.properties()) {
                if (!o.getKey().equals("include_usage") && !o.getValue().isNull()) {
                    throw ApiException.badRequest("stream_options", "stream_options." + o.getKey() + " is not supported.");
                }
            }
        }
    }

    private static boolean isNumber(JsonNode v, int value) {
        return v.isNumber() && v.doubleValue() == value;
    }
}
