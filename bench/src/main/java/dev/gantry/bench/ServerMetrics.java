package dev.gantry.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Watches the server's own Prometheus metrics during each measured phase, for the figures only
 * the server knows: how long its queue got, how full its KV cache got, how much of the prompts
 * its prefix cache served, how often it preempted. vLLM's metric names, which Gantry exports too;
 * a server without them (llama.cpp, a proxy) gets no such figures and nothing fails.
 *
 * <p>Counters are read before and after the phase and their difference taken; gauges are sampled
 * every {@link #INTERVAL} while it runs, on one virtual thread with its own connection, so the
 * scrapes never wait behind the measured requests' connections.
 */
public final class ServerMetrics implements AutoCloseable {

    static final Duration INTERVAL = Duration.ofMillis(250);

    static final String WAITING = "vllm:num_requests_waiting";
    static final String[] KV_USAGE = {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"};
    static final String[] PREFIX_HITS = {"vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"};
    static final String[] PREFIX_QUERIES = {"vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"};
    static final String PREEMPTIONS = "vllm:num_preemptions_total";

    /**
     * What the server's metrics said about one phase; NaN where the server does not export the
     * metric (or exported nothing at all).
     *
     * @param scrapes            successful scrapes, before and after included
     * @param waitingMean        mean of the sampled waiting-queue length
     * @param waitingMax         largest sampled waiting-queue length
     * @param kvCacheUsageMax    largest sampled KV-cache use, 0 to 1
     * @param prefixCacheHitRate prompt tokens served from the prefix cache / prompt tokens looked up, during the phase
     * @param preemptions        preemptions during the phase
     */
    public record Figures(int scrapes, double waitingMean, double waitingMax, double kvCacheUsageMax,
            double prefixCacheHitRate, double preemptions) {

        static Figures none() {
            return new Figures(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }

        /** Whether any vLLM-named figure was found. */
        public boolean any() {
            return !(Double.isNaN(waitingMax) && Double.isNaN(kvCacheUsageMax) && Double.isNaN(prefixCacheHitRate)
                    && Double.isNaN(preemptions));
        }
    }

    private final URI uri;
    private final HttpClient http;
    private final Map<String, String> headers;

    /**
     * @param baseUrl the server; {@code /metrics} is read at its root (a trailing {@code /v1} is dropped)
     * @param headers sent with every scrape ({@code --header})
     */
    public ServerMetrics(URI baseUrl, Map<String, String> headers) {
        this.headers = Map.copyOf(headers);
        String base = baseUrl.toString().replaceAll("/+$", "");
        if (base.endsWith("/v1")) {
            base = base.substring(0, base.length() - 3);
        }
        this.uri = URI.create(base + "/metrics");
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
    }

    /** One scrape, or null when the server has no readable {@code /metrics}. */
    PrometheusText scrape() {
        try {
            HttpResponse<String> r = http.send(RequestHeaders.apply(HttpRequest.newBuilder(uri), headers).timeout(Duration.ofSeconds(2)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? PrometheusText.parse(r.body()) : null;
        } catch (java.io.IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Starts watching a phase: the "before" scrape, then sampling until {@link Watch#stop()}. */
    public Watch start() {
        return new Watch();
    }

    /** One phase being watched. */
    public final class Watch {
        private final PrometheusText before = scrape();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread sampler;
        private int scrapes = before != null ? 1 : 0;
        private int waitingSamples;
        private double waitingSum;
        private double waitingMax = Double.NaN;
        private double kvMax = Double.NaN;

        private Watch() {
            if (before != null) {
                sample(before);
            }
            // Nothing to sample from a server without metrics; the after-scrape will say so again.
            sampler = before == null ? null : Thread.ofVirtual().name("gantry-bench-metrics").start(() -> {
                try {
                    while (running.get()) {
                        Thread.sleep(INTERVAL);
                        PrometheusText t = scrape();
                        if (t != null && running.get()) {
                            synchronized (this) {
                                scrapes++;
                                sample(t);
                            }
                        }
                    }
                } catch (InterruptedException stopped) {
                    // the phase has ended
                }
            });
        }

        private void sample(PrometheusText t) {
            OptionalDouble waiting = t.sum(WAITING);
            if (waiting.isPresent()) {
                waitingSamples++;
                waitingSum += waiting.getAsDouble();
                waitingMax = Double.isNaN(waitingMax) ? waiting.getAsDouble() : Math.max(waitingMax, waiting.getAsDouble());
            }
            for (String name : KV_USAGE) {
                OptionalDouble kv = t.max(name);
                if (kv.isPresent()) {
                    kvMax = Double.isNaN(kvMax) ? kv.getAsDouble() : Math.max(kvMax, kv.getAsDouble());
                    break;
                }
            }
        }

        /** Ends the phase: the "after" scrape, and the figures. */
        public Figures stop() throws InterruptedException {
            running.set(false);
            if (sampler != null) {
                sampler.interrupt();
                sampler.join();
            }
            if (before == null) {
                return Figures.none();
            }
            PrometheusText after = scrape();
            synchronized (this) {
                if (after != null) {
                    scrapes++;
                    sample(after);
                }
                double hits = delta(before, after, PREFIX_HITS);
                double queries = delta(before, after, PREFIX_QUERIES);
                return new Figures(scrapes, waitingSamples == 0 ? Double.NaN : waitingSum / waitingSamples, waitingMax,
                        kvMax, queries > 0 ? hits / queries : Double.NaN, delta(before, after, PREEMPTIONS));
            }
        }
    }

    private static double delta(PrometheusText before, PrometheusText after, String... names) {
        if (after == null) {
            return Double.NaN;
        }
        OptionalDouble a = before.sumOfFirst(names);
        OptionalDouble b = after.sumOfFirst(names);
        return a.isPresent() && b.isPresent() ? b.getAsDouble() - a.getAsDouble() : Double.NaN;
    }

    @Override
    public void close() {
        http.close();
    }
}
