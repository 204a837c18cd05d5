package dev.gantry.worker.api.tools;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One piece of a streamed tool call, as a chunk's {@code delta.tool_calls} holds it: the first of a
 * call has its {@code id}, {@code type} and {@code function.name} (and {@code arguments: ""}), the
 * ones after it only pieces of {@code function.arguments}. Absent fields are left out, as OpenAI does.
 *
 * @param index which call of the choice, from 0
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ToolCallDelta(int index, String id, String type, FunctionDelta function) {

    static ToolCallDelta start(int index, String id, String name) {
        return new ToolCallDelta(index, id, "function", new FunctionDelta(name, ""));
    }

    static ToolCallDelta arguments(int index, String arguments) {
        return new ToolCallDelta(index, null, null, new FunctionDelta(null, arguments));
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FunctionDelta(String name, String arguments) {}
}
