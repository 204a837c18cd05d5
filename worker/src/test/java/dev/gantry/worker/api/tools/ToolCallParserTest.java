package dev.gantry.worker.api.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class ToolCallParserTest {
    static final Set<String> NAMES = Set.of("get_weather", "get_time");

    static Supplier<String> counter() {
        AtomicInteger n = new AtomicInteger();
        return () -> "call_" + n.getAndIncrement();
    }

    private static ParsedToolCalls parse(String text) {
        return new ToolCallParser(NAMES, counter()).parse(text);
    }

    private static void assertContentOnly(String text) {
        assertThat(parse(text)).as(text).isEqualTo(new ParsedToolCalls(text, List.of()));
    }

    @Test
    void hermesCall() {
        ParsedToolCalls p = parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>");
        assertThat(p.content()).isNull();
        assertThat(p.toolCalls()).containsExactly(new ToolCall("call_0", "get_weather", "{\"city\": \"Paris\"}"));
        assertThat(p.hasToolCalls()).isTrue();
    }

    @Test
    void textBeforeAndAfterSeveralCalls() {
        ParsedToolCalls p = parse("Let me check both.\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
                + " {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\","
                + " \"arguments\": {}}\n</tool_call>\nOne moment.");
        assertThat(p.content()).isEqualTo("Let me check both.\nOne moment.");
        assertThat(p.toolCalls()).containsExactly(
                new ToolCall("call_0", "get_weather", "{\"city\": \"Paris\", \"unit\": \"celsius\"}"),
                new ToolCall("call_1", "get_time", "{}"));
    }

    @Test
    void unclosedLastBlockStillCounts() {
        // vLLM's Hermes parser accepts a last <tool_call> the output ends in, without its closing tag
        ParsedToolCalls p = parse("<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}");
        assertThat(p.toolCalls()).containsExactly(new ToolCall("call_0", "get_time", "{\"tz\": \"UTC\"}"));
        assertThat(p.content()).isNull();
    }

    @Test
    void nestedArgumentsAndUnicode() {
        String args = "{\"city\": \"Zürich 東京 \\\"}{][\\\" \\u00e9\\\\\", \"opts\": {\"deep\": [1, {\"x\": \"]}\"}, null, 2.5e3],"
                + " \"flag\": true}, \"emoji\": \"😀\"}";
        ParsedToolCalls p = parse("<tool_call>{\"name\": \"get_weather\", \"arguments\": " + args + "}</tool_call>");
        assertThat(p.toolCalls()).containsExactly(new ToolCall("call_0", "get_weather", args));
        ParsedToolCalls bare = parse("{\"name\": \"get_weather\", \"arguments\": " + args + "}");
        assertThat(bare.toolCalls()).containsExactly(new ToolCall("call_0", "get_weather", args));
    }

    @Test
    void llama31Json() {
        assertThat(parse("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}").toolCalls())
                .containsExactly(new ToolCall("call_0", "get_weather", "{\"city\": \"Oslo\"}"));
        ParsedToolCalls two = parse("  {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}; "
                + "{\"name\": \"get_time\", \"parameters\": {}}");
        assertThat(two.content()).isNull();
        assertThat(two.toolCalls()).extracting(c -> c.function().name()).containsExactly("get_weather", "get_time");
        assertThat(parse("{\"type\": \"function\", \"name\": \"get_time\", \"parameters\": {}}").toolCalls())
                .containsExactly(new ToolCall("call_0", "get_time", "{}"));
        // an extra key after the arguments is skipped
        assertThat(parse("{\"name\": \"get_time\", \"arguments\": {}, \"id\": {\"a\": \"}\"}}").toolCalls())
                .containsExactly(new ToolCall("call_0", "get_time", "{}"));
    }

    @Test
    void constrainedObjectAndArray() {
        assertThat(parse("{\"name\":\"get_time\",\"arguments\":{\"tz\":\"UTC\"}}").toolCalls())
                .containsExactly(new ToolCall("call_0", "get_time", "{\"tz\":\"UTC\"}"));
        ParsedToolCalls array = parse("[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}},\n"
                + " {\"name\": \"get_time\", \"arguments\": {}}]");
        assertThat(array.content()).isNull();
        assertThat(array.toolCalls()).containsExactly(new ToolCall("call_0", "get_weather", "{\"city\": \"Rome\"}"),
                new ToolCall("call_1", "get_time", "{}"));
    }

    @Test
    void whatIsNoCallStaysContent() {
        assertContentOnly("");
        assertContentOnly("The weather is fine. 1 < 2 and <b>bold</b> <tool and <tool_ and {\"json\": 1}\n  ");
        assertContentOnly("{\"answer\": 42}");
        assertContentOnly("[1, 2, 3]");
        assertContentOnly("[{\"name\": \"Bob\", \"age\": 3}]");
        assertContentOnly("{\"name\": \"launch_rocket\", \"arguments\": {}}"); // not one of the tools
        assertContentOnly("<tool_call>{\"name\": \"launch_rocket\", \"arguments\": {}}</tool_call>");
        assertContentOnly("<tool_call>not json</tool_call> and then <tool_call>");
        assertContentOnly("{\"name\": \"get_time\"}"); // no arguments
        assertContentOnly("{\"name\": \"get_time\", \"arguments\": \"{}\"}"); // arguments as a string
        assertContentOnly("{\"arguments\": {}, \"name\": \"get_time\"}"); // the name must come first
        assertContentOnly("{\"type\": \"object\", \"name\": \"get_time\", \"arguments\": {}}");
        assertContentOnly("<|python_tag|>print('hi')");
        assertContentOnly("<|python_tag|>");
        assertContentOnly("Sure: {\"name\": \"get_time\", \"arguments\": {}}"); // JSON calls only start the output
    }

    @Test
    void brokenCallsMakeTheWholeTextContent() {
        assertContentOnly("<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": }}</tool_call>");
        assertContentOnly("<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par");
        assertContentOnly("Text <tool_call>{\"name\": \"get_time\", \"arguments\": {}}</tool_call>"
                + "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\" \"x\"}}</tool_call>");
        assertContentOnly("[{\"name\": \"get_time\", \"arguments\": {}}, {\"oops\": 1}]");
        assertContentOnly("[{\"name\": \"get_time\", \"arguments\": {}}");
    }

    @Test
    void escapedNamesAreRead() {
        assertThat(parse("{\"name\": \"get\\u005ftime\", \"arguments\": {}}").toolCalls())
                .containsExactly(new ToolCall("call_0", "get_time", "{}"));
    }

    @Test
    void idsAreVllmStyle() {
        assertThat(StreamingToolCallParser.newId()).matches("call_[A-Za-z0-9]{24}");
        ToolCallParser parser = new ToolCallParser(ToolTestData.AUTO);
        assertThat(parser.parse("{\"name\": \"get_time\", \"arguments\": {}}").toolCalls().getFirst().id())
                .matches("call_[A-Za-z0-9]{24}");
    }
}
