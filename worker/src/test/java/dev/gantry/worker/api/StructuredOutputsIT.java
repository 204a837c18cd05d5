package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gantry.worker.testing.OpenAiPython;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Structured outputs on SmolLM2-135M-Instruct through the official OpenAI Python SDK: a strict
 * JSON Schema holds for every one of 20 seeds, json_object streams a JSON object, guided_choice,
 * guided_regex and guided_grammar hold, a schema keyword the grammar cannot enforce is a 400 naming
 * the field; and 16 greedy requests mixing constrained, log-probability and plain ones give the
 * same tokens and log-probabilities together as alone. Prints the grammar's measured cost.
 */
@QuarkusTest
@TestProfile(OpenAiChatIT.SmolLm2.class)
class StructuredOutputsIT {
    @TestHTTPResource("/")
    URL root;

    @Test
    void outputsFollowTheirGrammarsAndBatchesChangeNothing() throws Exception {
        ApiTestSupport.awaitReady(root.toURI(), Duration.ofMinutes(2));
        ObjectMapper json = new ObjectMapper();
        JsonNode out = json.readTree(OpenAiPython.run("structured_outputs.py", root.toURI().resolve("/v1").toString(), "smollm2"));

        for (JsonNode r : out.path("schema_seeds")) {
            String content = r.path("content").asText();
            assertThat(r.path("finish_reason").asText()).as("seed %s: %s", r.path("seed"), content).isEqualTo("stop");
            JsonNode person = json.readTree(content);
            assertThat(person.isObject()).as(content).isTrue();
            assertThat(iterable(person.fieldNames())).as(content).containsExactly("name", "age", "colour", "tags");
            assertThat(person.path("name").isTextual()).isTrue();
            // JSON Schema counts characters (code points), not Java's UTF-16 units.
            assertThat(codePoints(person.path("name").asText())).isLessThanOrEqualTo(24);
            assertThat(person.path("age").isIntegralNumber()).as(content).isTrue();
            assertThat(person.path("colour").asText()).isIn("red", "green", "blue");
            assertThat(person.path("tags").isArray()).isTrue();
            assertThat(person.path("tags").size()).isLessThanOrEqualTo(3);
            person.path("tags").forEach(t -> assertThat(t.isTextual() && codePoints(t.asText()) <= 12).as(content).isTrue());
        }
        assertThat(out.path("schema_seeds").size()).isEqualTo(20);
        assertThat(json.readTree(out.path("json_object_stream").asText()).isObject()).isTrue();
        assertThat(out.path("choice").asText()).isIn("yes", "no", "maybe");
        assertThat(out.path("regex").asText()).matches("\\d{3}-\\d{4}");
        assertThat(out.path("grammar").asText()).isIn("Yes, it is.", "Yes, it is not.");
        JsonNode bad = out.path("bad_schema");
        assertThat(bad.path("status").asInt()).isEqualTo(400);
        assertThat(bad.path("param").asText()).isEqualTo("response_format");
        assertThat(bad.path("message").asText()).contains("patternProperties");

        JsonNode alone = out.path("invariance").path("alone");
        JsonNode together = out.path("invariance").path("together");
        for (int i = 0; i < 16; i++) {
            assertThat(together.get(i).path("content")).as("request %d", i).isEqualTo(alone.get(i).path("content"));
            JsonNode a = alone.get(i).path("logprobs");
            JsonNode t = together.get(i).path("logprobs");
            assertThat(t.size()).isEqualTo(a.size());
            for (int j = 0; j < a.size(); j++) {
                // Tokens are the same bit for bit; log-probabilities to float rounding, since a
                // prefix-cache hit or another batch shape sums the same products in another order.
                assertThat(t.get(j).asDouble()).isCloseTo(a.get(j).asDouble(), within(1e-4));
            }
        }
        for (JsonNode c : out.path("cost")) {
            assertThat(c.path("tokens").asInt()).isEqualTo(64 * c.path("requests").asInt());
            System.out.printf("grammar cost: %d request(s), %s: %d tokens in %.2f s%n", c.path("requests").asInt(),
                    Set.of(0, 2).contains(indexOf(out.path("cost"), c)) ? "free" : "json_schema",
                    c.path("tokens").asInt(), c.path("seconds").asDouble());
        }
    }

    /**
     * Tools on SmolLM2, whose template knows none (the tools go into the system message): a named
     * tool_choice gives a call to that function whose arguments parse and fit its schema on 10
     * seeds; required (one call) streams a call that parses once its deltas are joined; a tool result goes
     * back into the conversation; tools on completions are refused by name.
     */
    @Test
    void toolCallsAreValidForTheirSchemas() throws Exception {
        ApiTestSupport.awaitReady(root.toURI(), Duration.ofMinutes(2));
        ObjectMapper json = new ObjectMapper();
        JsonNode out = json.readTree(OpenAiPython.run("tool_calls.py", root.toURI().resolve("/v1").toString(), "smollm2"));
        System.out.println(out.toPrettyString()); // what the calls were, in the test log
        assertThat(out.path("named").size()).isEqualTo(10);
        for (JsonNode r : out.path("named")) {
            assertThat(r.path("finish_reason").asText()).as(r.toString()).isEqualTo("tool_calls");
            assertThat(r.path("calls").size()).as(r.toString()).isEqualTo(1);
            JsonNode call = r.path("calls").get(0);
            assertThat(call.path("name").asText()).isEqualTo("get_weather");
            assertThat(call.path("id").asText()).startsWith("call_");
            JsonNode args = json.readTree(call.path("arguments").asText());
            assertThat(iterable(args.fieldNames())).as(call.toString()).containsExactly("city", "unit");
            assertThat(args.path("city").isTextual()).isTrue();
            assertThat(args.path("unit").asText()).isIn("celsius", "fahrenheit");
        }
        for (JsonNode r : out.path("required_stream")) {
            assertThat(r.path("finish_reason").asText()).as(r.toString()).isEqualTo("tool_calls");
            assertThat(r.path("calls").size()).as(r.toString()).isEqualTo(1);
            for (JsonNode call : r.path("calls")) {
                assertThat(call.path("name").asText()).isIn("get_weather", "get_time");
                assertThat(call.path("id").asText()).startsWith("call_");
                JsonNode args = json.readTree(call.path("arguments").asText());
                assertThat(args.path("city").isTextual()).as(call.toString()).isTrue();
            }
        }
        assertThat(out.path("auto").path("finish_reason").asText()).isIn("stop", "length", "tool_calls");
        assertThat(out.path("after_result").path("content").asText()).isNotBlank();
        assertThat(out.path("completions_tools").path("status").asInt()).isEqualTo(400);
        assertThat(out.path("completions_tools").path("param").asText()).isEqualTo("tools");
    }

    private static int codePoints(String s) {
        return s.codePointCount(0, s.length());
    }

    private static int indexOf(JsonNode array, JsonNode element) {
        for (int i = 0; i < array.size(); i++) {
            if (array.get(i) == element) {
                return i;
            }
        }
        return -1;
    }

    private static <T> java.util.List<T> iterable(java.util.Iterator<T> it) {
        java.util.List<T> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
