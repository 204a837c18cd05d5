package dev.gantry.worker.api.tools;

import java.util.List;

/**
 * The generated text of a choice, read for tool calls.
 *
 * @param content   the text outside the calls, or null when the calls are all there is; the whole
 *                  text when there are no calls
 * @param toolCalls the calls, in order; empty when the text holds none (the finish reason is then
 *                  what it was, else {@code tool_calls})
 */
public record ParsedToolCalls(String content, List<ToolCall> toolCalls) {
    public ParsedToolCalls {
        toolCalls = List.copyOf(toolCalls);
    }

    public boolean hasToolCalls() {
        return !toolCalls.isEmpty();
    }
}
