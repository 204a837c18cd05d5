package dev.gantry.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The OpenAI-compatible API a run measures: where requests go, what they carry, where the text is. */
public enum Endpoint {
    /** {@code /v1/completions}: the prompt as given, no chat template; text in {@code choices[0].text}. */
    COMPLETIONS("completions", "/v1/completions") {
        @Override
        void putPrompt(ObjectNode body, RequestSpec request) {
            body.put("prompt", request.asPrompt());
        }

        @Override
        String textOf(JsonNode choice) {
            return choice.path("text").asText("");
        }
    },
    /**
     * {@code /v1/chat/completions}: the request's messages (one user message for the single-prompt
     * workloads), so the server's chat template adds a few tokens; text in {@code choices[0].delta.content}, or in the reasoning fields some
     * servers use for thinking models (those tokens are generated all the same).
     */
    CHAT("chat", "/v1/chat/completions") {
        @Override
        void putPrompt(ObjectNode body, RequestSpec request) {
            var messages = body.putArray("messages");
            for (RequestSpec.Message m : request.messages()) {
                messages.addObject().put("role", m.role()).put("content", m.content());
            }
        }

        @Override
        String textOf(JsonNode choice) {
            JsonNode delta = choice.path("delta");
            for (String field : new String[] {"content", "reasoning_content", "reasoning"}) {
                String text = delta.path(field).asText("");
                if (!text.isEmpty()) {
                    return text;
                }
            }
            return "";
        }
    };

    private final String optionName;
    private final String path;

    Endpoint(String optionName, String path) {
        this.optionName = optionName;
        this.path = path;
    }

    /** The value {@code --endpoint} takes for this API. */
    public String optionName() {
        return optionName;
    }

    /** The path below the server's base URL, e.g. {@code /v1/completions}. */
    public String path() {
        return path;
    }

    /** Parses an {@code --endpoint} value; the error lists the accepted ones. */
    public static Endpoint fromOption(String name) {
        for (Endpoint e : values()) {
            if (e.optionName.equalsIgnoreCase(name)) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown endpoint '" + name + "': use completions or chat");
    }

    /**
     * The request body for a fixed-length, streamed, greedy generation: exactly the request's
     * {@code maxTokens} tokens are asked for ({@code ignore_eos} and {@code min_tokens}, which vLLM
     * and Gantry honour, keep the model from stopping early), and the final chunk carries the
     * server's token counts ({@code include_usage}).
     *
     * @param extra fields merged over the body last (a server's own options), or null
     */
    public ObjectNode requestBody(String model, RequestSpec request, ObjectNode extra) {
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.put("model", model);
        putPrompt(body, request);
        body.put("max_tokens", request.maxTokens());
        body.put("min_tokens", request.maxTokens());
        body.put("ignore_eos", true);
        body.put("temperature", 0);
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        if (extra != null) {
            body.setAll(extra);
        }
        return body;
    }

    /**
     * The generated text one streamed chunk carries, empty when it carries none (the role-only
     * first chunk of a chat stream, the usage-only last chunk).
     */
    public String generatedText(JsonNode chunk) {
        JsonNode choices = chunk.path("choices");
        if (!choices.isArray() || choices.isEmpty()) {
            return "";
        }
        return textOf(choices.get(0));
    }

    abstract void putPrompt(ObjectNode body, RequestSpec request);

    abstract String textOf(JsonNode choice);
}
