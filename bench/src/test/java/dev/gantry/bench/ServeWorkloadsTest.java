package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gantry bench serve}'s workloads, calibration, server metrics, goodput and result files, against the stub. */
class ServeWorkloadsTest {

    private static final Duration FAST = Duration.ofMillis(1);

    @TempDir
    Path dir;

    @Test
    void promptLengthsAreCalibratedToTheServersTokens() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            // A "tokenizer" of 2 tokens a word plus 5 per request: 105 tokens are 50 words.
            stub.answerWith(stub.streaming(FAST, FAST, 4)).promptTokens(2, 5);
            Path json = dir.resolve("r.json");
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--num-requests", "4", "--warmup", "0",
                    "--input-len", "105", "--output-len", "4", "--json", json.toString());

            assertThat(run.exit()).as(run.err()).isZero();
            List<JsonNode> requests = stub.requests();
            assertThat(requests).hasSize(2 + 4);
            assertThat(requests.get(0).path("max_tokens").asInt()).as("probes generate one token").isEqualTo(1);
            for (JsonNode r : requests.subList(2, 6)) {
                assertThat(r.path("prompt").asText().split(" ")).hasSize(50);
            }
            assertThat(run.out()).contains("prompt 105 tokens = 50 words: 2.000 tokens per word + 5.0 per request");
            JsonNode root = CliRun.readJson(json);
            assertThat(root.path("levels").get(0).path("mean_prompt_tokens").asDouble()).isEqualTo(105);
            assertThat(root.path("settings").path("calibration").path("tokens_per_word").asDouble()).isEqualTo(2);
        }
    }

    @Test
    void sharedPrefixRequestsShareTheirGroupsSystemPromptAndNothingElse() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(stub.streaming(FAST, FAST, 2));
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--workload", "shared-prefix",
                    "--prefix-groups", "3", "--prefix-len", "40", "--input-len", "10", "--output-len", "2",
                    "--num-requests", "12", "--warmup", "0", "--no-calibrate", "--endpoint", "chat");

            assertThat(run.exit()).as(run.err()).isZero();
            Set<String> systems = new HashSet<>();
            Set<String> questions = new HashSet<>();
            for (JsonNode r : stub.requests()) {
                JsonNode messages = r.path("messages");
                assertThat(messages.get(0).path("role").asText()).isEqualTo("system");
                assertThat(messages.get(0).path("content").asText().split(" ")).hasSize(40);
                assertThat(messages.get(1).path("content").asText().split(" ")).hasSize(10);
                systems.add(messages.get(0).path("content").asText());
                questions.add(messages.get(1).path("content").asText());
            }
            assertThat(systems).hasSize(3);
            assertThat(questions).hasSize(12);
        }
    }

    @Test
    void chatWorkloadSendsMultiTurnConversationsToTheChatEndpoint() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(stub.streaming(FAST, FAST, 3));
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--workload", "chat",
                    "--num-requests", "20", "--warmup", "0", "--input-len", "60", "--output-len", "3",
                    "--range-ratio", "0", "--no-calibrate");

            assertThat(run.exit()).as(run.err()).isZero();
            Set<Integer> turnCounts = new HashSet<>();
            for (JsonNode r : stub.requests()) {
                JsonNode messages = r.path("messages");
                turnCounts.add(messages.size());
                int words = 0;
                for (int i = 0; i < messages.size(); i++) {
                    assertThat(messages.get(i).path("role").asText()).isEqualTo(i % 2 == 0 ? "user" : "assistant");
                    words += messages.get(i).path("content").asText().split(" ").length;
                }
                assertThat(words).isEqualTo(60);
            }
            assertThat(turnCounts).containsOnly(1, 3, 5).hasSizeGreaterThan(1);
        }
    }

    @Test
    void serverMetricsAreReadAroundEachLevel() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            // Counters that move with the requests the stub has seen: hits are a quarter of the queries.
            stub.answerWith(stub.streaming(Duration.ofMillis(30), FAST, 3)).metrics(() -> {
                int n = stub.requests().size();
                return String.format(Locale.ROOT, """
                        # HELP vllm:num_requests_waiting Requests waiting.
                        # TYPE vllm:num_requests_waiting gauge
                        vllm:num_requests_waiting{model_name="m",engine="0"} 2.0
                        vllm:num_requests_waiting{model_name="m",engine="1"} 1.0
                        vllm:kv_cache_usage_perc{model_name="m"} 0.42
                        vllm:prefix_cache_queries_total{model_name="m"} %d.0
                        vllm:prefix_cache_hits_total{model_name="m"} %d.0
                        vllm:num_preemptions_total{model_name="m"} %s
                        """, 100 * n, 25 * n, n * 0.5);
            });
            Path json = dir.resolve("r.json");
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--num-requests", "8", "--warmup", "1",
                    "--output-len", "3", "--no-calibrate", "--json", json.toString());

            assertThat(run.exit()).as(run.err()).isZero();
            JsonNode server = CliRun.readJson(json).path("levels").get(0).path("server");
            assertThat(server.path("waiting_mean").asDouble()).isEqualTo(3);
            assertThat(server.path("waiting_max").asDouble()).isEqualTo(3);
            assertThat(server.path("kv_cache_usage_max").asDouble()).isEqualTo(0.42);
            assertThat(server.path("prefix_cache_hit_rate").asDouble()).isEqualTo(0.25);
            assertThat(server.path("preemptions").asDouble()).as("8 measured requests, half a preemption each").isEqualTo(4);
            assertThat(server.path("scrapes").asInt()).isGreaterThanOrEqualTo(2);
            assertThat(run.out()).contains("server: prefix hit rate (%)", "25.0");
        }
    }

    @Test
    void aServerWithoutMetricsGetsNoServerRowsAndNoFailure() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(stub.streaming(FAST, FAST, 2));
            Path json = dir.resolve("r.json");
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--num-requests", "3", "--warmup", "0",
                    "--output-len", "2", "--no-calibrate", "--json", json.toString());

            assertThat(run.exit()).as(run.err()).isZero();
            assertThat(run.out()).doesNotContain("server:");
            assertThat(CliRun.readJson(json).path("levels").get(0).path("server").path("kv_cache_usage_max").isNull()).isTrue();
        }
    }

    @Test
    void goodputCountsOnlyRequestsMeetingEveryObjective() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(stub.streaming(FAST, FAST, 3), stub.streaming(Duration.ofMillis(200), FAST, 3));
            Path json = dir.resolve("r.json");
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--num-requests", "6", "--warmup", "0",
                    "--output-len", "3", "--no-calibrate", "--slo", "ttft=100ms,tpot=50ms", "--json", json.toString());

            assertThat(run.exit()).as(run.err()).isZero();
            JsonNode level = CliRun.readJson(json).path("levels").get(0);
            double good = level.path("goodput").asDouble() * level.path("duration_seconds").asDouble();
            assertThat(good).isCloseTo(3, within(1e-6));
            assertThat(run.out()).contains("goodput (req/s)", "goodput: successful requests per second meeting tpot<=50ms ttft<=100ms");
        }
    }

    @Test
    void aNonStreamingServerIsNamedAsSuch() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith((HttpExchange exchange, JsonNode request, long arrival) -> {
                byte[] body = "{\"choices\":[{\"text\":\"hello\"}]}".getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            });
            CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--no-calibrate");

            assertThat(run.exit()).isEqualTo(BenchCli.EXIT_FAILED_REQUESTS);
            assertThat(run.err()).contains("malformed sse: expected a text/event-stream, got Content-Type application/json"
                    + " (is it a streaming endpoint?): {\"choices\":[{\"text\":\"hello\"}]}");
        }
    }

    @Test
    void resultsAreAppendedToAMarkdownLogAndPlotted() throws Exception {
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(stub.streaming(Duration.ofMillis(5), Duration.ofMillis(2), 4));
            Path log = dir.resolve("results.md");
            Path png = dir.resolve("plots/sweep.png");
            for (int i = 0; i < 2; i++) {
                CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--concurrency", "1,2",
                        "--num-requests", "4", "--warmup", "0", "--output-len", "4", "--no-calibrate", "--label", "stub",
                        "--markdown", log.toString(), "--plot", png.toString());
                assertThat(run.exit()).as(run.err()).isZero();
            }
            List<String> lines = Files.readAllLines(log);
            assertThat(lines).hasSize(2 + 4);
            assertThat(lines.get(0)).startsWith("| date | commit | server |");
            assertThat(lines.subList(2, 6)).allSatisfy(l -> assertThat(l).contains("| stub http://127.0.0.1:", "| m | fixed 128/4 |"));
            assertThat(lines.get(2)).contains("| c=1 | 4/4 |");
            assertThat(lines.get(3)).contains("| c=2 | 4/4 |");
            BufferedImage image = ImageIO.read(png.toFile());
            assertThat(image).isNotNull();
            assertThat(image.getWidth()).isEqualTo(900);
            assertThat(image.getHeight()).isEqualTo(560);
        }
    }

    @Test
    void badLoadAndWorkloadOptionsAreRejectedBeforeAnyRequest() {
        assertUsageError("give --concurrency or --request-rate, not both", "--concurrency", "2", "--request-rate", "4");
        assertUsageError("--request-rate takes numbers (requests per second) or inf, got 'fast'", "--request-rate", "fast");
        assertUsageError("--request-rate values must be above 0", "--request-rate", "0");
        assertUsageError("unknown workload 'books'", "--workload", "books");
        assertUsageError("--workload chat sends conversations: it needs --endpoint chat", "--workload", "chat",
                "--endpoint", "completions");
        assertUsageError("--slo metric must be ttft, tpot or e2e, got 'itl'", "--slo", "itl=5ms");
        assertUsageError("--range-ratio must be at least 0 and below 1", "--range-ratio", "1.5");
        assertUsageError("--extra-body must be a JSON object", "--extra-body", "[1]");
        assertUsageError("not a duration: 'forever'", "--duration", "forever");
    }

    private static void assertUsageError(String message, String... options) {
        String[] args = new String[5 + options.length];
        System.arraycopy(new String[] {"serve", "--url", "http://127.0.0.1:9", "--model", "m"}, 0, args, 0, 5);
        System.arraycopy(options, 0, args, 5, options.length);
        CliRun run = CliRun.of(args);
        assertThat(run.exit()).as(run.err()).isEqualTo(BenchCli.EXIT_USAGE);
        assertThat(run.err()).contains(message);
    }
}
