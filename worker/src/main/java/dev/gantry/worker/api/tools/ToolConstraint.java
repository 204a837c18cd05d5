package dev.gantry.worker.api.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.gantry.worker.api.OpenAiDtos;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The JSON Schema that constrained decoding forces a choice's output to match when the request
 * asks for calls: for a named function ({@code tool_choice: {"type": "function", ...}}) one call
 * object,
 * <pre>{"type": "object", "properties": {"name": {"const": "X"}, "arguments": <its parameters>},
 *  "required": ["name", "arguments"], "additionalProperties": false}</pre>
 * for {@code required} any of the tools' call objects ({@code anyOf}), as an array of at least one
 * of them when {@code parallel_tool_calls} is true. {@link ToolCallParser} reads both shapes.
 * {@code auto} and {@code none} constrain nothing.
 *
 * <p>vLLM constrains a named function's output to its arguments alone; here the output is the
 * whole call object, so that one parser reads every tool output. The {@code $defs} of a tool's
 * parameters move to the root, renamed {@code <function>.<name>}, with the {@code $ref}s to them,
 * since the parameters are no longer the root their references start from.
 */
public final class ToolConstraint {
    private ToolConstraint() {}

    /** The schema to force, or null when the tool choice forces nothing. */
    public static ObjectNode schema(ToolSettings settings) {
        if (settings == null) {
            return null;
        }
        ObjectNode defs = OpenAiDtos.JSON.createObjectNode();
        ObjectNode schema = switch (settings.choice().mode()) {
            case NONE, AUTO -> null;
            case FUNCTION -> call(settings.find(settings.choice().function()), defs);
            case REQUIRED -> {
                List<ObjectNode> calls = new ArrayList<>();
                for (ToolDefinition tool : settings.tools()) {
                    calls.add(call(tool, defs));
                }
                ObjectNode one = calls.size() == 1 ? calls.getFirst() : OpenAiDtos.JSON.createObjectNode();
                if (calls.size() > 1) {
                    one.putArray("anyOf").addAll(calls);
                }
                if (!settings.parallel()) {
                    yield one;
                }
                ObjectNode array = OpenAiDtos.JSON.createObjectNode().put("type", "array");
                array.set("items", one);
                array.put("minItems", 1);
                yield array;
            }
        };
        if (schema != null && !defs.isEmpty()) {
            schema.set("$defs", defs);
        }
        return schema;
    }

    /** One call object of a tool; its parameters' definitions go to {@code defs}. */
    static ObjectNode call(ToolDefinition tool, ObjectNode defs) {
        JsonNode arguments = tool.argumentsSchema();
        if (arguments instanceof ObjectNode args) {
            hoistDefinitions(tool.name(), args, defs);
        }
        ObjectNode call = OpenAiDtos.JSON.createObjectNode().put("type", "object");
        ObjectNode properties = call.putObject("properties");
        properties.putObject("name").put("const", tool.name());
        properties.set("arguments", arguments);
        call.putArray("required").add("name").add("arguments");
        call.put("additionalProperties", false);
        return call;
    }

    private static void hoistDefinitions(String tool, ObjectNode parameters, ObjectNode defs) {
        for (String key : List.of("$defs", "definitions")) {
            JsonNode local = parameters.remove(key);
            if (local instanceof ObjectNode localDefs) {
                String prefix = "#/" + key + "/";
                for (Map.Entry<String, JsonNode> e : localDefs.properties()) {
                    defs.set(tool + "." + e.getKey(), e.getValue());
                }
                rewriteRefs(parameters, prefix, "#/$defs/" + tool + ".");
                for (Map.Entry<String, JsonNode> e : localDefs.properties()) {
                    rewriteRefs(e.getValue(), prefix, "#/$defs/" + tool + ".");
                }
            }
        }
    }

    private static void rewriteRefs(JsonNode node, String from, String to) {
        if (node instanceof ObjectNode object) {
            JsonNode ref = object.get("$ref");
            if (ref != null && ref.isTextual() && ref.asText().startsWith(from)) {
                object.set("$ref", TextNode.valueOf(to + ref.asText().substring(from.length())));
            }
            for (Map.Entry<String, JsonNode> e : object.properties()) {
                rewriteRefs(e.getValue(), from, to);
            }
        } else if (node instanceof ArrayNode array) {
            for (JsonNode item : array) {
                rewriteRefs(item, from, to);
            }
        }
    }
}
