package dev.gantry.worker.api.tools;

import static dev.gantry.worker.api.tools.ToolTestData.TIME;
import static dev.gantry.worker.api.tools.ToolTestData.WEATHER;
import static dev.gantry.worker.api.tools.ToolTestData.json;
import static dev.gantry.worker.api.tools.ToolTestData.settings;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ToolConstraintTest {
    private static final String WEATHER_CALL = "{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_weather\"},"
            + "\"arguments\":" + WEATHER.parameters() + "},\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false}";
    private static final String TIME_CALL = "{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_time\"},"
            + "\"arguments\":{\"type\":\"object\"}},\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false}";

    @Test
    void autoAndNoneForceNothing() {
        assertThat(ToolConstraint.schema(null)).isNull();
        assertThat(ToolConstraint.schema(settings(ToolChoice.AUTO, true, WEATHER))).isNull();
        assertThat(ToolConstraint.schema(settings(ToolChoice.NONE, false, WEATHER))).isNull();
    }

    @Test
    void namedFunction() {
        assertThat(ToolConstraint.schema(settings(ToolChoice.function("get_weather"), true, TIME, WEATHER)))
                .hasToString(WEATHER_CALL);
        assertThat(ToolConstraint.schema(settings(ToolChoice.function("get_time"), false, TIME, WEATHER)))
                .hasToString(TIME_CALL);
        // the tool's own schema is left as it was
        assertThat(WEATHER.parameters().has("properties")).isTrue();
    }

    @Test
    void requiredIsAnyToolOnceOrAnArrayOfThem() {
        assertThat(ToolConstraint.schema(settings(ToolChoice.REQUIRED, false, WEATHER, TIME)))
                .hasToString("{\"anyOf\":[" + WEATHER_CALL + "," + TIME_CALL + "]}");
        assertThat(ToolConstraint.schema(settings(ToolChoice.REQUIRED, true, WEATHER, TIME)))
                .hasToString("{\"type\":\"array\",\"items\":{\"anyOf\":[" + WEATHER_CALL + "," + TIME_CALL + "]},\"minItems\":1}");
        assertThat(ToolConstraint.schema(settings(ToolChoice.REQUIRED, true, TIME)))
                .hasToString("{\"type\":\"array\",\"items\":" + TIME_CALL + ",\"minItems\":1}");
    }

    @Test
    void definitionsMoveToTheRoot() {
        ToolDefinition order = new ToolDefinition("order", null, json("""
                {"type": "object", "properties": {"item": {"$ref": "#/$defs/Item"}},
                 "$defs": {"Item": {"type": "object", "properties": {"sub": {"$ref": "#/$defs/Item"}}}}}"""), null);
        assertThat(ToolConstraint.schema(settings(ToolChoice.REQUIRED, false, order, TIME))).hasToString("{\"anyOf\":["
                + "{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"order\"},\"arguments\":{\"type\":\"object\","
                + "\"properties\":{\"item\":{\"$ref\":\"#/$defs/order.Item\"}}}},\"required\":[\"name\",\"arguments\"],"
                + "\"additionalProperties\":false}," + TIME_CALL + "],\"$defs\":{\"order.Item\":{\"type\":\"object\","
                + "\"properties\":{\"sub\":{\"$ref\":\"#/$defs/order.Item\"}}}}}");
    }

    @Test
    void whatTheConstraintAllowsIsParsed() {
        ToolCallParser parser = new ToolCallParser(settings(ToolChoice.REQUIRED, true, WEATHER, TIME));
        assertThat(parser.parse("[{\"name\": \"get_time\", \"arguments\": {}}, {\"name\": \"get_weather\","
                + " \"arguments\": {\"city\": \"Oslo\"}}]").toolCalls()).extracting(c -> c.function().arguments())
                .containsExactly("{}", "{\"city\": \"Oslo\"}");
        assertThat(parser.parse("{\"name\": \"get_time\", \"arguments\": {}}").toolCalls()).hasSize(1);
    }
}
