package dev.gantry.worker.api.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.gantry.worker.api.OpenAiDtos;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Reads the tool calls out of a choice's whole generated text (a response that is not streamed):
 * the calls {@link StreamingToolCallParser} describes, Hermes' {@code <tool_call>} blocks, Llama
 * 3.1's JSON, and the bare JSON object or array that constrained decoding writes. Only functions of
 * the request's tools are calls. When the text holds a call that does not parse (JSON cut short or
 * broken), the whole text is content and there are no calls, as vLLM's parsers do; nothing throws.
 */
public final class ToolCallParser {
    private final Set<String> names;
    private final Supplier<String> ids;

    /** A parser for the calls of these settings' tools. */
    public ToolCallParser(ToolSettings settings) {
        this(settings.names(), StreamingToolCallParser::newId);
    }

    ToolCallParser(Set<String> names, Supplier<String> ids) {
        this.names = Set.copyOf(names);
        this.ids = ids;
    }

    /** Reads one choice's text. */
    public ParsedToolCalls parse(String text) {
        StreamingToolCallParser stream = new StreamingToolCallParser(names, ids);
        List<StreamDelta> deltas = new ArrayList<>(stream.feed(text));
        deltas.addAll(stream.finish().deltas());
        if (stream.calls.isEmpty() || stream.malformed) {
            return new ParsedToolCalls(text, List.of());
        }
        List<ToolCall> calls = new ArrayList<>(stream.calls.size());
        for (StreamingToolCallParser.Call call : stream.calls) {
            String arguments = call.arguments.toString();
            if (!call.complete || !isJsonObject(arguments)) {
                return new ParsedToolCalls(text, List.of());
            }
            calls.add(new ToolCall(call.id, call.name, arguments));
        }
        StringBuilder content = new StringBuilder();
        for (StreamDelta d : deltas) {
            if (d.content() != null) {
                content.append(d.content());
            }
        }
        return new ParsedToolCalls(content.isEmpty() ? null : content.toString(), calls);
    }

    private static boolean isJsonObject(String text) {
        try {
            return OpenAiDtos.JSON.readTree(text).isObject();
        } catch (JsonProcessingException e) {
            return false;
        }
    }
}
