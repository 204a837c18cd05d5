package dev.gantry.worker.api.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gantry.worker.api.ApiException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}. Each
 * malformed value is a 400 naming the field by its path ({@code tools[1].function.name}), in
 * OpenAI's words. As vLLM: a missing {@code tool_choice} is {@code auto} when tools are given, an
 * empty {@code tools} array is the same as none, and {@code tool_choice} other than {@code none}
 * needs tools.
 */
public final class ToolRequestParser {
    /** OpenAI's rule for function names. */
    private static final Pattern NAME = Pattern.compile("^[a-zA-Z0-9_-]+$");
    private static final int MAX_NAME_LENGTH = 64;

    private ToolRequestParser() {}

    /** The tool settings of a request body, or null when it gives no tools. */
    public static ToolSettings parse(JsonNode body) {
        List<ToolDefinition> tools = tools(field(body, "tools"));
        JsonNode choiceNode = field(body, "tool_choice");
        ToolChoice choice = choiceNode == null ? null : choice(choiceNode);
        JsonNode parallelNode = field(body, "parallel_tool_calls");
        if (parallelNode != null && !parallelNode.isBoolean()) {
            throw invalidType("parallel_tool_calls", "a boolean", parallelNode);
        }
        if (tools.isEmpty()) {
            if (choice != null && choice.mode() != ToolChoice.Mode.NONE) {
                throw ApiException.badRequest("tool_choice",
                        "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
            }
            return null;
        }
        ToolChoice chosen = choice == null ? ToolChoice.AUTO : choice;
        if (chosen.mode() == ToolChoice.Mode.FUNCTION && tools.stream().noneMatch(t -> t.name().equals(chosen.function()))) {
            throw ApiException.badRequest("tool_choice", "Invalid value for 'tool_choice': function '" + chosen.function()
                    + "' does not match any of the specified 'tools'.");
        }
        return new ToolSettings(tools, chosen, parallelNode == null || parallelNode.asBoolean());
    }

    private static List<ToolDefinition> tools(JsonNode tools) {
        if (tools == null) {
            return List.of();
        }
        if (!tools.isArray()) {
            throw invalidType("tools", "an array of objects", tools);
        }
        List<ToolDefinition> out = new ArrayList<>(tools.size());
        for (int k = 0; k < tools.size(); k++) {
            out.add(tool(tools.get(k), "tools[" + k + "]"));
        }
        return out;
    }

    private static ToolDefinition tool(JsonNode tool, String where) {
        if (!tool.isObject()) {
            throw invalidType(where, "an object", tool);
        }
        JsonNode type = required(tool, "type", where);
        if (!type.isTextual()) {
            throw invalidType(where + ".type", "a string", type);
        }
        if (!type.asText().equals("function")) {
            throw ApiException.badRequest(where + ".type", "Invalid value: '" + type.asText()
                    + "'. Supported values are: 'function'.");
        }
        JsonNode function = required(tool, "function", where);
        String fw = where + ".function";
        if (!function.isObject()) {
            throw invalidType(fw, "an object", function);
        }
        unknownFields(tool, where, "type", "function");
        unknownFields(function, fw, "name", "description", "parameters", "strict");
        String name = functionName(required(function, "name", fw), fw + ".name");
        JsonNode description = field(function, "description");
        if (description != null && !description.isTextual()) {
            throw invalidType(fw + ".description", "a string", description);
        }
        JsonNode parameters = field(function, "parameters");
        if (parameters != null && !parameters.isObject()) {
            throw invalidType(fw + ".parameters", "an object", parameters);
        }
        JsonNode strict = field(function, "strict");
        if (strict != null && !strict.isBoolean()) {
            throw invalidType(fw + ".strict", "a boolean", strict);
        }
        return new ToolDefinition(name, description == null ? null : description.asText(),
                (ObjectNode) parameters, strict == null ? null : strict.asBoolean());
    }

    private static ToolChoice choice(JsonNode choice) {
        if (choice.isTextual()) {
            return switch (choice.asText()) {
                case "none" -> ToolChoice.NONE;
                case "auto" -> ToolChoice.AUTO;
                case "required" -> ToolChoice.REQUIRED;
                default -> throw ApiException.badRequest("tool_choice", "Invalid value: '" + choice.asText()
                        + "'. Supported values are: 'none', 'auto', and 'required'.");
            };
        }
        if (!choice.isObject()) {
            throw invalidType("tool_choice", "a string or an object", choice);
        }
        JsonNode type = required(choice, "type", "tool_choice");
        if (!type.isTextual() || !type.asText().equals("function")) {
            throw ApiException.badRequest("tool_choice.type", "Invalid value: " + (type.isTextual() ? "'" + type.asText()
                    + "'" : type.toString()) + ". Supported values are: 'function'.");
        }
        JsonNode function = required(choice, "function", "tool_choice");
        if (!function.isObject()) {
            throw invalidType("tool_choice.function", "an object", function);
        }
        unknownFields(choice, "tool_choice", "type", "function");
        unknownFields(function, "tool_choice.function", "name");
        return ToolChoice.function(functionName(required(function, "name", "tool_choice.function"),
                "tool_choice.function.name"));
    }

    private static String functionName(JsonNode name, String where) {
        if (!name.isTextual()) {
            throw invalidType(where, "a string", name);
        }
        String s = name.asText();
        if (s.length() > MAX_NAME_LENGTH) {
            throw ApiException.badRequest(where, "Invalid '" + where + "': string too long. Expected a string with"
                    + " maximum length " + MAX_NAME_LENGTH + ", but got a string with length " + s.length() + " instead.");
        }
        if (!NAME.matcher(s).matches()) {
            throw ApiException.badRequest(where, "Invalid '" + where + "': string does not match pattern."
                    + " Expected a string that matches the pattern '" + NAME.pattern() + "'.");
        }
        return s;
    }

    private static void unknownFields(JsonNode object, String where, String... known) {
        outer:
        for (Map.Entry<String, JsonNode> f : object.properties()) {
            for (String k : known) {
                if (k.equals(f.getKey())) {
                    continue outer;
                }
            }
            if (!f.getValue().isNull()) {
                throw ApiException.badRequest(where + "." + f.getKey(), "Unrecognized request argument supplied: "
                        + where + "." + f.getKey() + ".");
            }
        }
    }

    private static JsonNode field(JsonNode object, String name) {
        JsonNode n = object.get(name);
        return n == null || n.isNull() ? null : n;
    }

    private static JsonNode required(JsonNode object, String name, String where) {
        JsonNode n = field(object, name);
        if (n == null) {
            throw ApiException.badRequest(where + "." + name, "Missing required parameter: '" + where + "." + name + "'.");
        }
        return n;
    }

    static ApiException invalidType(String where, String expected, JsonNode got) {
        return ApiException.badRequest(where, "Invalid type for '" + where + "': expected " + expected + ", but got "
                + typeName(got) + " instead.");
    }

    /** OpenAI's names for JSON types in its errors. */
    static String typeName(JsonNode n) {
        return switch (n.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> n.isIntegralNumber() ? "an integer" : "a decimal";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> "a value";
        };
    }
}
