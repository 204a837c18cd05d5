package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gantry.worker.testing.OpenAiPython;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URL;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every request field of OpenAI's chat and completions schemas, as the official Python SDK
 * declares them, sent by that SDK with a value that asks for something: each is honoured (200) or
 * refused with a 400 that names it, and the honoured ones are exactly those this server
 * implements. A field accepted and silently ignored (a client asks for JSON and gets free text)
 * fails here; so does a new field in the SDK that the walk has no value for.
 */
@QuarkusTest
class OpenAiPythonSdkIT {
    /** What this server does with each field; a field honoured here must have its own tests. */
    static final Set<String> HONOURED_CHAT = Set.of("messages", "model", "max_tokens", "max_completion_tokens",
            "stream", "stream_options", "temperature", "top_p", "seed", "stop", "frequency_penalty",
            "presence_penalty", "logit_bias", "user", "safety_identifier", "prompt_cache_key",
            "parallel_tool_calls", "tools", // tool_choice alone is refused by name: it needs tools
            "logprobs", "n", "response_format"); // top_logprobs alone is refused by name: it needs logprobs: true, as OpenAI says
    static final Set<String> HONOURED_COMPLETIONS = Set.of("prompt", "echo", "model", "max_tokens", "stream",
            "stream_options", "temperature", "top_p", "seed", "stop", "frequency_penalty", "presence_penalty",
            "logit_bias", "user", "logprobs", "n", "best_of");

    @TestHTTPResource("/")
    URL root;

    @Test
    void everyFieldOfTheSdksSchemasIsHonouredOrRefusedByName() throws Exception {
        ApiTestSupport.awaitReady(root.toURI(), Duration.ofMinutes(2));
        String out = OpenAiPython.run("request_fields.py", root.toURI().resolve("/v1").toString(), "stories260K");
        System.out.println(out); // what became of each field, in the test log
        JsonNode walk = new ObjectMapper().readTree(out);
        assertThat(walk.path("missing")).as("fields of openai %s the walk has no value for",
                walk.path("sdk_version").asText()).isEmpty();
        check(walk.path("chat"), HONOURED_CHAT, "chat");
        check(walk.path("completions"), HONOURED_COMPLETIONS, "completions");
    }

    private static void check(JsonNode results, Set<String> honoured, String endpoint) {
        assertThat(results.size()).as(endpoint + " fields walked").isGreaterThan(honoured.size());
        Set<String> accepted = new TreeSet<>();
        for (Map.Entry<String, JsonNode> e : results.properties()) {
            String field = e.getKey();
            JsonNode r = e.getValue();
            int status = r.path("status").asInt();
            if (status == 200) {
                accepted.add(field);
                continue;
            }
            assertThat(status).as("%s.%s: %s", endpoint, field, r).isEqualTo(400);
            assertThat(r.path("param").asText()).as("%s.%s: the 400 names the field (%s)", endpoint, field, r)
                    .isEqualTo(field);
            assertThat(r.path("message").asText()).as("%s.%s", endpoint, field).contains(field);
        }
        assertThat(accepted).as(endpoint + ": the fields answered with 200").containsExactlyInAnyOrderElementsOf(honoured);
    }
}
