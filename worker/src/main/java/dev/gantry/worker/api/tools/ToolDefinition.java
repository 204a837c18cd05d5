package dev.gantry.worker.api.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gantry.worker.api.OpenAiDtos;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One entry of a request's {@code tools}: {@code {"type": "function", "function": {...}}}.
 *
 * @param description the function's description, or null
 * @param parameters  the JSON Schema of its arguments (an object), or null when the client gave none
 * @param strict      OpenAI's {@code strict}, or null when not given; kept for the template only
 */
public record ToolDefinition(String name, String description, ObjectNode parameters, Boolean strict) {
    public ToolDefinition {
        Objects.requireNonNull(name, "name");
    }

    /**
     * The tool as templates see it in {@code tools}: what vLLM passes ({@code tool.model_dump()}),
     * {@code {"type": "function", "function": {"name", "description", "parameters"}}} with
     * {@code description} and {@code parameters} present (as None) even when the client left them
     * out, and {@code strict} after them when given.
     */
    public Map<String, Object> templateValue() {
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", name);
        function.put("description", description);
        function.put("parameters", parameters == null ? null : OpenAiDtos.JSON.convertValue(parameters, Object.class));
        if (strict != null) {
            function.put("strict", strict);
        }
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", function);
        return tool;
    }

    /** The schema of the arguments: {@link #parameters}, or any object when none was given. */
    public JsonNode argumentsSchema() {
        if (parameters != null && !parameters.isEmpty()) {
            return parameters.deepCopy();
        }
        return OpenAiDtos.JSON.createObjectNode().put("type", "object");
    }
}
