package dev.gantry.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs the levels of a sweep one after another against one server: for each, its warm-up
 * (not counted), then its measured phase with the server's metrics watched. Stops early when
 * the server cannot be reached or rejects every warm-up request; the levels measured so far are
 * kept either way.
 */
final class Sweep {

    /** One level as planned: its load, how many requests it measures (MAX_VALUE: bounded by time) and warms up with. */
    record Level(Load load, int requests, int warmup) {
    }

    /** What the sweep produced; {@code abortedBy} says why it stopped early, or is null. */
    record Outcome(List<LevelReport> levels, String abortedBy) {
    }

    private final StreamingClient client;
    private final Workload workload;
    private final ServerMetrics metrics;
    private final Progress progress;
    private final AtomicLong requestNumber;
    private final Duration limit;
    private final Slo slo;
    private final long seed;

    /**
     * @param requestNumber the next request number; one numbering for the whole sweep (warm-ups
     *                      included), so no prompt repeats across levels
     * @param metrics       the server's metrics, or null not to scrape them
     * @param limit         each level's measured phase's time limit ({@code --duration}), or null
     */
    Sweep(StreamingClient client, Workload workload, ServerMetrics metrics, Progress progress, AtomicLong requestNumber,
            Duration limit, Slo slo, long seed) {
        this.client = client;
        this.workload = workload;
        this.metrics = metrics;
        this.progress = progress;
        this.requestNumber = requestNumber;
        this.limit = limit;
        this.slo = slo;
        this.seed = seed;
    }

    Outcome run(List<Level> plan) throws InterruptedException {
        LoadRunner runner = new LoadRunner(onToken -> {
            RequestSpec spec = workload.request(requestNumber.getAndIncrement());
            return client.send(spec, onToken).withPromptWords(spec.promptWords());
        }, progress);
        List<LevelReport> levels = new ArrayList<>();
        for (int i = 0; i < plan.size(); i++) {
            Level level = plan.get(i);
            String label = level.load().label();
            if (level.warmup() > 0) {
                // Warm-ups only bring connections and the server's caches up: sent all together
                // (at most the level's concurrency at once), never at the level's rate.
                int together = level.load() instanceof Load.Closed c ? c.concurrency() : level.warmup();
                Phase warm = runner.closed(label + " warmup", together, level.warmup(), null);
                if (warm.aborted()) {
                    return new Outcome(levels, warm.abortedBy().message());
                }
                if (warm.results().stream().noneMatch(RequestResult::ok)) {
                    RequestError first = warm.results().getFirst().error();
                    return new Outcome(levels, "every warmup request at " + label + " failed, the first with "
                            + first.key() + ": " + first.message());
                }
            }
            ServerMetrics.Watch watch = metrics == null ? null : metrics.start();
            Phase measured = runner.run(label, level.load(), level.requests(), limit, seed * 1_000_003L + i);
            ServerMetrics.Figures figures = watch == null ? null : watch.stop();
            // A level cut short by --duration asked for what it sent, not for what it had no time to.
            int requested = limit != null && !measured.aborted() ? measured.sendOffsetNanos().length : level.requests();
            levels.add(LevelReport.of(level.load(), requested, measured, slo, figures));
            if (measured.aborted()) {
                return new Outcome(levels, measured.abortedBy().message());
            }
        }
        return new Outcome(levels, null);
    }
}
