package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every way a request can be wrong, over plain HTTP: the status, an OpenAI error body naming the
 * problem, and a worker that goes on serving afterwards.
 */
@QuarkusTest
class ApiErrorsIT {

    @TestHTTPResource("/")
    URL rootUrl;

    private URI root;
    private URI completions;

    @BeforeEach
    void ready() throws Exception {
        root = rootUrl.toURI();
        completions = root.resolve("/v1/completions");
        ApiTestSupport.awaitReady(root, Duration.ofMinutes(2));
    }

    @AfterEach
    void stillServes() throws Exception {
        HttpResponse<String> ok = ApiTestSupport.post(completions, "{\"prompt\": \"Once upon a time\", \"max_tokens\": 5}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(ApiTestSupport.json(ok.body()).at("/choices/0/text").asText()).isNotEmpty();
    }

    private JsonNode expect(HttpResponse<String> r, int status, String messagePart) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode error = ApiTestSupport.error(r);
        assertThat(error.get("message").asText()).contains(messagePart);
        return error;
    }

    private JsonNode post(String body, int status, String messagePart) throws Exception {
        return expect(ApiTestSupport.post(completions, body), status, messagePart);
    }

    @Test
    void badJson() throws Exception {
        post("{\"prompt\": \"x\",", 400, "The request body is not valid JSON");
        post("", 400, "The request body is empty");
        post("[\"x\"]", 400, "must be a JSON object");
        expect(ApiTestSupport.post(root.resolve("/v1/chat/completions"), "{\"messages\": }"), 400, "not valid JSON");
    }

    @Test
    void wrongTypesAndValuesNameTheParameter() throws Exception {
        assertThat(post("{\"prompt\": \"x\", \"max_tokens\": \"ten\"}", 400, "max_tokens must be an integer, got a string")
                .get("param").asText()).isEqualTo("max_tokens");
        assertThat(post("{\"prompt\": \"x\", \"temperature\": []}", 400, "temperature must be a number")
                .get("param").asText()).isEqualTo("temperature");
        assertThat(post("{\"prompt\": {}}", 400, "prompt must be a string or an array of token ids")
                .get("param").asText()).isEqualTo("prompt");
        assertThat(post("{\"prompt\": \"x\", \"max_tokens\": 0}", 400, "max_tokens must be at least 1, got 0")
                .get("type").asText()).isEqualTo("invalid_request_error");
        post("{\"prompt\": \"x\", \"n\": 65}", 400, "n must be between 1 and 64");
        post("{\"prompt\": \"x\", \"top_p\": 1.5}", 400, "top_p must be in (0, 1]");
        post("{\"prompt\": [1, 2, 99999]}", 400, "prompt token ids must be below the vocabulary size 512, got 99999");
        post("{\"prompt\": \"x\", \"logit_bias\": {\"600\": 1}}", 400, "logit_bias keys must be token ids in [0, 512)");
        expect(ApiTestSupport.post(root.resolve("/v1/chat/completions"), "{\"messages\": [{\"role\": \"user\"}], \"stream\": 1}"),
                400, "stream must be a boolean");
    }

    @Test
    void unknownModel() throws Exception {
        JsonNode e = post("{\"model\": \"llama-70b\", \"prompt\": \"x\"}", 404, "The model `llama-70b` does not exist.");
        assertThat(e.get("code").asText()).isEqualTo("model_not_found");
    }

    @Test
    void promptLongerThanTheContext() throws Exception {
        String longPrompt = "Once upon a time ".repeat(700); // about 2800 tokens against a context of 2048
        JsonNode e = post("{\"prompt\": \"" + longPrompt + "\", \"max_tokens\": 10}", 400,
                "This model's maximum context length is 2048 tokens. However, you requested ");
        assertThat(e.get("code").asText()).isEqualTo("context_length_exceeded");
        assertThat(e.get("message").asText()).containsPattern("\\(\\d+ in the prompt, 10 in the completion\\)");
        post("{\"prompt\": \"Once\", \"max_tokens\": 2047}", 400, "However, you requested 2049 tokens (2 in the prompt, 2047 in the completion)");
        expect(ApiTestSupport.post(root.resolve("/v1/chat/completions"),
                "{\"messages\": [{\"role\": \"user\", \"content\": \"" + longPrompt + "\"}]}"), 400, "tokens in the messages");
    }

    @Test
    void bodyOverTheLimit() throws Exception {
        byte[] big = new byte[9 << 20]; // the default limit is 8M
        Arrays.fill(big, (byte) 'a');
        JsonNode e = expect(ApiTestSupport.send(HttpRequest.newBuilder(completions)
                .POST(HttpRequest.BodyPublishers.ofByteArray(big)).build()), 413, "larger than the limit of 8388608 bytes");
        assertThat(e.get("code").asText()).isEqualTo("request_too_large");
        // Without a Content-Length (chunked), the limit applies as the body arrives.
        expect(ApiTestSupport.send(HttpRequest.newBuilder(completions)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build()),
                413, "larger than the limit");
    }

    @Test
    void unknownRoutesAndMethods() throws Exception {
        expect(ApiTestSupport.get(root.resolve("/v1/embedding")), 404, "Invalid URL (GET /v1/embedding)");
        expect(ApiTestSupport.get(root.resolve("/v1/embeddings")), 405, "Method GET is not allowed for /v1/embeddings: use POST");
        expect(ApiTestSupport.post(root.resolve("/v1/engines/x/completions"), "{}"), 404, "Invalid URL");
        HttpResponse<String> get = ApiTestSupport.get(completions);
        expect(get, 405, "Method GET is not allowed for /v1/completions: use POST");
        assertThat(get.headers().firstValue("Allow")).contains("POST");
        expect(ApiTestSupport.post(root.resolve("/v1/models"), "{}"), 405, "use GET");
        expect(ApiTestSupport.send(HttpRequest.newBuilder(root.resolve("/v1/chat/completions"))
                .DELETE().build()), 405, "Method DELETE is not allowed");
    }

    @Test
    void rejectionsAreCounted() throws Exception {
        post("{\"prompt\": \"x\", \"n\": 0}", 400, "n must be between 1 and 64");
        String metrics = ApiTestSupport.get(root.resolve("/metrics")).body();
        assertThat(metrics).containsPattern("gantry:requests_rejected_total\\{model_name=\"stories260K\",reason=\"invalid_request\",?\\} [1-9]");
    }
}
