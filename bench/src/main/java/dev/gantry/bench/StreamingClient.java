package dev.gantry.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends streamed generation requests to one OpenAI-compatible server and times them as the
 * tokens arrive. One instance (one HTTP/1.1 client, its connection pool) serves a whole run; it
 * is safe to call from many threads at once, each call blocking its (virtual) thread.
 *
 * <p>A streamed body is parsed and timed by {@link SseStream} as the client receives it, not
 * when a reading thread gets round to it; the calling thread only waits for the result.
 */
public final class StreamingClient implements AutoCloseable {

    /** Enough of an error body to hold any server's message, not so much that a huge page floods the report. */
    private static final int MAX_ERROR_BODY_BYTES = 64 * 1024;
    private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final URI uri;
    private final Endpoint endpoint;
    private final String model;
    private final String apiKey;
    private final Map<String, String> headers;
    private final Duration timeout;
    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();
    private final ObjectNode extraBody;

    /**
     * @param baseUrl the server, e.g. {@code http://localhost:8000} (a trailing {@code /v1} is accepted)
     * @param apiKey  sent as {@code Authorization: Bearer}; null or blank for none
     * @param timeout for a whole request, from sending it to the end of its stream
     * @param extraBody fields merged into every request body ({@code --extra-body}), or null
     * @param headers sent with every request ({@code --header})
     */
    public StreamingClient(URI baseUrl, Endpoint endpoint, String model, String apiKey, Duration timeout,
            ObjectNode extraBody, Map<String, String> headers) {
        this.headers = Map.copyOf(headers);
        this.extraBody = extraBody;
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
     * @param onToken called on the client's delivery thread for every chunk that carries text (live progress)
     */
    public RequestResult send(RequestSpec spec, Runnable onToken) throws InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .header("User-Agent", "gantry-bench")
                .POST(HttpRequest.BodyPublishers.ofString(
                        endpoint.requestBody(model, spec, extraBody).toString(), StandardCharsets.UTF_8));
        if (apiKey != null) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        RequestHeaders.apply(request, headers);
        long start = System.nanoTime();
        SseStream stream = new SseStream(start, endpoint, json, onToken);
        CompletableFuture<HttpResponse<RequestResult>> response =
                http.sendAsync(request.build(), info -> bodyFor(info, stream, start));
        try {
            // The request's own timeout covers only the wait for the headers; this one the whole stream.
            long remaining = timeout.toNanos() - (System.nanoTime() - start);
            return response.get(Math.max(0, remaining), TimeUnit.NANOSECONDS).body();
        } catch (TimeoutException e) {
            stream.abort(RequestError.of(ErrorKind.TIMEOUT, "not finished within " + Durations.format(timeout)
                    + " (" + stream.contentChunks() + " chunks of text received)"));
            response.cancel(true);
            RequestResult partial = stream.getBody().toCompletableFuture().getNow(null);
            return partial != null ? partial : failedAt(start, RequestError.of(ErrorKind.TIMEOUT,
                    "no response within " + Durations.format(timeout)));
        } catch (InterruptedException e) {
            response.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            return failedAt(start, errorOf(e.getCause()));
        }
    }

    /**
     * The body subscriber for a response, chosen by its status and type: the timing SSE parser for
     * a 200 event stream; for anything else, one that keeps the body for the error message.
     */
    private HttpResponse.BodySubscriber<RequestResult> bodyFor(HttpResponse.ResponseInfo info, SseStream stream,
            long start) {
        if (info.statusCode() != 200) {
            return HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofByteArray(),
                    bytes -> failedAt(start, RequestError.http(info.statusCode(), errorMessage(text(bytes)))));
        }
        String contentType = info.headers().firstValue("Content-Type").orElse("(none)");
        if (!contentType.toLowerCase(Locale.ROOT).startsWith("text/event-stream")) {
            return HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofByteArray(),
                    bytes -> failedAt(start, RequestError.of(ErrorKind.MALFORMED_SSE, "expected a text/event-stream, got "
                            + "Content-Type " + contentType + " (is it a streaming endpoint?): " + abbreviate(text(bytes)))));
        }
        return stream;
    }

    private RequestError errorOf(Throwable e) {
        if (e instanceof HttpConnectTimeoutException) {
            return RequestError.of(ErrorKind.CONNECT, "cannot connect to " + authority() + ": timed out");
        }
        if (e instanceof HttpTimeoutException) {
            return RequestError.of(ErrorKind.TIMEOUT, "no response within " + Durations.format(timeout));
        }
        if (isConnectFailure(e)) {
            return RequestError.of(ErrorKind.CONNECT, "cannot connect to " + authority() + ": " + describe(e));
        }
        return RequestError.of(ErrorKind.IO, describe(e));
    }

    /** An error body as text, cut to what a report can show. */
    private static String text(byte[] bytes) {
        return new String(bytes, 0, Math.min(bytes.length, MAX_ERROR_BODY_BYTES), StandardCharsets.UTF_8);
    }

    /** The server's message from an OpenAI-style error body ({@code {"error": {"message": ...}}}) or its variants. */
    static String errorMessage(String body) {
        try {
            JsonNode node = new ObjectMapper().readTree(body);
            if (node != null && node.isObject()) {
                return errorMessage(node);
            }
        } catch (JsonProcessingException notJson) {
            // plain text or HTML: show it as it is
        }
        return body.isBlank() ? "(empty body)" : abbreviate(body.strip());
    }

    static String errorMessage(JsonNode node) {
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

    private static RequestResult failedAt(long start, RequestError error) {
        return RequestResult.failed(error, -1, new long[0], System.nanoTime() - start);
    }

    @Override
    public void close() {
        http.close();
    }
}
