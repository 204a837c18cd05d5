package dev.gantry.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A stand-in for an OpenAI-compatible server with known behaviour: it streams SSE chunks at
 * exact times (each token at a deadline counted from the request's arrival, so scheduling jitter
 * does not accumulate), or fails in a chosen way. It is the measuring stick of the load
 * generator's tests, not the thing under test.
 */
final class StubOpenAiServer implements AutoCloseable {

    /** How the server answers one request. */
    @FunctionalInterface
    interface Behavior {
        void respond(HttpExchange exchange, JsonNode request, long arrivalNanos) throws IOException;
    }

    static {
        // com.sun.net.httpserver leaves Nagle's algorithm on unless told otherwise; it would hold
        // small chunks back and distort the very gaps the tests measure.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private volatile List<Behavior> behaviors = List.of();
    private final AtomicInteger requestCount = new AtomicInteger();
    private final List<JsonNode> requests = new CopyOnWriteArrayList<>();
    private final List<String> authorizations = new CopyOnWriteArrayList<>();
    private final List<String> hosts = new CopyOnWriteArrayList<>();
    private final List<long[]> emissions = new CopyOnWriteArrayList<>();
    private final List<Long> arrivals = new CopyOnWriteArrayList<>();
    private volatile java.util.function.Supplier<String> metrics;
    private volatile int tokensPerWord = 1;
    private volatile int fixedPromptTokens;

    /** Answers request i with {@code behaviors[i % behaviors.length]}; see {@link #answerWith}. */
    StubOpenAiServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        // Platform threads: the stub keeps its exact schedule without competing for the carrier
        // threads the load generator's virtual threads run on.
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/v1/", this::handle);
        server.createContext("/metrics", this::handleMetrics);
        server.start();
    }

    /** Serves {@code text.get()} at /metrics (Prometheus text); without it, /metrics is a 404. */
    StubOpenAiServer metrics(java.util.function.Supplier<String> text) {
        this.metrics = text;
        return this;
    }

    /** Makes usage.prompt_tokens {@code perWord} x the prompt's words + {@code fixed}: a tokenizer to calibrate against. */
    StubOpenAiServer promptTokens(int perWord, int fixed) {
        this.tokensPerWord = perWord;
        this.fixedPromptTokens = fixed;
        return this;
    }

    /** When each request arrived ({@link System#nanoTime()}), in arrival order. */
    List<Long> arrivals() {
        return arrivals;
    }

    private void handleMetrics(HttpExchange exchange) throws IOException {
        try (exchange) {
            var m = metrics;
            if (m == null) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            byte[] body = m.get().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
        }
    }

    /** Answers request i with {@code behaviors[i % behaviors.length]}. */
    StubOpenAiServer answerWith(Behavior... behaviors) {
        this.behaviors = List.of(behaviors);
        return this;
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Every request body received, in arrival order. */
    List<JsonNode> requests() {
        return requests;
    }

    /** The Host header of every completion request. */
    List<String> hosts() {
        return hosts;
    }

    List<String> authorizations() {
        return authorizations;
    }

    /**
     * For each streamed response, when each token chunk was actually flushed, in nanoseconds
     * after the request arrived: the truth the stub's own scheduling jitter included.
     */
    List<long[]> emissions() {
        return emissions;
    }

    private void handle(HttpExchange exchange) throws IOException {
        long arrival = System.nanoTime();
        arrivals.add(arrival);
        try (exchange) {
            JsonNode request = JSON.readTree(exchange.getRequestBody());
            requests.add(request);
            authorizations.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
            hosts.add(String.valueOf(exchange.getRequestHeaders().getFirst("Host")));
            int n = requestCount.getAndIncrement();
            behaviors.get(n % behaviors.size()).respond(exchange, request, arrival);
        }
    }

    /**
     * Streams {@code tokens} one-word chunks (fewer when the request's max_tokens is lower): the
     * first {@code ttft} after the request arrived, then one every {@code itl}; then a usage chunk
     * and {@code [DONE]}. Chat requests get a
     * role-only chunk at once, as real servers send, which must not count as the first token.
     */
    Behavior streaming(Duration ttft, Duration itl, int tokens) {
        return (exchange, request, arrival) -> {
            int count = Math.min(tokens, request.path("max_tokens").asInt(tokens));
            long[] flushed = new long[count];
            boolean chat = request.has("messages");
            OutputStream body = startStream(exchange);
            if (chat) {
                event(body, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}");
            }
            for (int i = 0; i < count; i++) {
                sleepUntil(arrival + ttft.toNanos() + i * itl.toNanos());
                ObjectNode chunk = JSON.createObjectNode();
                ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
                if (chat) {
                    choice.putObject("delta").put("content", " tok" + i);
                } else {
                    choice.put("text", " tok" + i);
                }
                event(body, chunk.toString());
                flushed[i] = System.nanoTime() - arrival;
            }
            emissions.add(flushed);
            int words = 0;
            if (chat) {
                for (JsonNode m : request.path("messages")) {
                    words += m.path("content").asText().split(" ").length;
                }
            } else {
                words = request.path("prompt").asText().split(" ").length;
            }
            event(body, "{\"choices\":[],\"usage\":{\"prompt_tokens\":" + (words * tokensPerWord + fixedPromptTokens)
                    + ",\"completion_tokens\":" + count + ",\"total_tokens\":0}}");
            event(body, "[DONE]");
        };
    }

    /** Answers with an HTTP error status and an OpenAI-style error body. */
    static Behavior status(int status, String message) {
        return (exchange, request, arrival) -> {
            byte[] body = JSON.createObjectNode().set("error", JSON.createObjectNode()
                    .put("message", message).put("type", "error").put("code", status))
                    .toString().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, body.length);
            exchange.getResponseBody().write(body);
        };
    }

    /** Sends raw SSE text after the headers, e.g. a chunk that is not JSON, or a stream without [DONE]. */
    static Behavior rawStream(String sse) {
        return (exchange, request, arrival) -> {
            OutputStream body = startStream(exchange);
            body.write(sse.getBytes(StandardCharsets.UTF_8));
            body.flush();
        };
    }

    /** Waits {@code delay} before answering at all: for timeouts. */
    static Behavior silentFor(Duration delay) {
        return (exchange, request, arrival) -> {
            sleepUntil(arrival + delay.toNanos());
            startStream(exchange);
        };
    }

    private static OutputStream startStream(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.sendResponseHeaders(200, 0); // chunked
        return exchange.getResponseBody();
    }

    private static void event(OutputStream body, String data) throws IOException {
        body.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        body.flush();
    }

    private static void sleepUntil(long deadlineNanos) {
        long left;
        while ((left = deadlineNanos - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
