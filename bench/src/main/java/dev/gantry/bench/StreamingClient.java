package dev.gantry.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sends streamed generation requests to one OpenAI-compatible server and times them as the
 * tokens arrive. One instance (one HTTP/1.1 client, its connection pool) serves a whole run; it
 * is safe to call from many threads at once, each call blocking its (virtual) thread.
 *
 * <p>The body is read line by line as it arrives and parsed as server-sent events: {@code data:}
 * lines joined until a blank line, comments and other fields skipped, {@code data: [DONE]} the end.
 */
public final class StreamingClient implements AutoCloseable {

    /** Enough of an error body to hold any server's message, not so much that a huge page floods the report. */
    private static final int MAX_ERROR_BODY_BYTES = 64 * 1024;
    private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final URI uri;
    private final Endpoint endpoint;
    private final String model;
    private final String apiKey;
    private final Duration timeout;
    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();
    /** Closes the body of a request that outlives its timeout, which wakes its blocked reader. */
    private final ScheduledExecutorService watchdog;

    /**
     * @param baseUrl the server, e.g. {@code http://localhost:8000} (a trailing {@code /v1} is accepted)
     * @param apiKey  sent as {@code Authorization: Bearer}; null or blank for none
     * @param timeout for a whole request, from sending it to the end of its stream
     */
    public StreamingClient(URI baseUrl, Endpoint endpoint, String model, String apiKey, Duration timeout) {
        this.uri = resolve(baseUrl, endpoint);
        this.endpoint = endpoint;
        this.model = model;
        this.apiKey = apiKey == null || apiKey.isBlank() ? null : apiKey;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout.compareTo(MAX_CONNECT_TIMEOUT) < 0 ? timeout : MAX_CONNECT_TIMEOUT)
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "gantry-bench-timeouts");
            t.setDaemon(true);
            return t;
        });
    }

    /** The full address requests go to, e.g. {@code http://localhost:8000/v1/completions}. */
    public URI uri() {
        return uri;
    }

    static URI resolve(URI baseUrl, Endpoint endpoint) {
        String scheme = baseUrl.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
            throw new IllegalArgumentException("--url must be an http:// or https:// address, got '" + baseUrl + "'");
        }
        if (baseUrl.getHost() == null) {
            throw new IllegalArgumentException("--url has no host: '" + baseUrl + "'");
        }
        String base = baseUrl.toString().replaceAll("/+$", "");
        if (base.endsWith("/v1")) {
            base = base.substring(0, base.length() - 3);
        }
        return URI.create(base + endpoint.path());
    }

    /**
     * Sends one request and reads its stream to the end. Never throws for a failed request: the
     * failure is in the result, with whatever was timed before it.
     *
     * @param onToken called on the reading thread for every chunk that carries text (live progress)
     */
    public RequestResult send(String prompt, int maxTokens, Runnable onToken) throws InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .header("User-Agent", "gantry-bench")
                .POST(HttpRequest.BodyPublishers.ofString(
                        endpoint.requestBody(model, prompt, maxTokens).toString(), StandardCharsets.UTF_8));
        if (apiKey != null) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        long start = System.nanoTime();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpConnectTimeoutException e) {
            return failedAt(start, RequestError.of(ErrorKind.CONNECT,
                    "cannot connect to " + authority() + ": timed out"));
        } catch (HttpTimeoutException e) {
            return failedAt(start, RequestError.of(ErrorKind.TIMEOUT,
                    "no response within " + Durations.format(timeout)));
        } catch (IOException e) {
            if (isConnectFailure(e)) {
                return failedAt(start, RequestError.of(ErrorKind.CONNECT,
                        "cannot connect to " + authority() + ": " + describe(e)));
            }
            return failedAt(start, RequestError.of(ErrorKind.IO, describe(e)));
        }

        InputStream body = response.body();
        AtomicBoolean timedOut = new AtomicBoolean();
        long remaining = timeout.toNanos() - (System.nanoTime() - start);
        ScheduledFuture<?> alarm = watchdog.schedule(() -> {
            timedOut.set(true);
            closeQuietly(body);
        }, Math.max(0, remaining), TimeUnit.NANOSECONDS);
        try {
            if (response.statusCode() != 200) {
                String text = readBounded(body);
                return failedAt(start, RequestError.http(response.statusCode(), errorMessage(text)));
            }
            String contentType = response.headers().firstValue("Content-Type").orElse("(none)");
            if (!contentType.toLowerCase().startsWith("text/event-stream")) {
                String text = readBounded(body);
                return failedAt(start, RequestError.of(ErrorKind.MALFORMED_SSE,
                        "expected a text/event-stream, got Content-Type " + contentType + ": " + abbreviate(text)));
            }
            return new StreamReader(start, onToken).read(body, timedOut);
        } catch (IOException e) {
            if (timedOut.get()) {
                return failedAt(start, RequestError.of(ErrorKind.TIMEOUT,
                        "not finished within " + Durations.format(timeout)));
            }
            return failedAt(start, RequestError.of(ErrorKind.IO, describe(e)));
        } finally {
            alarm.cancel(false);
            closeQuietly(body);
        }
    }

    /** Parses one response's event stream, timing each chunk as its line arrives. */
    private final class StreamReader {
        private final long start;
        private final Runnable onToken;
        private long ttft = -1;
        private long lastToken;
        private long[] gaps = new long[64];
        private int gapCount;
        private int contentChunks;
        private int promptTokens = -1;
        private int completionTokens = -1;
        private long end;
        private RequestError error;
        private boolean done;

        StreamReader(long start, Runnable onToken) {
            this.start = start;
            this.onToken = onToken;
        }

        RequestResult read(InputStream body, AtomicBoolean timedOut) throws IOException {
            BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            StringBuilder data = null;
            long eventArrival = 0;
            String line;
            try {
                while (!done && error == null && (line = lines.readLine()) != null) {
                    long now = System.nanoTime();
                    if (line.isEmpty()) {
                        if (data != null) {
                            dispatch(data.toString(), eventArrival);
                            data = null;
                        }
                        continue;
                    }
                    if (line.startsWith(":")) {
                        continue; // an SSE comment, e.g. a keep-alive
                    }
                    int colon = line.indexOf(':');
                    String field = colon < 0 ? line : line.substring(0, colon);
                    if (!field.equals("data")) {
                        continue; // event, id, retry: nothing an OpenAI stream needs
                    }
                    String value = colon < 0 ? "" : line.substring(colon + 1);
                    if (value.startsWith(" ")) {
                        value = value.substring(1);
                    }
                    if (data == null) {
                        data = new StringBuilder(value);
                        eventArrival = now;
                    } else {
                        data.append('\n').append(value);
                    }
                }
                // Some servers end with "data: [DONE]" and no blank line after it; accept that.
                if (!done && error == null && data != null) {
                    dispatch(data.toString(), eventArrival);
                }
                end = done ? end : System.nanoTime();
            } catch (IOException e) {
                if (timedOut.get()) {
                    error = RequestError.of(ErrorKind.TIMEOUT, "not finished within " + Durations.format(timeout)
                            + " (" + contentChunks + " chunks of text received)");
                } else {
                    error = RequestError.of(ErrorKind.IO, describe(e) + " after " + contentChunks + " chunks of text");
                }
                end = System.nanoTime();
            }
            if (done && error == null) {
                drain(lines); // lets the client reuse the connection
            }
            long[] itl = Arrays.copyOf(gaps, gapCount);
            if (error == null && !done) {
                error = RequestError.of(ErrorKind.MISSING_DONE,
                        "the stream ended without data: [DONE] after " + contentChunks + " chunks of text");
            }
            if (error == null && contentChunks == 0) {
                error = RequestError.of(ErrorKind.NO_TOKENS, "the stream carried no generated text");
            }
            if (error != null) {
                return RequestResult.failed(error, ttft, itl, end - start);
            }
            boolean fromUsage = completionTokens >= 0;
            return new RequestResult(null, ttft, itl, end - start, promptTokens,
                    fromUsage ? completionTokens : contentChunks, fromUsage);
        }

        private void dispatch(String payload, long arrival) {
            if (payload.equals("[DONE]")) {
                done = true;
                end = arrival;
                return;
            }
            JsonNode chunk;
            try {
                chunk = json.readTree(payload);
            } catch (JsonProcessingException e) {
                error = RequestError.of(ErrorKind.MALFORMED_SSE, "a data line is not JSON: " + abbreviate(payload));
                end = arrival;
                return;
            }
            if (chunk == null || !chunk.isObject()) {
                error = RequestError.of(ErrorKind.MALFORMED_SSE, "a data line is not a JSON object: " + abbreviate(payload));
                end = arrival;
                return;
            }
            if (chunk.hasNonNull("error")) {
                error = RequestError.of(ErrorKind.STREAM_ERROR, errorMessage(chunk));
                end = arrival;
                return;
            }
            JsonNode usage = chunk.path("usage");
            if (usage.isObject()) {
                promptTokens = usage.path("prompt_tokens").asInt(promptTokens);
                completionTokens = usage.path("completion_tokens").asInt(completionTokens);
            }
            if (endpoint.generatedText(chunk).isEmpty()) {
                return;
            }
            contentChunks++;
            if (ttft < 0) {
                ttft = arrival - start;
            } else {
                if (gapCount == gaps.length) {
                    gaps = Arrays.copyOf(gaps, gapCount * 2);
                }
                gaps[gapCount++] = arrival - lastToken;
            }
            lastToken = arrival;
            onToken.run();
        }
    }

    private static void drain(BufferedReader lines) {
        try {
            while (lines.readLine() != null) {
                // discard anything a server sends after [DONE]
            }
        } catch (IOException ignored) {
            // the request is complete; a failure to reuse its connection is not the request's
        }
    }

    private String readBounded(InputStream body) throws IOException {
        return new String(body.readNBytes(MAX_ERROR_BODY_BYTES), StandardCharsets.UTF_8);
    }

    /** The server's message from an OpenAI-style error body ({@code {"error": {"message": ...}}}) or its variants. */
    String errorMessage(String body) {
        try {
            JsonNode node = json.readTree(body);
            if (node != null && node.isObject()) {
                return errorMessage(node);
            }
        } catch (JsonProcessingException notJson) {
            // plain text or HTML: show it as it is
        }
        return body.isBlank() ? "(empty body)" : abbreviate(body.strip());
    }

    private static String errorMessage(JsonNode node) {
        JsonNode error = node.path("error");
        if (error.isObject() && error.path("message").isTextual()) {
            return error.path("message").asText();
        }
        if (error.isTextual()) {
            return error.asText();
        }
        for (String field : new String[] {"message", "detail"}) {
            if (node.path(field).isTextual()) {
                return node.path(field).asText();
            }
        }
        return abbreviate(node.toString());
    }

    private String authority() {
        return uri.getScheme() + "://" + uri.getAuthority();
    }

    private static boolean isConnectFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof UnresolvedAddressException
                    || t instanceof java.net.UnknownHostException || t instanceof java.net.NoRouteToHostException) {
                return true;
            }
        }
        return false;
    }

    /** The most specific message in a chain; the HttpClient often wraps causes in message-less exceptions. */
    static String describe(Throwable e) {
        String message = null;
        boolean refused = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException) {
                return "unknown host";
            }
            refused |= t instanceof ConnectException;
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getMessage();
            }
        }
        if (message != null) {
            return message;
        }
        // The HttpClient reports a refused connection as a ConnectException without any message.
        return refused ? "connection refused (is the server running, and on this port?)" : e.getClass().getSimpleName();
    }

    private static String abbreviate(String text) {
        return text.length() <= 300 ? text : text.substring(0, 300) + "...";
    }

    private static void closeQuietly(InputStream body) {
        try {
            body.close();
        } catch (IOException ignored) {
            // closing only releases the connection
        }
    }

    private static RequestResult failedAt(long start, RequestError error) {
        return RequestResult.failed(error, -1, new long[0], System.nanoTime() - start);
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        http.close();
    }
}
