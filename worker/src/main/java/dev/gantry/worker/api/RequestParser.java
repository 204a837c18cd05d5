package dev.gantry.worker.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.api.GenerationRequest.Endpoint;
import dev.gantry.worker.api.GenerationRequest.Prompt;
import dev.gantry.worker.api.tools.ToolRequestParser;
import dev.gantry.worker.api.tools.ToolSettings;
import dev.gantry.worker.model.sample.InvalidSamplingParamsException;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads the JSON of a generating request into a {@link GenerationRequest}, field by field, so that
 * a wrong type or value becomes a 400 that names the field. No field is ignored: {@link
 * RequestFields} refuses, naming it, every field this server does not honour ({@code
 * response_format}, {@code tools}, {@code n > 1}, {@code logprobs}, a misspelt name), and the
 * same for the fields of a message. A JSON {@code null} is the same as leaving the field out.
 */
public final class RequestParser {

    private RequestParser() {}

    public static GenerationRequest parse(Endpoint endpoint, JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest(null, "The request body must be a JSON object, got "
                    + (body == null ? "nothing" : describe(body)) + ".");
        }
        String model = string(body, "model");
        Prompt prompt = endpoint == Endpoint.CHAT ? messages(body) : prompt(body);
        RequestFields.check(endpoint, body);
        string(body, "user"); // an identifier: nothing to act on, but it must be one
        string(body, "safety_identifier");
        string(body, "prompt_cache_key");
        boolean stream = Boolean.TRUE.equals(bool(body, "stream"));
        boolean includeUsage = false;
        JsonNode options = field(body, "stream_options");
        if (options != null) {
            if (!options.isObject()) {
                throw ApiException.badRequest("stream_options", "stream_options must be an object, got " + describe(options) + ".");
            }
            includeUsage = Boolean.TRUE.equals(bool(options, "include_usage", "stream_options.include_usage"));
        }
        boolean echo = endpoint == Endpoint.COMPLETIONS && Boolean.TRUE.equals(bool(body, "echo"));
        int n = choices(body, "n", 1);
        int bestOf = endpoint == Endpoint.COMPLETIONS ? choices(body, "best_of", n) : n;
        if (bestOf < n) {
            throw ApiException.badRequest("best_of", "best_of must be greater than or equal to n, got best_of="
                    + bestOf + " and n=" + n + ".");
        }
        if (stream && bestOf > n) {
            throw ApiException.badRequest("best_of", "best_of cannot be used with stream: the best sequences are"
                    + " known only when all have ended.");
        }
        int logprobs = logprobs(endpoint, body);
        return new GenerationRequest(endpoint, model, prompt, sampling(endpoint, body, echo), stream, includeUsage,
                echo, n, bestOf, logprobs, StructuredOutputs.parse(body), endpoint == Endpoint.CHAT ? tools(body) : null);
    }

    /** {@code tools}, {@code tool_choice}, {@code parallel_tool_calls}; null without tools. */
    static ToolSettings tools(JsonNode body) {
        return ToolRequestParser.parse(body);
    }

    private static int choices(JsonNode body, String name, int absent) {
        Integer v = integer(body, name);
        if (v == null) {
            return absent;
        }
        if (v < 1 || v > GenerationRequest.MAX_CHOICES) {
            throw ApiException.badRequest(name, name + " must be between 1 and " + GenerationRequest.MAX_CHOICES
                    + ", got " + v + ".");
        }
        return v;
    }

    /** Completions' integer {@code logprobs}; chat's boolean {@code logprobs} with {@code top_logprobs}. */
    private static int logprobs(Endpoint endpoint, JsonNode body) {
        int max = dev.gantry.worker.model.sample.Logprobs.MAX_TOP;
        if (endpoint == Endpoint.COMPLETIONS) {
            JsonNode v = field(body, "logprobs");
            if (v == null) {
                return -1;
            }
            if (!v.isIntegralNumber() || v.asInt() < 0 || v.asInt() > max || !v.canConvertToInt()) {
                throw ApiException.badRequest("logprobs", "logprobs must be an integer between 0 and " + max
                        + ", got " + describe(v) + ".");
            }
            return v.asInt();
        }
        boolean on = Boolean.TRUE.equals(bool(body, "logprobs"));
        Integer top = integer(body, "top_logprobs");
        if (top == null) {
            return on ? 0 : -1;
        }
        if (top < 0 || top > max) {
            throw ApiException.badRequest("top_logprobs", "top_logprobs must be between 0 and " + max + ", got " + top + ".");
        }
        if (!on && top > 0) {
            throw ApiException.badRequest("top_logprobs", "top_logprobs requires logprobs to be true.");
        }
        return on ? top : -1;
    }

    private static SamplingParams sampling(Endpoint endpoint, JsonNode body, boolean echo) {
        SamplingParams p = SamplingParams.defaults();
        // OpenAI's completions default to 16 tokens; chat to as many as the context allows.
        if (endpoint == Endpoint.CHAT) {
            p = p.withMaxTokens(null);
        }
        String maxTokensName = endpoint == Endpoint.CHAT && field(body, "max_completion_tokens") != null
                ? "max_completion_tokens" : "max_tokens";
        Integer maxTokens = integer(body, maxTokensName);
        if (maxTokens != null) {
            // 0 asks for the prompt alone, which only makes sense echoed (its log-probabilities).
            if (maxTokens < (echo ? 0 : 1)) {
                throw ApiException.badRequest(maxTokensName, maxTokensName + " must be at least " + (echo ? 0 : 1)
                        + ", got " + maxTokens + (echo ? "." : " (0 only with echo)."));
            }
            p = p.withMaxTokens(maxTokens);
        }
        Double d;
        if ((d = number(body, "temperature")) != null) {
            p = p.withTemperature(d);
        }
        if ((d = number(body, "top_p")) != null) {
            p = p.withTopP(d);
        }
        Integer i;
        if ((i = integer(body, "top_k")) != null) {
            p = p.withTopK(i);
        }
        if ((d = number(body, "min_p")) != null) {
            p = p.withMinP(d);
        }
        if ((d = number(body, "presence_penalty")) != null) {
            p = p.withPresencePenalty(d);
        }
        if ((d = number(body, "frequency_penalty")) != null) {
            p = p.withFrequencyPenalty(d);
        }
        if ((d = number(body, "repetition_penalty")) != null) {
            p = p.withRepetitionPenalty(d);
        }
        Long seed = longInteger(body, "seed");
        if (seed != null) {
            p = p.withSeed(seed);
        }
        if ((i = integer(body, "min_tokens")) != null) {
            p = p.withMinTokens(i);
        }
        Boolean ignoreEos = bool(body, "ignore_eos");
        if (ignoreEos != null) {
            p = p.withIgnoreEos(ignoreEos);
        }
        Boolean skipSpecial = bool(body, "skip_special_tokens");
        if (skipSpecial != null) {
            p = p.withSkipSpecialTokens(skipSpecial);
        }
        p = p.withStop(stop(body));
        p = p.withStopTokenIds(integers(body, "stop_token_ids"));
        p = p.withLogitBias(logitBias(body));
        try {
            p.validate();
        } catch (IllegalArgumentException e) {
            throw badParams(e);
        }
        return p;
    }

    /** A 400 for {@link SamplingParams#validate} failures, naming the field. */
    static ApiException badParams(IllegalArgumentException e) {
        String param = e instanceof InvalidSamplingParamsException ip ? ip.param() : null;
        return ApiException.badRequest(param, e.getMessage() + ".");
    }

    private static Prompt prompt(JsonNode body) {
        JsonNode prompt = field(body, "prompt");
        if (prompt == null) {
            throw ApiException.badRequest("prompt", "prompt is required.");
        }
        if (prompt.isTextual()) {
            return new Prompt.Text(prompt.asText());
        }
        if (!prompt.isArray()) {
            throw ApiException.badRequest("prompt", "prompt must be a string or an array of token ids, got "
                    + describe(prompt) + ".");
        }
        if (prompt.isEmpty()) {
            throw ApiException.badRequest("prompt", "prompt must not be an empty array.");
        }
        if (prompt.get(0).isTextual() || prompt.get(0).isArray()) {
            if (prompt.size() > 1) {
                throw ApiException.badRequest("prompt", "prompt holds " + prompt.size()
                        + " prompts: this server takes one prompt per request.");
            }
            JsonNode only = prompt.get(0);
            return only.isTextual() ? new Prompt.Text(only.asText()) : new Prompt.Tokens(tokenIds(only));
        }
        return new Prompt.Tokens(tokenIds(prompt));
    }

    private static int[] tokenIds(JsonNode array) {
        if (array.isEmpty()) {
            throw ApiException.badRequest("prompt", "prompt must not be an empty array of token ids.");
        }
        int[] ids = new int[array.size()];
        for (int k = 0; k < ids.length; k++) {
            JsonNode e = array.get(k);
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.intValue() < 0) {
                throw ApiException.badRequest("prompt", "prompt must be a string or an array of token ids"
                        + " (integers >= 0), got " + describe(e) + " at index " + k + ".");
            }
            ids[k] = e.intValue();
        }
        return ids;
    }

    static Prompt messages(JsonNode body) {
        JsonNode messages = field(body, "messages");
        if (messages == null) {
            throw ApiException.badRequest("messages", "messages is required.");
        }
        if (!messages.isArray() || messages.isEmpty()) {
            throw ApiException.badRequest("messages", "messages must be a non-empty array of messages, got "
                    + describe(messages) + ".");
        }
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (int k = 0; k < messages.size(); k++) {
            JsonNode m = messages.get(k);
            String where = "messages[" + k + "]";
            if (!m.isObject()) {
                throw ApiException.badRequest("messages", where + " must be an object, got " + describe(m) + ".");
            }
            JsonNode role = field(m, "role");
            if (role == null || !role.isTextual() || role.asText().isBlank()) {
                throw ApiException.badRequest("messages", where + ".role must be a non-empty string"
                        + (role == null ? "." : ", got " + describe(role) + "."));
            }
            if (role.asText().equals("function")) {
                throw ApiException.badRequest("messages", where + " has role 'function': that deprecated role is not"
                        + " supported, use 'tool' messages.");
            }
            for (Map.Entry<String, JsonNode> f : m.properties()) {
                if (!MESSAGE_FIELDS.contains(f.getKey()) && !f.getValue().isNull()) {
                    throw ApiException.badRequest("messages", where + "." + f.getKey() + " is not supported by this server yet.");
                }
            }
            out.add(message(m, role.asText(), where));
        }
        return new Prompt.Chat(out);
    }

    private static final Set<String> MESSAGE_FIELDS = Set.of("role", "content", "name", "tool_calls", "tool_call_id");

    /**
     * One message: an assistant's may carry {@code tool_calls} (its content is then optional), a
     * {@code tool} message answers one by {@code tool_call_id}. A missing content is "", as vLLM
     * hands it to templates; an empty {@code tool_calls} array is the same as none.
     */
    private static ChatMessage message(JsonNode m, String role, String where) {
        String name = null;
        JsonNode nameNode = field(m, "name");
        if (nameNode != null) {
            if (!nameNode.isTextual()) {
                throw ApiException.badRequest("messages", where + ".name must be a string, got " + describe(nameNode) + ".");
            }
            name = nameNode.asText();
        }
        List<ChatMessage.ToolCall> calls = List.of();
        JsonNode callsNode = field(m, "tool_calls");
        if (callsNode != null) {
            if (!role.equals("assistant")) {
                throw ApiException.badRequest("messages", where + ".tool_calls is only allowed on assistant messages.");
            }
            calls = toolCalls(callsNode, where + ".tool_calls");
        }
        String toolCallId = null;
        JsonNode idNode = field(m, "tool_call_id");
        if (role.equals("tool")) {
            if (idNode == null) {
                throw ApiException.badRequest("messages", "Missing required parameter: '" + where + ".tool_call_id'.");
            }
            if (!idNode.isTextual()) {
                throw ApiException.badRequest("messages", where + ".tool_call_id must be a string, got " + describe(idNode) + ".");
            }
            toolCallId = idNode.asText();
        } else if (idNode != null) {
            throw ApiException.badRequest("messages", where + ".tool_call_id is only allowed on tool messages.");
        }
        return new ChatMessage(role, content(field(m, "content"), where), name, calls, toolCallId);
    }

    private static List<ChatMessage.ToolCall> toolCalls(JsonNode calls, String where) {
        if (!calls.isArray()) {
            throw ApiException.badRequest("messages", where + " must be an array of tool calls, got " + describe(calls) + ".");
        }
        List<ChatMessage.ToolCall> out = new ArrayList<>(calls.size());
        for (int k = 0; k < calls.size(); k++) {
            JsonNode call = calls.get(k);
            String at = where + "[" + k + "]";
            if (!call.isObject()) {
                throw ApiException.badRequest("messages", at + " must be an object, got " + describe(call) + ".");
            }
            for (Map.Entry<String, JsonNode> f : call.properties()) {
                if (!Set.of("id", "type", "function").contains(f.getKey()) && !f.getValue().isNull()) {
                    throw ApiException.badRequest("messages", at + "." + f.getKey() + " is not supported.");
                }
            }
            String id = requiredString(call, "id", at);
            JsonNode type = field(call, "type");
            if (type != null && !(type.isTextual() && type.asText().equals("function"))) {
                throw ApiException.badRequest("messages", at + ".type must be 'function', got " + describe(type) + ".");
            }
            JsonNode function = field(call, "function");
            if (function == null || !function.isObject()) {
                throw ApiException.badRequest("messages", at + ".function must be an object with a name and arguments"
                        + (function == null ? "." : ", got " + describe(function) + "."));
            }
            String name = requiredString(function, "name", at + ".function");
            String arguments = requiredString(function, "arguments", at + ".function");
            out.add(new ChatMessage.ToolCall(id, name, arguments, argumentsValue(arguments)));
        }
        return out;
    }

    private static String requiredString(JsonNode object, String name, String where) {
        JsonNode n = field(object, name);
        if (n == null || !n.isTextual()) {
            throw ApiException.badRequest("messages", where + "." + name + " must be a string"
                    + (n == null ? "." : ", got " + describe(n) + "."));
        }
        return n.asText();
    }

    /**
     * What templates see of a call's arguments: the parsed JSON when they are JSON (as vLLM parses
     * them before rendering, so that {@code arguments | tojson} writes them once), else the text.
     */
    private static Object argumentsValue(String arguments) {
        try {
            return OpenAiDtos.JSON.readValue(arguments, Object.class);
        } catch (JsonProcessingException e) {
            return arguments;
        }
    }

    /** A message's text: a string, or text parts joined by newlines (as vLLM joins them). */
    private static String content(JsonNode content, String where) {
        if (content == null) {
            return "";
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (!content.isArray()) {
            throw ApiException.badRequest("messages", where + ".content must be a string or an array of"
                    + " {\"type\": \"text\", \"text\": ...} parts, got " + describe(content) + ".");
        }
        StringBuilder text = new StringBuilder();
        for (int k = 0; k < content.size(); k++) {
            JsonNode part = content.get(k);
            String partWhere = where + ".content[" + k + "]";
            JsonNode type = part.isObject() ? field(part, "type") : null;
            if (type == null || !type.isTextual()) {
                throw ApiException.badRequest("messages", partWhere + " must be an object with a \"type\".");
            }
            if (!type.asText().equals("text")) {
                throw ApiException.badRequest("messages", partWhere + " has type '" + type.asText()
                        + "': only text parts are supported.");
            }
            JsonNode partText = field(part, "text");
            if (partText == null || !partText.isTextual()) {
                throw ApiException.badRequest("messages", partWhere + ".text must be a string.");
            }
            if (!text.isEmpty()) {
                text.append('\n');
            }
            text.append(partText.asText());
        }
        return text.toString();
    }

    private static List<String> stop(JsonNode body) {
        JsonNode stop = field(body, "stop");
        if (stop == null) {
            return List.of();
        }
        if (stop.isTextual()) {
            return List.of(stop.asText());
        }
        if (!stop.isArray()) {
            throw ApiException.badRequest("stop", "stop must be a string or an array of strings, got " + describe(stop) + ".");
        }
        List<String> out = new ArrayList<>(stop.size());
        for (int k = 0; k < stop.size(); k++) {
            if (!stop.get(k).isTextual()) {
                throw ApiException.badRequest("stop", "stop must be a string or an array of strings, got "
                        + describe(stop.get(k)) + " at index " + k + ".");
            }
            out.add(stop.get(k).asText());
        }
        return out;
    }

    private static Map<Integer, Float> logitBias(JsonNode body) {
        JsonNode bias = field(body, "logit_bias");
        if (bias == null) {
            return Map.of();
        }
        if (!bias.isObject()) {
            throw ApiException.badRequest("logit_bias", "logit_bias must be an object mapping token ids to numbers, got "
                    + describe(bias) + ".");
        }
        Map<Integer, Float> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : bias.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().strip());
            } catch (NumberFormatException ex) {
                throw ApiException.badRequest("logit_bias", "logit_bias keys must be token ids, got '" + e.getKey() + "'.");
            }
            if (!e.getValue().isNumber()) {
                throw ApiException.badRequest("logit_bias", "logit_bias values must be numbers, got "
                        + describe(e.getValue()) + " for token " + e.getKey() + ".");
            }
            out.put(id, e.getValue().floatValue());
        }
        return out;
    }

    private static List<Integer> integers(JsonNode body, String name) {
        JsonNode array = field(body, name);
        if (array == null) {
            return List.of();
        }
        if (!array.isArray()) {
            throw ApiException.badRequest(name, name + " must be an array of integers, got " + describe(array) + ".");
        }
        List<Integer> out = new ArrayList<>(array.size());
        for (int k = 0; k < array.size(); k++) {
            JsonNode e = array.get(k);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw ApiException.badRequest(name, name + " must be an array of integers, got " + describe(e)
                        + " at index " + k + ".");
            }
            out.add(e.intValue());
        }
        return out;
    }

    // --- typed field access: each failure names the field and what it got

    static JsonNode field(JsonNode object, String name) {
        JsonNode n = object.get(name);
        return n == null || n.isNull() ? null : n;
    }

    static String string(JsonNode object, String name) {
        JsonNode n = field(object, name);
        if (n == null) {
            return null;
        }
        if (!n.isTextual()) {
            throw ApiException.badRequest(name, name + " must be a string, got " + describe(n) + ".");
        }
        return n.asText();
    }

    static Boolean bool(JsonNode object, String name) {
        return bool(object, name, name);
    }

    private static Boolean bool(JsonNode object, String name, String param) {
        JsonNode n = field(object, name);
        if (n == null) {
            return null;
        }
        if (!n.isBoolean()) {
            throw ApiException.badRequest(param, param + " must be a boolean, got " + describe(n) + ".");
        }
        return n.asBoolean();
    }

    private static Double number(JsonNode object, String name) {
        JsonNode n = field(object, name);
        if (n == null) {
            return null;
        }
        if (!n.isNumber()) {
            throw ApiException.badRequest(name, name + " must be a number, got " + describe(n) + ".");
        }
        return n.doubleValue();
    }

    private static Integer integer(JsonNode object, String name) {
        Long v = longInteger(object, name);
        if (v == null) {
            return null;
        }
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw ApiException.badRequest(name, name + " is out of range, got " + v + ".");
        }
        return v.intValue();
    }

    private static Long longInteger(JsonNode object, String name) {
        JsonNode n = field(object, name);
        if (n == null) {
            return null;
        }
        // 5.0 is an integer to JSON clients in languages without one (JavaScript).
        boolean integral = n.isIntegralNumber() ? n.canConvertToLong()
                : n.isNumber() && n.doubleValue() == Math.rint(n.doubleValue()) && Math.abs(n.doubleValue()) < 0x1p53;
        if (!integral) {
            throw ApiException.badRequest(name, name + " must be an integer, got " + describe(n) + ".");
        }
        return n.longValue();
    }

    /** e.g. {@code a string ("abc")}, {@code a number (1.5)}: what the client sent, briefly. */
    static String describe(JsonNode n) {
        String kind = switch (n.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(Locale.ROOT);
        };
        if (n.isNull()) {
            return kind;
        }
        String text = n.toString();
        return kind + " (" + (text.length() > 40 ? text.substring(0, 37) + "..." : text) + ")";
    }
}
