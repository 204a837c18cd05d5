package dev.gantry.e2e;

import dev.gantry.bench.Endpoint;
import dev.gantry.bench.PromptFactory;
import dev.gantry.bench.RequestResult;
import dev.gantry.bench.RequestSpec;
import dev.gantry.bench.StreamingClient;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Open-loop load for the autoscaling scenarios: streamed completions sent at Poisson arrivals whose
 * rate the test changes while it runs (a load step), each request timed by the bench's own
 * streaming client and kept, so the test can draw its timeline and count its failures. Bounded in
 * count and in time whatever the test does.
 */
final class OpenLoad implements AutoCloseable {
    /** Words per prompt: about 64 of SmolLM2's tokens, as the other scenarios' bench runs. */
    static final int PROMPT_WORDS = 48;
    static final int OUTPUT_TOKENS = 32;

    /**
     * One request, times in milliseconds from the load's start.
     *
     * @param ttftMs -1 when no token arrived
     * @param status 200, or the HTTP status of the refusal, or -1 for a failure without one
     */
    record Sample(double sentMs, double ttftMs, double endMs, int status, String error) {
        boolean ok() {
            return error == null;
        }

        /** Refused because the worker's queue was full: by design, with Retry-After. */
        boolean refused() {
            return status == 429;
        }

        double firstTokenAtMs() {
            return ttftMs < 0 ? Double.NaN : sentMs + ttftMs;
        }
    }

    private final StreamingClient client;
    private final PromptFactory prompts;
    private final long t0 = System.nanoTime();
    private final long deadline;
    private final int maxRequests;
    private final List<Sample> samples = new ArrayList<>();
    private final AtomicInteger sent = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    private final Thread driver;
    private volatile double rate;
    private volatile boolean stopped;

    /**
     * @param maxRequests and {@code maxDuration}: the load stops sending at whichever comes first
     */
    OpenLoad(String baseUrl, String host, String apiKey, long seed, int maxRequests, Duration maxDuration) {
        this.client = new StreamingClient(URI.create(baseUrl), Endpoint.COMPLETIONS, "smollm2-135m-instruct", apiKey,
                Duration.ofMinutes(3), null, host == null ? Map.of() : Map.of("Host", host));
        this.prompts = new PromptFactory(seed);
        this.maxRequests = maxRequests;
        this.deadline = t0 + maxDuration.toNanos();
        Random random = new Random(seed);
        this.driver = Thread.ofPlatform().name("open-load").daemon().start(() -> drive(random));
    }

    /** Requests per second from now on; 0 pauses. */
    void rate(double requestsPerSecond) {
        this.rate = requestsPerSecond;
        driver.interrupt(); // a long gap drawn at the old rate must not delay the new one
    }

    /** Milliseconds since the load started: the timeline's clock. */
    double nowMs() {
        return (System.nanoTime() - t0) / 1e6;
    }

    int inFlight() {
        return inFlight.get();
    }

    /** The requests that have ended so far, in the order they ended. */
    synchronized List<Sample> samples() {
        return List.copyOf(samples);
    }

    private void drive(Random random) {
        while (!stopped && System.nanoTime() < deadline && sent.get() < maxRequests) {
            double r = rate;
            try {
                if (r <= 0) {
                    Thread.sleep(100);
                    continue;
                }
                // Exponential gaps: Poisson arrivals, as the bench's --request-rate.
                double gapSeconds = -Math.log(1 - random.nextDouble()) / r;
                Thread.sleep(Duration.ofNanos((long) (gapSeconds * 1e9)));
            } catch (InterruptedException e) {
                continue; // the rate changed: draw the next gap at the new one
            }
            if (stopped) {
                break;
            }
            int number = sent.getAndIncrement();
            RequestSpec spec = RequestSpec.of(prompts.prompt(number, PROMPT_WORDS), OUTPUT_TOKENS, PROMPT_WORDS);
            inFlight.incrementAndGet();
            requests.submit(() -> send(spec, () -> { }));
        }
    }

    /**
     * Sends one request now, beside the open-loop arrivals, asking for {@code outputTokens}; its
     * sample joins the others when it ends.
     *
     * @param firstToken counted down once, when the request's first text arrives (it is streaming)
     */
    void sendNow(int outputTokens, CountDownLatch firstToken) {
        int number = sent.getAndIncrement();
        RequestSpec spec = RequestSpec.of(prompts.prompt(number, PROMPT_WORDS), outputTokens, PROMPT_WORDS);
        AtomicBoolean first = new AtomicBoolean();
        inFlight.incrementAndGet();
        requests.submit(() -> send(spec, () -> {
            if (first.compareAndSet(false, true)) {
                firstToken.countDown();
            }
        }));
    }

    private void send(RequestSpec spec, Runnable onToken) {
        double sentMs = nowMs();
        try {
            RequestResult r = client.send(spec, onToken);
            double ttft = r.ttftNanos() < 0 ? -1 : r.ttftNanos() / 1e6;
            int status = r.ok() ? 200 : r.error().httpStatus() > 0 ? r.error().httpStatus() : -1;
            Sample s = new Sample(sentMs, ttft, sentMs + r.e2eNanos() / 1e6, status,
                    r.ok() ? null : r.error().key() + ": " + r.error().message());
            synchronized (this) {
                samples.add(s);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /** Stops sending and waits (up to 3 minutes) for the requests in flight. */
    @Override
    public void close() {
        stopped = true;
        driver.interrupt();
        requests.shutdown();
        try {
            if (!requests.awaitTermination(3, TimeUnit.MINUTES)) {
                requests.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        client.close();
    }
}
