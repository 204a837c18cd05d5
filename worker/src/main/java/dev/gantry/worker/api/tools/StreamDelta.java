package dev.gantry.worker.api.tools;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What one chunk of a streamed chat choice carries out of {@link StreamingToolCallParser}: either
 * {@code content} text or one {@link ToolCallDelta} in {@code toolCalls} (the shape of the chunk's
 * {@code delta.content} and {@code delta.tool_calls}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StreamDelta(String content, List<ToolCallDelta> toolCalls) {
    static StreamDelta content(String text) {
        return new StreamDelta(text, null);
    }

    static StreamDelta call(ToolCallDelta delta) {
        return new StreamDelta(null, List.of(delta));
    }
}
