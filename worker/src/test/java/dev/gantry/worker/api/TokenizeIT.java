package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import dev.gantry.worker.testing.TestModels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * vLLM's {@code /tokenize}, {@code /detokenize} and {@code /version} on stories260K: the count a
 * client gets is the one generation sees ({@code usage.prompt_tokens}), the tokens are the
 * tokenizer's, and bad requests get OpenAI error bodies naming the field.
 */
@QuarkusTest
class TokenizeIT {
    private static final String TEXT = "Once upon a time";

    @TestHTTPResource("/")
    URL rootUrl;

    private URI root;

    @BeforeEach
    void ready() throws Exception {
        root = rootUrl.toURI();
        ApiTestSupport.awaitReady(root, Duration.ofMinutes(2));
    }

    private JsonNode ok(String path, String body) throws Exception {
        HttpResponse<String> r = ApiTestSupport.post(root.resolve(path), body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return ApiTestSupport.json(r.body());
    }

    private JsonNode refused(String path, String body, int status) throws Exception {
        HttpResponse<String> r = ApiTestSupport.post(root.resolve(path), body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        return ApiTestSupport.error(r);
    }

    private static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asInt()));
        return out;
    }

    @Test
    void tokenizeCountsWhatGenerationSees() throws Exception {
        JsonNode t = ok("/tokenize", "{\"model\": \"stories260K\", \"prompt\": \"" + TEXT + "\", \"return_token_strs\": true}");
        int[] expected;
        String[] spellings;
        try (Model model = Model.load(TestModels.stories260K())) {
            Tokenizer tok = model.tokenizer();
            expected = tok.encode(TEXT, tok.addBosByDefault(), true);
            spellings = new String[expected.length];
            for (int i = 0; i < expected.length; i++) {
                spellings[i] = tok.tokenText(expected[i]);
            }
        }
        assertThat(ints(t.get("tokens"))).containsExactly(java.util.Arrays.stream(expected).boxed().toArray(Integer[]::new));
        assertThat(t.get("count").asInt()).isEqualTo(expected.length);
        assertThat(t.get("max_model_len").asInt()).isEqualTo(2048);
        List<String> strs = new ArrayList<>();
        t.get("token_strs").forEach(n -> strs.add(n.asText()));
        assertThat(strs).containsExactly(spellings);

        JsonNode completion = ok("/v1/completions", "{\"prompt\": \"" + TEXT + "\", \"max_tokens\": 2, \"temperature\": 0}");
        assertThat(completion.at("/usage/prompt_tokens").asInt()).isEqualTo(t.get("count").asInt());

        JsonNode plain = ok("/tokenize", "{\"prompt\": \"" + TEXT + "\", \"add_special_tokens\": false}");
        assertThat(plain.get("count").asInt()).isEqualTo(expected.length - 1); // no BOS
        assertThat(plain.get("token_strs").isNull()).isTrue();

        JsonNode text = ok("/detokenize", "{\"tokens\": " + t.get("tokens") + "}");
        assertThat(text.get("prompt").asText()).isEqualTo("<s> " + TEXT);
        assertThat(ok("/detokenize", "{\"tokens\": " + plain.get("tokens") + "}").get("prompt").asText()).isEqualTo(TEXT);
    }

    @Test
    void badRequestsNameTheField() throws Exception {
        assertThat(refused("/tokenize", "{}", 400).get("param").asText()).isEqualTo("prompt");
        assertThat(refused("/tokenize", "{\"prompt\": 5}", 400).get("message").asText()).contains("prompt must be a string");
        assertThat(refused("/tokenize", "{\"prompt\": \"x\", \"truncate\": 3}", 400).get("param").asText()).isEqualTo("truncate");
        assertThat(refused("/tokenize", "{\"model\": \"other\", \"prompt\": \"x\"}", 404).get("message").asText())
                .contains("The model `other` does not exist");
        assertThat(refused("/detokenize", "{\"tokens\": [1, 99999]}", 400).get("message").asText())
                .contains("tokens must be token ids in [0, 512), got a number (99999) at index 1");
        assertThat(refused("/detokenize", "{\"tokens\": \"1 2\"}", 400).get("param").asText()).isEqualTo("tokens");
        HttpResponse<String> get = ApiTestSupport.get(root.resolve("/tokenize"));
        assertThat(get.statusCode()).isEqualTo(405);
        assertThat(get.headers().firstValue("Allow")).contains("POST");
    }

    @Test
    void versionSaysWhichGantry() throws Exception {
        HttpResponse<String> r = ApiTestSupport.get(root.resolve("/version"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(ApiTestSupport.json(r.body()).get("version").asText()).isNotBlank().isNotEqualTo("unknown");
    }
}
