package dev.gantry.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * Parses one response's OpenAI event stream as its bytes arrive, inside the HTTP client's own
 * delivery of them, and times every chunk there.
 *
 * <p>Why here and not on the thread that sent the request: reading an {@code InputStream} body
 * on that thread times a chunk when the reading thread next runs, which under load (hundreds of
 * streams, two cores) can be long after the client received the bytes. Every chunk in one
 * {@link #onNext} delivery gets the time of that delivery, taken before anything is parsed.
 *
 * <p>Server-sent events as the HTML spec defines them: lines end with LF, CRLF or CR;
 * {@code data:} lines are joined with LF until a blank line; comments and other fields are
 * skipped; {@code data: [DONE]} ends an OpenAI stream. Lines are kept as bytes and decoded (as
 * UTF-8, by Jackson) only once complete, so a character split between two network reads is
 * never broken, and the only allocation per token is the parsed JSON chunk.
 *
 * <p>The result completes at {@code [DONE]} (or at the first failure); bytes a server sends
 * after that are still consumed, so the connection goes back to the pool.
 */
final class SseStream implements HttpResponse.BodySubscriber<RequestResult> {

    private static final byte[] DATA = "data".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);

    private final long start;
    private final Endpoint endpoint;
    private final ObjectMapper json;
    private final Runnable onToken;
    private final CompletableFuture<RequestResult> result = new CompletableFuture<>();
    private Flow.Subscription subscription;

    // The line being assembled, and the data of the event being assembled.
    private byte[] line = new byte[512];
    private int lineLength;
    private boolean afterCarriageReturn;
    private byte[] data = new byte[512];
    private int dataLength = -1; // -1: no data line yet in this event
    private long eventArrival;

    // What has been measured so far.
    private long ttft = -1;
    private long lastToken;
    private long[] gaps = new long[64];
    private int gapCount;
    private int contentChunks;
    private int promptTokens = -1;
    private int completionTokens = -1;
    private boolean finished;

    /**
     * @param start   when the request was sent ({@link System#nanoTime()}): the origin of TTFT and e2e
     * @param onToken called, on the client's delivery thread, for every chunk that carries text
     */
    SseStream(long start, Endpoint endpoint, ObjectMapper json, Runnable onToken) {
        this.start = start;
        this.endpoint = endpoint;
        this.json = json;
        this.onToken = onToken;
    }

    @Override
    public CompletionStage<RequestResult> getBody() {
        return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
        synchronized (this) {
            this.subscription = subscription;
        }
        // Every delivery is parsed at once and nothing is buffered beyond one line, so there is
        // no reason to hold the client back.
        subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
        long arrival = System.nanoTime();
        synchronized (this) {
            for (ByteBuffer buffer : buffers) {
                while (buffer.hasRemaining()) {
                    if (finished) {
                        buffer.position(buffer.limit()); // after [DONE]: drain for connection reuse
                        break;
                    }
                    accept(buffer.get(), arrival);
                }
            }
        }
    }

    @Override
    public void onError(Throwable error) {
        synchronized (this) {
            fail(RequestError.of(ErrorKind.IO, StreamingClient.describe(error) + " after "
                    + contentChunks + " chunks of text"), System.nanoTime());
        }
    }

    @Override
    public void onComplete() {
        long now = System.nanoTime();
        synchronized (this) {
            if (finished) {
                return;
            }
            if (lineLength > 0) {
                endLine(now); // a last line without its line break
            }
            // Some servers end with "data: [DONE]" and no blank line after it; accept that.
            if (dataLength >= 0) {
                dispatch(now);
            }
            if (!finished) {
                fail(RequestError.of(ErrorKind.MISSING_DONE,
                        "the stream ended without data: [DONE] after " + contentChunks + " chunks of text"), now);
            }
        }
    }

    /**
     * Ends the request now with {@code error} (a timeout, say), keeping what was timed so far;
     * nothing if it has already ended. Closes the connection, as the rest of the answer is unwanted.
     */
    void abort(RequestError error) {
        Flow.Subscription s;
        synchronized (this) {
            if (finished) {
                return;
            }
            fail(error, System.nanoTime());
            s = subscription;
        }
        if (s != null) {
            s.cancel();
        }
    }

    /** How many chunks of text have arrived; for error messages. */
    synchronized int contentChunks() {
        return contentChunks;
    }

    private void accept(byte b, long arrival) {
        if (b == '\n' || b == '\r') {
            boolean secondHalfOfCrLf = b == '\n' && afterCarriageReturn;
            afterCarriageReturn = b == '\r';
            if (!secondHalfOfCrLf) {
                endLine(arrival);
            }
            return;
        }
        afterCarriageReturn = false;
        if (lineLength == line.length) {
            line = Arrays.copyOf(line, line.length * 2);
        }
        line[lineLength++] = b;
    }

    private void endLine(long arrival) {
        int length = lineLength;
        lineLength = 0;
        if (length == 0) {
            if (dataLength >= 0) {
                dispatch(eventArrival);
            }
            return;
        }
        if (line[0] == ':') {
            return; // an SSE comment, e.g. a keep-alive
        }
        int colon = indexOf(line, length, (byte) ':');
        int fieldEnd = colon < 0 ? length : colon;
        if (fieldEnd != DATA.length || !Arrays.equals(line, 0, fieldEnd, DATA, 0, DATA.length)) {
            return; // event, id, retry: nothing an OpenAI stream needs
        }
        int valueStart = colon < 0 ? length : colon + 1;
        if (valueStart < length && line[valueStart] == ' ') {
            valueStart++;
        }
        int valueLength = length - valueStart;
        if (dataLength < 0) {
            dataLength = 0;
            eventArrival = arrival;
        } else {
            ensureData(dataLength + 1);
            data[dataLength++] = '\n';
        }
        ensureData(dataLength + valueLength);
        System.arraycopy(line, valueStart, data, dataLength, valueLength);
        dataLength += valueLength;
    }

    private void ensureData(int capacity) {
        if (capacity > data.length) {
            data = Arrays.copyOf(data, Math.max(capacity, data.length * 2));
        }
    }

    private void dispatch(long arrival) {
        int length = dataLength;
        dataLength = -1;
        if (finished) {
            return;
        }
        if (Arrays.equals(data, 0, length, DONE, 0, DONE.length)) {
            finish(arrival);
            return;
        }
        JsonNode chunk;
        try {
            chunk = json.readTree(data, 0, length);
        } catch (IOException e) {
            fail(RequestError.of(ErrorKind.MALFORMED_SSE, "a data line is not JSON: " + payload(length)), arrival);
            return;
        }
        if (chunk == null || !chunk.isObject()) {
            fail(RequestError.of(ErrorKind.MALFORMED_SSE, "a data line is not a JSON object: " + payload(length)), arrival);
            return;
        }
        if (chunk.hasNonNull("error")) {
            fail(RequestError.of(ErrorKind.STREAM_ERROR, StreamingClient.errorMessage(chunk)), arrival);
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

    private void finish(long end) {
        finished = true;
        if (contentChunks == 0) {
            result.complete(RequestResult.failed(RequestError.of(ErrorKind.NO_TOKENS,
                    "the stream carried no generated text"), ttft, itl(), end - start));
            return;
        }
        boolean fromUsage = completionTokens >= 0;
        result.complete(RequestResult.succeeded(ttft, itl(), end - start, promptTokens,
                fromUsage ? completionTokens : contentChunks, fromUsage));
    }

    private void fail(RequestError error, long end) {
        if (finished) {
            return;
        }
        finished = true;
        result.complete(RequestResult.failed(error, ttft, itl(), end - start));
        // Parsing stops here; the caller closes the connection (a broken stream is not reusable).
        if (subscription != null && error.kind() != ErrorKind.IO) {
            subscription.cancel();
        }
    }

    private long[] itl() {
        return Arrays.copyOf(gaps, gapCount);
    }

    private String payload(int length) {
        String text = new String(data, 0, length, StandardCharsets.UTF_8);
        return text.length() <= 300 ? text : text.substring(0, 300) + "...";
    }

    private static int indexOf(byte[] bytes, int length, byte b) {
        for (int i = 0; i < length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
