package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gantry bench serve} against a stub server: what it sends, and how it reports each kind of failure. */
class ServeCommandTest {

    private static final Duration FAST = Duration.ofMillis(1);

    @TempDir
    Path dir;

    @Test
    void sendsFixedLengthGreedyStreamedRequestsWithUniquePrompts() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(stub.streaming(FAST, FAST, 4));
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "tiny", "--concurrency", "2,3",
                    "--num-requests", "5", "--warmup", "1", "--input-len", "20", "--output-len", "4",
                    "--api-key", "sk-test", "--seed", "9", "--no-calibrate");

            assertThat(run.exit()).as(run.err()).isZero();
            assertThat(stub.requests()).hasSize(2 * (1 + 5));
            Set<String> prompts = new HashSet<>();
            for (JsonNode r : stub.requests()) {
                assertThat(r.path("model").asText()).isEqualTo("tiny");
                assertThat(r.path("max_tokens").asInt()).isEqualTo(4);
                assertThat(r.path("min_tokens").asInt()).isEqualTo(4);
                assertThat(r.path("ignore_eos").asBoolean()).isTrue();
                assertThat(r.path("temperature").asDouble()).isZero();
                assertThat(r.path("stream").asBoolean()).isTrue();
                assertThat(r.path("stream_options").path("include_usage").asBoolean()).isTrue();
                assertThat(r.path("prompt").asText().split(" ")).hasSize(20);
                prompts.add(r.path("prompt").asText());
            }
            assertThat(prompts).as("no prompt repeats, across levels and warmups").hasSize(12);
            assertThat(stub.authorizations()).containsOnly("Bearer sk-test");
            assertThat(run.out()).contains("seed 9", "successful requests", "5/5");
        }
    }

    @Test
    void headersGoWithEveryRequestIncludingHostForAnIngressThatRoutesByName() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(stub.streaming(FAST, FAST, 2));
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "tiny", "--concurrency", "1",
                    "--num-requests", "2", "--warmup", "0", "--input-len", "5", "--output-len", "2", "--no-calibrate",
                    "--header", "Host: llm.example.test", "--header", "X-Tenant:blue");

            assertThat(run.exit()).as(run.err()).isZero();
            assertThat(stub.hosts()).hasSize(2).containsOnly("llm.example.test");
        }
    }

    @Test
    void httpErrorsAreCountedByStatusWithTheServersMessageAndTheRestStillReported() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(stub.streaming(FAST, FAST, 3), StubOpenAiServer.status(429, "queue is full, retry later"));
            Path json = dir.resolve("r.json");
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--concurrency", "1",
                    "--num-requests", "6", "--warmup", "0", "--output-len", "3", "--json", json.toString());

            assertThat(run.exit()).isEqualTo(BenchCli.EXIT_FAILED_REQUESTS);
            JsonNode level = CliRun.readJson(json).path("levels").get(0);
            assertThat(level.path("completed").asInt()).isEqualTo(3);
            assertThat(level.path("failed").asInt()).isEqualTo(3);
            assertThat(level.path("errors").path("http 429").path("count").asInt()).isEqualTo(3);
            assertThat(level.path("errors").path("http 429").path("example").asText()).isEqualTo("queue is full, retry later");
            assertThat(level.path("ttft_ms").path("count").asInt()).as("only successes are timed").isEqualTo(3);
            assertThat(run.out()).contains("c=1: 3 x http 429: queue is full, retry later");
        }
    }

    @Test
    void malformedStreamsAreReportedByKind() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(
                    StubOpenAiServer.rawStream("data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {not json\n\n"),
                    StubOpenAiServer.rawStream("data: {\"choices\":[{\"text\":\"a\"}]}\n\n"),
                    StubOpenAiServer.rawStream("data: {\"error\":{\"message\":\"out of KV cache\"}}\n\n"),
                    StubOpenAiServer.rawStream("data: {\"choices\":[],\"usage\":{\"completion_tokens\":0}}\n\ndata: [DONE]\n\n"));
            Path json = dir.resolve("r.json");
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--num-requests", "8",
                    "--warmup", "0", "--json", json.toString());

            assertThat(run.exit()).isEqualTo(BenchCli.EXIT_FAILED_REQUESTS);
            JsonNode errors = CliRun.readJson(json).path("levels").get(0).path("errors");
            assertThat(errors.path("malformed sse").path("count").asInt()).isEqualTo(2);
            assertThat(errors.path("malformed sse").path("example").asText()).contains("not JSON: {not json");
            assertThat(errors.path("missing [DONE]").path("count").asInt()).isEqualTo(2);
            assertThat(errors.path("error in stream").path("example").asText()).isEqualTo("out of KV cache");
            assertThat(errors.path("no tokens").path("count").asInt()).isEqualTo(2);
        }
    }

    @Test
    void aRequestOverTheTimeoutIsATimeoutAndEndsAtTheLimit() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(StubOpenAiServer.silentFor(Duration.ofSeconds(5)));
            Path json = dir.resolve("r.json");
            long start = System.nanoTime();
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--num-requests", "2",
                    "--warmup", "0", "--timeout", "300ms", "--json", json.toString());

            assertThat((System.nanoTime() - start) / 1e9).isLessThan(3);
            assertThat(run.exit()).isEqualTo(BenchCli.EXIT_FAILED_REQUESTS);
            JsonNode level = CliRun.readJson(json).path("levels").get(0);
            assertThat(level.path("errors").path("timeout").path("count").asInt()).isEqualTo(2);
        }
    }

    @Test
    void anUnreachableServerStopsAtOnceWithAClearMessage() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        CliRun run = CliRun.of("serve", "--url", "http://127.0.0.1:" + port, "--model", "m",
                "--concurrency", "4,16", "--num-requests", "100");

        assertThat(run.exit()).isEqualTo(BenchCli.EXIT_FAILED_REQUESTS);
        assertThat(run.err()).contains("error: cannot connect to http://127.0.0.1:" + port + ": connection refused");
    }

    @Test
    void aServerThatRejectsEveryWarmupRequestStopsTheRunWithItsMessage() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(StubOpenAiServer.status(404, "The model `nope` does not exist."));
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "nope", "--concurrency", "2,8");

            assertThat(run.exit()).isEqualTo(BenchCli.EXIT_FAILED_REQUESTS);
            assertThat(run.err()).contains("every warmup request at c=2 failed, the first with http 404: "
                    + "The model `nope` does not exist.");
            assertThat(stub.requests()).as("one calibration probe, then the warmup of c=2").hasSize(3);
        }
    }

    @Test
    void badCommandLinesAreRejectedBeforeAnyRequest() {
        assertUsageError("error: --concurrency values must be 1 or more", "--concurrency", "0,4");
        assertUsageError("error: --url must be an http:// or https:// address", "--url", "ftp://host");
        assertUsageError("error: not a duration: 'soon'", "--timeout", "soon");
        assertUsageError("error: unknown endpoint 'embeddings'", "--endpoint", "embeddings");
        assertUsageError("error: --output-len must be 1 or more", "--output-len", "0");
        assertUsageError("Invalid value for option '--num-requests'", "--num-requests", "many");
        assertUsageError("error: --header must be NAME:VALUE", "--header", "no-colon");
        assertUsageError("error: --header Content-Length cannot be set", "--header", "Content-Length: 3");
    }

    private static void assertUsageError(String message, String... override) {
        String[] args = {"serve", "--url", "http://127.0.0.1:9", "--model", "m", override[0], override[1]};
        if (override[0].equals("--url")) {
            args[2] = override[1];
            args = java.util.Arrays.copyOf(args, 5);
        }
        CliRun run = CliRun.of(args);
        assertThat(run.exit()).as(run.err()).isEqualTo(BenchCli.EXIT_USAGE);
        assertThat(run.err()).contains(message);
    }
}
