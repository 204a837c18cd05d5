package dev.gantry.worker.api.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.gantry.worker.api.ApiException;
import java.util.List;
import org.junit.jupiter.api.Test;

class ToolRequestParserTest {
    private static final String WEATHER = """
            {"type": "function", "function": {"name": "get_weather", "description": "Weather",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}}""";
    private static final String TIME = "{\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}";

    private static ToolSettings parse(String body) {
        return ToolRequestParser.parse(ToolTestData.json(body));
    }

    private static void assertBad(String body, String param, String message) {
        ApiException e = catchThrowableOfType(ApiException.class, () -> parse(body));
        assertThat(e).as(body).isNotNull();
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.getMessage()).isEqualTo(message);
    }

    @Test
    void toolsWithTheirDefaults() {
        ToolSettings s = parse("{\"tools\": [" + WEATHER + ", " + TIME + "]}");
        assertThat(s.choice()).isEqualTo(ToolChoice.AUTO);
        assertThat(s.parallel()).isTrue();
        assertThat(s.names()).containsExactly("get_weather", "get_time");
        ToolDefinition weather = s.find("get_weather");
        assertThat(weather.description()).isEqualTo("Weather");
        assertThat(weather.strict()).isTrue();
        assertThat(weather.parameters().toString()).isEqualTo("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}");
        assertThat(s.find("get_time")).isEqualTo(new ToolDefinition("get_time", null, null, null));
        assertThat(s.parsesOutput()).isTrue();
    }

    @Test
    void choices() {
        String tools = "{\"tools\": [" + WEATHER + ", " + TIME + "], ";
        assertThat(parse(tools + "\"tool_choice\": \"none\"}").choice()).isEqualTo(ToolChoice.NONE);
        assertThat(parse(tools + "\"tool_choice\": \"none\"}").parsesOutput()).isFalse();
        assertThat(parse(tools + "\"tool_choice\": \"auto\"}").choice()).isEqualTo(ToolChoice.AUTO);
        assertThat(parse(tools + "\"tool_choice\": \"required\", \"parallel_tool_calls\": false}"))
                .extracting(ToolSettings::choice, ToolSettings::parallel).containsExactly(ToolChoice.REQUIRED, false);
        assertThat(parse(tools + "\"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}}").choice())
                .isEqualTo(ToolChoice.function("get_time"));
    }

    @Test
    void noToolsIsNull() {
        assertThat(parse("{}")).isNull();
        assertThat(parse("{\"tools\": null, \"tool_choice\": null}")).isNull();
        assertThat(parse("{\"tools\": [], \"tool_choice\": \"none\", \"parallel_tool_calls\": false}")).isNull();
    }

    @Test
    void malformedToolsNameTheField() {
        assertBad("{\"tools\": {}}", "tools", "Invalid type for 'tools': expected an array of objects, but got an object instead.");
        assertBad("{\"tools\": [" + WEATHER + ", 3]}", "tools[1]", "Invalid type for 'tools[1]': expected an object, but got an integer instead.");
        assertBad("{\"tools\": [{\"function\": {\"name\": \"f\"}}]}", "tools[0].type", "Missing required parameter: 'tools[0].type'.");
        assertBad("{\"tools\": [{\"type\": \"custom\", \"function\": {\"name\": \"f\"}}]}", "tools[0].type",
                "Invalid value: 'custom'. Supported values are: 'function'.");
        assertBad("{\"tools\": [{\"type\": \"function\"}]}", "tools[0].function", "Missing required parameter: 'tools[0].function'.");
        assertBad("{\"tools\": [{\"type\": \"function\", \"function\": \"f\"}]}", "tools[0].function",
                "Invalid type for 'tools[0].function': expected an object, but got a string instead.");
        assertBad("{\"tools\": [" + WEATHER + ", {\"type\": \"function\", \"function\": {}}]}", "tools[1].function.name",
                "Missing required parameter: 'tools[1].function.name'.");
        assertBad("{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": 5}}]}", "tools[0].function.name",
                "Invalid type for 'tools[0].function.name': expected a string, but got an integer instead.");
        assertBad("{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get weather\"}}]}", "tools[0].function.name",
                "Invalid 'tools[0].function.name': string does not match pattern. Expected a string that matches the"
                        + " pattern '^[a-zA-Z0-9_-]+$'.");
        assertBad("{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"" + "f".repeat(65) + "\"}}]}",
                "tools[0].function.name", "Invalid 'tools[0].function.name': string too long. Expected a string with"
                        + " maximum length 64, but got a string with length 65 instead.");
        assertBad("{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": 1.5}}]}",
                "tools[0].function.description", "Invalid type for 'tools[0].function.description': expected a string,"
                        + " but got a decimal instead.");
        assertBad("{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": []}}]}",
                "tools[0].function.parameters", "Invalid type for 'tools[0].function.parameters': expected an object,"
                        + " but got an array instead.");
        assertBad("{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"strict\": \"yes\"}}]}",
                "tools[0].function.strict", "Invalid type for 'tools[0].function.strict': expected a boolean, but got a string instead.");
        assertBad("{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"examples\": []}}]}",
                "tools[0].function.examples", "Unrecognized request argument supplied: tools[0].function.examples.");
    }

    @Test
    void malformedChoicesNameTheField() {
        String tools = "{\"tools\": [" + WEATHER + "], ";
        assertBad(tools + "\"tool_choice\": \"sometimes\"}", "tool_choice",
                "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'.");
        assertBad(tools + "\"tool_choice\": 1}", "tool_choice",
                "Invalid type for 'tool_choice': expected a string or an object, but got an integer instead.");
        assertBad(tools + "\"tool_choice\": {\"type\": \"function\"}}", "tool_choice.function",
                "Missing required parameter: 'tool_choice.function'.");
        assertBad(tools + "\"tool_choice\": {\"type\": \"allowed_tools\", \"function\": {\"name\": \"get_weather\"}}}",
                "tool_choice.type", "Invalid value: 'allowed_tools'. Supported values are: 'function'.");
        assertBad(tools + "\"tool_choice\": {\"type\": \"function\", \"function\": {}}}", "tool_choice.function.name",
                "Missing required parameter: 'tool_choice.function.name'.");
        assertBad(tools + "\"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}}", "tool_choice",
                "Invalid value for 'tool_choice': function 'get_time' does not match any of the specified 'tools'.");
        assertBad(tools + "\"parallel_tool_calls\": \"true\"}", "parallel_tool_calls",
                "Invalid type for 'parallel_tool_calls': expected a boolean, but got a string instead.");
        for (String choice : List.of("\"auto\"", "\"required\"", "{\"type\": \"function\", \"function\": {\"name\": \"f\"}}")) {
            assertBad("{\"tool_choice\": " + choice + "}", "tool_choice",
                    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
            assertBad("{\"tools\": [], \"tool_choice\": " + choice + "}", "tool_choice",
                    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
        }
    }

    @Test
    void templateValueIsVllmsToolDump() {
        ToolSettings s = parse("{\"tools\": [" + TIME + ", " + WEATHER + "]}");
        assertThat(dev.gantry.worker.model.tokenizer.ChatTemplate.toJson(ToolPrompt.toolValues(s))).isEqualTo(
                "[{\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"description\": null, \"parameters\": null}},"
                        + " {\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather\","
                        + " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}},"
                        + " \"strict\": true}}]");
    }
}
