package dev.gantry.worker.api.tools;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}, checked
 * ({@link ToolRequestParser#parse}). A request without tools has none of these (null).
 *
 * @param tools    the functions, in the request's order; never empty
 * @param choice   {@code tool_choice}; {@link ToolChoice#AUTO} when the client gave none (OpenAI's and
 *                 vLLM's default when tools are given)
 * @param parallel {@code parallel_tool_calls}; true when the client gave none (OpenAI's default)
 */
public record ToolSettings(List<ToolDefinition> tools, ToolChoice choice, boolean parallel) {
    public ToolSettings {
        tools = List.copyOf(tools);
        Objects.requireNonNull(choice, "choice");
        if (tools.isEmpty()) {
            throw new IllegalArgumentException("tool settings need at least one tool");
        }
        if (choice.mode() == ToolChoice.Mode.FUNCTION && find(tools, choice.function()) == null) {
            throw new IllegalArgumentException("tool_choice names " + choice.function() + ", which is not among the tools");
        }
    }

    /** The names of the functions, in the request's order. */
    public Set<String> names() {
        Set<String> names = new LinkedHashSet<>();
        tools.forEach(t -> names.add(t.name()));
        return names;
    }

    /** The first tool of this name, or null. */
    public ToolDefinition find(String name) {
        return find(tools, name);
    }

    /**
     * Whether the output is read for tool calls ({@link ToolCallParser}, {@link
     * StreamingToolCallParser}): for every choice but {@code none}, whose output is plain content
     * (as vLLM, which runs no tool parser for {@code none}).
     */
    public boolean parsesOutput() {
        return choice.mode() != ToolChoice.Mode.NONE;
    }

    private static ToolDefinition find(List<ToolDefinition> tools, String name) {
        for (ToolDefinition t : tools) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }
}
