package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.gantry.worker.testing.TestModels;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./gantry serve} as users run it: the launcher, the packaged Quarkus app (built by the
 * package phase before failsafe runs), a real process and a real SIGTERM.
 */
class ServeProcessIT {
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private Process process;
    private Path log;

    @AfterEach
    void stop() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Process start(String... args) throws IOException {
        return start(Map.of(), args);
    }

    private Process start(Map<String, String> env, String... args) throws IOException {
        Path root = Path.of(System.getProperty("gantry.repo.root", "..")).toAbsolutePath().normalize();
        List<String> command = new ArrayList<>(List.of(root.resolve("gantry").toString(), "serve"));
        command.addAll(List.of(args));
        log = tmp.resolve("serve.log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("GANTRY_JAVA_OPTS", "-Xmx512m");
        pb.environment().putAll(env);
        process = pb.start();
        return process;
    }

    private String log() throws IOException {
        return Files.readString(log);
    }

    @Test
    void drainsOnSigtermAndExitsZero() throws Exception {
        int port = ApiTestSupport.freePort();
        // The scalar backend keeps a 2000-token request running for seconds: long enough to drain.
        start("--model", TestModels.stories260K().toString(), "--port", Integer.toString(port), "--host", "127.0.0.1",
                "--backend", "reference", "--max-num-seqs", "4", "--drain-timeout", DRAIN_TIMEOUT.toSeconds() + "s");
        URI root = URI.create("http://127.0.0.1:" + port + "/");
        awaitReady(root);

        String metrics = ApiTestSupport.get(root.resolve("/metrics")).body();
        assertThat(metrics).contains("vllm:num_requests_running{model_name=\"stories260K\"", "vllm:kv_cache_usage_perc{",
                "# TYPE vllm:generation_tokens counter", "vllm:generation_tokens_total{");

        HttpRequest longStream = HttpRequest.newBuilder(root.resolve("/v1/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"Once upon a time\", \"max_tokens\": 2000,"
                        + " \"ignore_eos\": true, \"stream\": true}")).build();
        HttpResponse<InputStream> stream = ApiTestSupport.HTTP.send(longStream, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.statusCode()).isEqualTo(200);
        List<String> events = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
            events.add(nextEvent(reader));
            long sigterm = System.nanoTime();
            process.destroy(); // SIGTERM

            // Draining: the server still answers, but refuses new work and is not ready.
            Thread.sleep(300);
            assertRefused(ApiTestSupport.post(root.resolve("/v1/completions"), "{\"prompt\": \"x\", \"max_tokens\": 2}"),
                    "shutting_down");
            assertRefused(ApiTestSupport.get(root.resolve("/health/ready")), null);

            for (String event; (event = nextEvent(reader)) != null; ) {
                events.add(event);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - sigterm)).isLessThan(DRAIN_TIMEOUT);
        }
        assertThat(events.getLast()).isEqualTo("data: [DONE]");
        assertThat(events.get(events.size() - 2)).contains("\"finish_reason\":\"length\"");
        assertThat(events.size()).as("one event per token, the finish event and [DONE]").isGreaterThan(1000);

        assertThat(process.waitFor(DRAIN_TIMEOUT.toSeconds() + 15, TimeUnit.SECONDS)).as(log()).isTrue();
        assertThat(process.exitValue()).as(log()).isZero();
        assertThat(log()).contains("draining 1 request(s)", "drained: all requests finished");
    }

    @Test
    void theEnvironmentConfiguresTheServerToo() throws Exception {
        int port = ApiTestSupport.freePort();
        start(Map.of("GANTRY_MODEL", TestModels.stories260K().toString(), "QUARKUS_HTTP_PORT", Integer.toString(port),
                "GANTRY_SERVED_MODEL_NAME", "tiny-stories", "GANTRY_MAX_MODEL_LEN", "256"));
        URI root = URI.create("http://127.0.0.1:" + port + "/");
        awaitReady(root);
        var model = ApiTestSupport.json(ApiTestSupport.get(root.resolve("/v1/models")).body()).at("/data/0");
        assertThat(model.get("id").asText()).isEqualTo("tiny-stories");
        assertThat(model.get("max_model_len").asInt()).isEqualTo(256);
        process.destroy();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(log()).isZero();
    }

    /**
     * An f16 KV cache: the start log says what it holds and saves, /metrics carries vLLM's
     * cache_config_info and the bytes saved, and requests are served. q8_0 on a model whose heads
     * are 8 values wide exits at start, naming the setting.
     */
    @Test
    void theKvCacheDtypeIsLoggedMeasuredAndChecked() throws Exception {
        int port = ApiTestSupport.freePort();
        start("--model", TestModels.stories260K().toString(), "--port", Integer.toString(port), "--host", "127.0.0.1",
                "--kv-cache-dtype", "f16", "--kv-cache-memory", "8M");
        URI root = URI.create("http://127.0.0.1:" + port + "/");
        awaitReady(root);
        assertThat(log()).contains("KV cache f16 (", "0.50x of f32's", "in 8.0 MiB (kv-cache-memory)");
        String metrics = ApiTestSupport.get(root.resolve("/metrics")).body();
        assertThat(metrics).contains("vllm:cache_config_info{block_size=\"16\",cache_dtype=\"f16\"",
                "gantry:kv_cache_memory_bytes{cache_dtype=\"f16\",model_name=\"stories260K\"} 8386560.0",
                "gantry:kv_cache_saved_bytes{cache_dtype=\"f16\",model_name=\"stories260K\"} 8386560.0");
        var done = ApiTestSupport.post(root.resolve("/v1/completions"),
                "{\"prompt\": \"Once upon a time\", \"max_tokens\": 24, \"temperature\": 0}");
        assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
        assertThat(ApiTestSupport.json(done.body()).at("/usage/completion_tokens").asInt()).isEqualTo(24);
        process.destroy();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();

        start("--model", TestModels.stories260K().toString(), "--port", Integer.toString(ApiTestSupport.freePort()),
                "--kv-cache-dtype", "q8_0");
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(1);
        assertThat(log()).contains("gantry.kv-cache-dtype (--kv-cache-dtype, GANTRY_KV_CACHE_DTYPE) q8_0 stores 32-value"
                + " blocks within a head, but the model's head dimension is 8: use f16 or f32");
    }

    @Test
    void aBadModelPathExitsNonZeroWithTheReason() throws Exception {
        Path missing = tmp.resolve("no-such-model.gguf");
        Path termination = tmp.resolve("termination-log");
        start(Map.of("GANTRY_TERMINATION_MESSAGE_PATH", termination.toString()),
                "--model", missing.toString(), "--port", Integer.toString(ApiTestSupport.freePort()));
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the worker must not linger").isTrue();
        assertThat(process.exitValue()).as(log()).isEqualTo(1);
        assertThat(log()).contains("gantry: cannot load the model: model file not found: " + missing);
        // What Kubernetes shows as the container's termination message, and the operator as Degraded's reason.
        assertThat(Files.readString(termination)).isEqualTo("ModelNotFound: model " + missing + ": model file not found: "
                + missing + "\n");
    }

    @Test
    void whileDownloadingTheReadinessCheckSaysHowFarAndTheLogShowsProgress() throws Exception {
        byte[] model = Files.readAllBytes(TestModels.stories260K());
        HttpServer hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hub.setExecutor(Executors.newCachedThreadPool());
        // A slow hub: the whole file in 20 pieces, 250 ms apart.
        hub.createContext("/test/stories-GGUF/resolve/main/stories260K.gguf", exchange -> {
            exchange.sendResponseHeaders(200, model.length);
            try (OutputStream out = exchange.getResponseBody()) {
                int piece = model.length / 20 + 1;
                for (int off = 0; off < model.length; off += piece) {
                    out.write(model, off, Math.min(piece, model.length - off));
                    out.flush();
                    Thread.sleep(250);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        hub.start();
        try {
            int port = ApiTestSupport.freePort();
            start(Map.of("HF_ENDPOINT", "http://127.0.0.1:" + hub.getAddress().getPort(),
                            "GANTRY_CACHE", tmp.resolve("cache").toString()),
                    "--model", "hf://test/stories-GGUF/stories260K.gguf", "--port", Integer.toString(port),
                    "--host", "127.0.0.1");
            URI ready = URI.create("http://127.0.0.1:" + port + "/health/ready");
            JsonNode downloading = null;
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (downloading == null && System.nanoTime() < deadline && process.isAlive()) {
                try {
                    HttpResponse<String> r = ApiTestSupport.get(ready);
                    JsonNode data = modelCheck(r.body());
                    if ("downloading".equals(data.path("phase").asText()) && data.path("downloadedBytes").asLong() > 0) {
                        assertThat(r.statusCode()).isEqualTo(503);
                        downloading = data;
                    }
                } catch (IOException e) {
                    // not listening yet
                }
                Thread.sleep(100);
            }
            assertThat(downloading).as("a readiness answer during the download:\n" + log()).isNotNull();
            assertThat(downloading.path("state").asText()).isEqualTo("loading");
            assertThat(downloading.path("file").asText()).isEqualTo("hf://test/stories-GGUF@main/stories260K.gguf");
            assertThat(downloading.path("totalBytes").asLong()).isEqualTo(model.length);
            assertThat(downloading.path("downloadedBytes").asLong()).isBetween(1L, (long) model.length);

            awaitReady(URI.create("http://127.0.0.1:" + port + "/"));
            JsonNode served = modelCheck(ApiTestSupport.get(ready).body());
            assertThat(served.path("state").asText()).isEqualTo("ready");
            assertThat(served.has("phase")).as("only while loading").isFalse();
            // Not a terminal: a line per tenth of the file, with sizes and rate.
            assertThat(log()).contains("downloading hf://test/stories-GGUF@main/stories260K.gguf (")
                    .containsPattern(" 50% \\[#{10}-{10}\\] .+ / .+  .+/s  ETA ")
                    .contains("downloaded hf://test/stories-GGUF@main/stories260K.gguf (");
            process.destroy();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            hub.stop(0);
        }
    }

    @Test
    void badSettingsExitBeforeLoading() throws Exception {
        start("--model", TestModels.stories260K().toString(), "--port", Integer.toString(ApiTestSupport.freePort()),
                "--max-num-seqs", "0");
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(1);
        assertThat(log()).contains("invalid configuration: gantry.max-num-seqs (--max-num-seqs, GANTRY_MAX_NUM_SEQS)"
                + " must be at least 1, got 0").doesNotContain("loading model");

        start("--model", TestModels.stories260K().toString(), "--max-num-seqs", "many");
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(2);
        assertThat(log()).contains("error: Invalid value for option '--max-num-seqs': 'many' is not an int");
    }

    /** The data of the readiness check named "model" (Quarkus lists its own checks too, in no fixed order). */
    private static JsonNode modelCheck(String body) throws IOException {
        for (JsonNode check : ApiTestSupport.json(body).path("checks")) {
            if ("model".equals(check.path("name").asText())) {
                return check.path("data");
            }
        }
        throw new AssertionError("no model check in " + body);
    }

    /** The next {@code data:} line of a server-sent event stream, or null at its end. */
    private static String nextEvent(BufferedReader reader) throws IOException {
        for (String line; (line = reader.readLine()) != null; ) {
            if (!line.isEmpty()) {
                return line;
            }
        }
        return null;
    }

    /** 503 (with an OpenAI error code, when given) while draining. */
    private static void assertRefused(HttpResponse<String> response, String code) throws IOException {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(503);
        if (code != null) {
            assertThat(ApiTestSupport.error(response).get("code").asText()).isEqualTo(code);
        }
    }

    private void awaitReady(URI root) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("gantry serve exited with " + process.exitValue() + ":\n" + log());
            }
            try {
                if (ApiTestSupport.get(root.resolve("/health/ready")).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("gantry serve was not ready in 2 minutes:\n" + log());
    }
}
