package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The SSE parser and timer, fed bytes the way the HTTP client delivers them: in pieces cut
 * anywhere, a multi-byte character or a CRLF included.
 */
class SseStreamTest {

    /** Three tokens (one of them a two-byte character), usage, and [DONE]; the line ends vary as SSE allows. */
    private static final String STREAM = ": keep-alive\r\n"
            + "event: message\r\n"
            + "data: {\"choices\":[{\"text\":\"H\"}]}\r\n\r\n"
            + "data: {\"choices\":[{\"text\":\"\u00e9\"}]}\r\r"
            + "data: {\"choices\":\n"
            + "data: [{\"text\":\"!\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}\n\n"
            + "data: [DONE]\n\n";

    @Test
    void everySplitOfTheStreamGivesTheSameResult() throws Exception {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        for (int cut = 1; cut < bytes.length; cut++) {
            AtomicInteger tokens = new AtomicInteger();
            SseStream stream = new SseStream(System.nanoTime(), Endpoint.COMPLETIONS, new ObjectMapper(), tokens::incrementAndGet);
            stream.onSubscribe(new NoSubscription());
            stream.onNext(List.of(ByteBuffer.wrap(bytes, 0, cut)));
            stream.onNext(List.of(ByteBuffer.wrap(bytes, cut, bytes.length - cut)));
            stream.onComplete();
            RequestResult r = stream.getBody().toCompletableFuture().getNow(null);
            assertThat(r).as("cut at %d", cut).isNotNull();
            assertThat(r.ok()).as("cut at %d: %s", cut, r.error()).isTrue();
            assertThat(r.outputTokens()).isEqualTo(3);
            assertThat(r.promptTokens()).isEqualTo(7);
            assertThat(r.interTokenNanos()).hasSize(2);
            assertThat(tokens.get()).isEqualTo(3);
        }
    }

    /**
     * A chunk is timed when it is delivered, before it is parsed, and not when anyone later looks
     * at the result: each time must fall inside its own {@code onNext} call.
     */
    @Test
    void chunksAreTimedAtDelivery() throws Exception {
        long start = System.nanoTime();
        SseStream stream = new SseStream(start, Endpoint.COMPLETIONS, new ObjectMapper(), () -> { });
        stream.onSubscribe(new NoSubscription());
        Thread.sleep(20);
        long[] first = deliver(stream, "data: {\"choices\":[{\"text\":\"a\"}]}\n\n");
        Thread.sleep(20);
        long[] second = deliver(stream, "data: {\"choices\":[{\"text\":\"b\"}]}\n\ndata: [DONE]\n\n");
        Thread.sleep(50);
        RequestResult r = stream.getBody().toCompletableFuture().getNow(null);
        assertThat(r.ttftNanos()).isBetween(first[0] - start, first[1] - start);
        assertThat(start + r.ttftNanos() + r.interTokenNanos()[0]).isBetween(second[0], second[1]);
        assertThat(start + r.e2eNanos()).as("ends at [DONE], not when read").isBetween(second[0], second[1]);
    }

    /** Delivers {@code text} in one onNext; returns the nanoTime just before and just after. */
    private static long[] deliver(SseStream stream, String text) {
        ByteBuffer bytes = utf8(text);
        long before = System.nanoTime();
        stream.onNext(List.of(bytes));
        return new long[] {before, System.nanoTime()};
    }

    @Test
    void aTimeoutKeepsWhatWasTimedAndCancels() {
        SseStream stream = new SseStream(System.nanoTime(), Endpoint.COMPLETIONS, new ObjectMapper(), () -> { });
        NoSubscription subscription = new NoSubscription();
        stream.onSubscribe(subscription);
        stream.onNext(List.of(utf8("data: {\"choices\":[{\"text\":\"a\"}]}\n\n")));
        stream.abort(RequestError.of(ErrorKind.TIMEOUT, "late"));
        stream.onNext(List.of(utf8("data: {\"choices\":[{\"text\":\"b\"}]}\n\n")));
        RequestResult r = stream.getBody().toCompletableFuture().getNow(null);
        assertThat(r.error().kind()).isEqualTo(ErrorKind.TIMEOUT);
        assertThat(r.ttftNanos()).isPositive();
        assertThat(subscription.cancelled).isTrue();
    }

    private static ByteBuffer utf8(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The HTTP client's side of the subscription: nothing to do but note a cancel. */
    private static final class NoSubscription implements Flow.Subscription {
        volatile boolean cancelled;

        @Override
        public void request(long n) {
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }
}
