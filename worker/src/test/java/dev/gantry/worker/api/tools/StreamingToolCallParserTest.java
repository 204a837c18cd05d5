package dev.gantry.worker.api.tools;

import static dev.gantry.worker.api.tools.ToolCallParserTest.NAMES;
import static dev.gantry.worker.api.tools.ToolCallParserTest.counter;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.api.OpenAiDtos;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StreamingToolCallParserTest {

    static final List<String> OUTPUTS = List.of(
            "Plain text, no calls at all.\n\nSecond paragraph <b>with</b> tags < > and {braces}.",
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
            "Let me check both.\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\":"
                    + " \"celsius\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>\nOne moment.",
            "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich 東京 \\\"}{][\\\" \\u00e9\\\\\","
                    + " \"opts\": {\"deep\": [1, {\"x\": \"]}\"}, null]}, \"e\": \"😀\"}}</tool_call>",
            "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}",
            "  {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}; {\"name\": \"get_time\", \"parameters\": {}}",
            "[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}},\n {\"name\": \"get_time\", \"arguments\": {}}]",
            "{\"name\":\"get_time\",\"arguments\":{\"tz\":\"UTC\"},\"x\":[1,{\"y\":\"}\"}]}",
            "{\"answer\": 42, \"name\": \"get_time\"}",
            "<tool_call>{\"name\": \"launch_rocket\", \"arguments\": {}}</tool_call> after",
            "<tool_call>not json</tool_call> and then <tool_call>",
            "Sure: {\"name\": \"get_time\", \"arguments\": {}} <tool_ <tool_call",
            "<|python_tag|>print('hi')",
            "{\"name\": \"get\\u005ftime\", \"arguments\": {}}",
            "{\"type\": \"function\", \"name\": \"get_time\", \"parameters\": {\"tz\": \"CET\"}}",
            "{\"type\": \"functional\", \"name\": \"get_time\", \"parameters\": {}}");

    /** What a stream of deltas adds up to: content, and per call id, name and arguments. */
    record Assembled(String content, List<List<String>> calls, boolean toolCalls) {}

    static Assembled assemble(List<StreamDelta> deltas, boolean toolCalls) {
        StringBuilder content = new StringBuilder();
        Map<Integer, List<String>> calls = new LinkedHashMap<>();
        for (StreamDelta d : deltas) {
            assertThat(d.content() == null).isNotEqualTo(d.toolCalls() == null); // one or the other
            if (d.content() != null) {
                assertThat(d.content()).isNotEmpty();
                content.append(d.content());
                continue;
            }
            assertThat(d.toolCalls()).hasSize(1);
            ToolCallDelta c = d.toolCalls().getFirst();
            if (c.id() != null) {
                assertThat(calls).doesNotContainKey(c.index()).hasSize(c.index());
                assertThat(c.type()).isEqualTo("function");
                assertThat(c.function().arguments()).isEmpty();
                calls.put(c.index(), new ArrayList<>(List.of(c.id(), c.function().name(), "")));
            } else {
                assertThat(c.type()).isNull();
                assertThat(c.function().name()).isNull();
                List<String> call = calls.get(c.index());
                assertThat(call).as("arguments before the call's start").isNotNull();
                assertThat(c.index()).isEqualTo(calls.size() - 1);
                call.set(2, call.get(2) + c.function().arguments());
            }
        }
        return new Assembled(content.toString(), List.copyOf(calls.values()), toolCalls);
    }

    static Assembled stream(String text, List<String> pieces) {
        StreamingToolCallParser parser = new StreamingToolCallParser(NAMES, counter());
        List<StreamDelta> deltas = new ArrayList<>();
        for (String piece : pieces) {
            deltas.addAll(parser.feed(piece));
        }
        StreamingToolCallParser.Finish finish = parser.finish();
        deltas.addAll(finish.deltas());
        return assemble(deltas, finish.toolCalls());
    }

    static List<String> randomSplit(String text, Random random) {
        List<String> pieces = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            int n = Math.min(text.length() - i, random.nextInt(random.nextBoolean() ? 3 : 12) + 1);
            if (Character.isHighSurrogate(text.charAt(i + n - 1)) && i + n < text.length()) {
                n++; // the detokenizer never splits a character
            }
            pieces.add(text.substring(i, i + n));
            i += n;
        }
        return pieces;
    }

    @Test
    void randomSplitsAddUpToTheBufferedResult() {
        Random random = new Random(42);
        for (String text : OUTPUTS) {
            ParsedToolCalls buffered = new ToolCallParser(NAMES, counter()).parse(text);
            Assembled whole = stream(text, List.of(text));
            List<List<String>> expectedCalls = buffered.toolCalls().stream()
                    .map(c -> List.of(c.id(), c.function().name(), c.function().arguments())).toList();
            assertThat(whole.calls()).as(text).isEqualTo(expectedCalls);
            assertThat(whole.content()).as(text).isEqualTo(buffered.content() == null ? "" : buffered.content());
            assertThat(whole.toolCalls()).isEqualTo(buffered.hasToolCalls());
            for (int round = 0; round < 300; round++) {
                List<String> pieces = round == 0 ? text.codePoints().mapToObj(Character::toString).toList()
                        : randomSplit(text, random);
                assertThat(stream(text, pieces)).as("%s split as %s", text, pieces).isEqualTo(whole);
            }
        }
    }

    @Test
    void callsCutShortStillStream() {
        String text = "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par";
        Assembled a = stream(text, randomSplit(text, new Random(1)));
        assertThat(a).isEqualTo(new Assembled("", List.of(List.of("call_0", "get_weather", "{\"city\": \"Par")), true));
        // the buffered parser can take it back
        assertThat(new ToolCallParser(NAMES, counter()).parse(text)).isEqualTo(new ParsedToolCalls(text, List.of()));
    }

    @Test
    void contentGoesOutAsSoonAsNoCallCanBeStarting() {
        StreamingToolCallParser p = new StreamingToolCallParser(NAMES, counter());
        assertThat(p.feed("Hello")).containsExactly(StreamDelta.content("Hello"));
        assertThat(p.feed(" wor")).containsExactly(StreamDelta.content(" wor"));
        assertThat(p.feed("ld. ")).containsExactly(StreamDelta.content("ld.")); // space may precede a call
        assertThat(p.feed("<tool")).isEmpty();
        assertThat(p.feed("box>")).containsExactly(StreamDelta.content(" <toolbox>"));
        assertThat(p.feed(" <tool_call>\n{\"name\": \"get_")).isEmpty();
        assertThat(p.feed("time\", \"arguments\": {\"tz\"")).containsExactly(
                StreamDelta.call(ToolCallDelta.start(0, "call_0", "get_time")),
                StreamDelta.call(ToolCallDelta.arguments(0, "{\"tz\"")));
        assertThat(p.feed(": \"UTC\"}")).containsExactly(StreamDelta.call(ToolCallDelta.arguments(0, ": \"UTC\"}")));
        assertThat(p.feed("}\n</tool_call>\n")).isEmpty();
        assertThat(p.feed("Done.")).containsExactly(StreamDelta.content("\nDone."));
        assertThat(p.feed("\n")).isEmpty(); // held: a call may follow
        assertThat(p.finish()).isEqualTo(new StreamingToolCallParser.Finish(List.of(StreamDelta.content("\n")), true));
    }

    @Test
    void jsonAtTheStartIsHeldOnlyWhileItCanBeACall() {
        StreamingToolCallParser p = new StreamingToolCallParser(NAMES, counter());
        assertThat(p.feed(" {\"na")).isEmpty();
        assertThat(p.feed("me\": \"get_w")).isEmpty();
        assertThat(p.feed("ind\"")).containsExactly(StreamDelta.content(" {\"name\": \"get_wind\""));
        assertThat(p.feed(", \"x\": 1}")).containsExactly(StreamDelta.content(", \"x\": 1}"));
        assertThat(p.finish()).isEqualTo(new StreamingToolCallParser.Finish(List.of(), false));

        StreamingToolCallParser q = new StreamingToolCallParser(NAMES, counter());
        assertThat(q.feed("{\"result\"")).containsExactly(StreamDelta.content("{\"result\""));
        StreamingToolCallParser r = new StreamingToolCallParser(NAMES, counter());
        assertThat(r.feed("<|python")).isEmpty();
        assertThat(r.finish().deltas()).containsExactly(StreamDelta.content("<|python"));
    }

    @Test
    void deltasSerializeAsOpenAiDoes() {
        assertThat(OpenAiDtos.write(StreamDelta.call(ToolCallDelta.start(0, "call_x", "get_time")))).isEqualTo(
                "{\"tool_calls\":[{\"index\":0,\"id\":\"call_x\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
                        + "\"arguments\":\"\"}}]}");
        assertThat(OpenAiDtos.write(StreamDelta.call(ToolCallDelta.arguments(1, "{\"a\"")))).isEqualTo(
                "{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"a\\\"\"}}]}");
        assertThat(OpenAiDtos.write(StreamDelta.content("hi"))).isEqualTo("{\"content\":\"hi\"}");
        assertThat(OpenAiDtos.write(new ToolCall("call_x", "f", "{}"))).isEqualTo(
                "{\"id\":\"call_x\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}");
    }
}
