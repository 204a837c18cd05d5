package dev.gantry.worker.model.tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One message of a conversation as chat templates see it: {@code message['role']},
 * {@code message['content']}, and, only where the message has them (templates test
 * {@code 'tool_calls' in message} and {@code message.name is defined}), {@code name},
 * {@code tool_calls} and {@code tool_call_id}.
 *
 * @param role       {@code system}, {@code user}, {@code assistant}, {@code tool}, or whatever role
 *                   the template knows
 * @param content    the message text; may be null (an assistant message that only calls tools)
 * @param name       the participant's name, or null
 * @param toolCalls  an assistant message's tool calls, empty for none
 * @param toolCallId a {@code tool} message's answer to which call, or null
 */
public record ChatMessage(String role, String content, String name, List<ToolCall> toolCalls, String toolCallId) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    /** A plain message: role and text. */
    public ChatMessage(String role, String content) {
        this(role, Objects.requireNonNull(content, "content"), null, List.of(), null);
    }

    /**
     * A call of a function, as an assistant message carries it.
     *
     * @param arguments      the arguments as the client sent them: a JSON text
     * @param argumentsValue what templates see as {@code function.arguments}: the parsed JSON
     *                       (maps, lists, strings, numbers, booleans, null) when {@code arguments} is
     *                       valid JSON, as transformers hands them to templates, else the text itself
     */
    public record ToolCall(String id, String name, String arguments, Object argumentsValue) {
        public ToolCall {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(arguments, "arguments");
        }

        public ToolCall(String id, String name, String arguments) {
            this(id, name, arguments, arguments);
        }
    }

    /** The message as a template sees it: keys are present only for what the message has. */
    Map<String, Object> templateView() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", role);
        map.put("content", content);
        if (name != null) {
            map.put("name", name);
        }
        if (!toolCalls.isEmpty()) {
            List<Map<String, Object>> calls = new ArrayList<>(toolCalls.size());
            for (ToolCall call : toolCalls) {
                Map<String, Object> function = new LinkedHashMap<>();
                function.put("name", call.name());
                function.put("arguments", call.argumentsValue());
                Map<String, Object> c = new LinkedHashMap<>();
                if (call.id() != null) {
                    c.put("id", call.id());
                }
                c.put("type", "function");
                c.put("function", function);
                calls.add(c);
            }
            map.put("tool_calls", calls);
        }
        if (toolCallId != null) {
            map.put("tool_call_id", toolCallId);
        }
        return map;
    }
}
