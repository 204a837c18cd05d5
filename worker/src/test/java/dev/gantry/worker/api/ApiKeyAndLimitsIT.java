package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A worker with an API key, a request timeout and room for one running and one waiting request,
 * on the scalar backend so that long requests stay long: 401s, 429 with Retry-After, 504.
 */
@QuarkusTest
@TestProfile(ApiKeyAndLimitsIT.Limited.class)
class ApiKeyAndLimitsIT {
    private static final String KEY = "sk-gantry-test";
    private static final Pattern WAITING_ONE = Pattern.compile("(?m)^vllm:num_requests_waiting\\{[^}]*\\} 1\\.0$");
    private static final String LONG_STREAM = "{\"prompt\": \"Once\", \"max_tokens\": 2000, \"ignore_eos\": true, \"stream\": true}";

    public static class Limited implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("gantry.api-key", KEY, "gantry.backend", "reference", "gantry.request-timeout", "1s",
                    "gantry.max-num-seqs", "1", "gantry.max-waiting-requests", "1");
        }
    }

    @TestHTTPResource("/")
    URL rootUrl;

    private URI root;

    @BeforeEach
    void ready() throws Exception {
        root = rootUrl.toURI();
        ApiTestSupport.awaitReady(root, Duration.ofMinutes(2));
    }

    @Test
    void theKeyIsRequiredOnTheApiOnly() throws Exception {
        URI models = root.resolve("/v1/models");
        HttpResponse<String> none = ApiTestSupport.get(models);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Bearer");
        assertThat(ApiTestSupport.error(none).get("message").asText()).contains("You didn't provide an API key");
        HttpResponse<String> wrong = ApiTestSupport.send(HttpRequest.newBuilder(models)
                .header("Authorization", "Bearer sk-gantry-tesT").build());
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(ApiTestSupport.error(wrong).get("code").asText()).isEqualTo("invalid_api_key");
        assertThat(ApiTestSupport.send(HttpRequest.newBuilder(models).header("Authorization", "Bearer " + KEY).build())
                .statusCode()).isEqualTo(200);
        // Even a route that does not exist answers 401 first: nothing about the API shows without the key.
        assertThat(ApiTestSupport.get(root.resolve("/v1/nothing")).statusCode()).isEqualTo(401);
        assertThat(ApiTestSupport.get(root.resolve("/health/ready")).statusCode()).isEqualTo(200);
        assertThat(ApiTestSupport.get(root.resolve("/metrics")).statusCode()).isEqualTo(200);

        var sdk = OpenAIOkHttpClient.builder().baseUrl(root.resolve("/v1").toString()).apiKey("wrong").maxRetries(0).build();
        UnauthorizedException e = catchThrowableOfType(UnauthorizedException.class, () -> sdk.models().list());
        assertThat(e.statusCode()).isEqualTo(401);
        var good = OpenAIOkHttpClient.builder().baseUrl(root.resolve("/v1").toString()).apiKey(KEY).maxRetries(0).build();
        assertThat(good.models().list().data()).hasSize(1);
    }

    @Test
    void aFullQueueAnswers429WithRetryAfter() throws Exception {
        HttpResponse<InputStream> running = openStream(); // its head comes with its first token: it runs
        // A waiting stream gets no head until it runs (see GenerationExchange): send it without
        // waiting for one, and see it queued in the metrics instead.
        CompletableFuture<HttpResponse<InputStream>> waiting = ApiTestSupport.HTTP.sendAsync(streamRequest(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream a = running.body()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (!WAITING_ONE.matcher(ApiTestSupport.get(root.resolve("/metrics")).body()).find()) {
                assertThat(System.nanoTime()).as("the second stream is queued within 5 s").isLessThan(deadline);
                Thread.sleep(20);
            }
            HttpResponse<String> third = authorized(LONG_STREAM);
            assertThat(third.statusCode()).isEqualTo(429);
            assertThat(third.headers().firstValue("Retry-After")).contains("1");
            JsonNode error = ApiTestSupport.error(third);
            assertThat(error.get("type").asText()).isEqualTo("rate_limit_error");
            assertThat(error.get("message").asText()).contains("at capacity");
        } finally {
            waiting.cancel(true); // aborts the exchange if it is still open; else its body is closed
            waiting.thenAccept(r -> {
                try {
                    r.body().close();
                } catch (IOException e) {
                    // already gone
                }
            });
        }
    }

    @Test
    void aRequestRunningPastTheTimeoutIsCancelled() throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> r = authorized("{\"prompt\": \"Once\", \"max_tokens\": 2000, \"ignore_eos\": true}");
        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(ApiTestSupport.error(r).get("message").asText()).contains("gantry.request-timeout");
        // 2000 tokens on the scalar backend take several seconds; the timeout is 1 s.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));

        HttpResponse<String> stream = authorized(LONG_STREAM);
        assertThat(stream.statusCode()).isEqualTo(200);
        assertThat(stream.body()).contains("\"error\":{\"message\":\"The request ran longer than gantry.request-timeout")
                .endsWith("data: [DONE]\n\n");
    }

    private HttpResponse<String> authorized(String body) throws Exception {
        return ApiTestSupport.post(root.resolve("/v1/completions"), body, "Authorization", "Bearer " + KEY);
    }

    private HttpRequest streamRequest() {
        return HttpRequest.newBuilder(root.resolve("/v1/completions"))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(LONG_STREAM)).build();
    }

    private HttpResponse<InputStream> openStream() throws Exception {
        HttpResponse<InputStream> r = ApiTestSupport.HTTP.send(streamRequest(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        return r;
    }
}
