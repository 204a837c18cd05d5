package dev.gantry.worker.engine;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.SamplingRow;
import dev.gantry.worker.engine.kv.KvCacheManager;
import dev.gantry.worker.metrics.EngineMetrics;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.llama.ForwardBatch;
import dev.gantry.worker.model.llama.LlamaForward;
import dev.gantry.worker.model.sample.Sampler;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * The serving engine: one step thread runs continuous batching over a paged, prefix-cached KV
 * cache. Any thread may submit and cancel; results reach each request's listener on the step
 * thread.
 *
 * <p>Each step: take in new requests and cancellations, let the {@link Scheduler} pick sequences
 * and token counts under the budget, run them as one flat batch through {@link LlamaForward},
 * sample a token for every sequence whose tokens are now all computed, and hand text to its
 * listener. A failure in a step fails that step's requests, frees their blocks, and the engine
 * goes on serving the rest.
 */
public final class Engine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Engine.class);

    private final Model model;
    private final EngineConfig config;
    private final LlamaForward forward;
    private final Backend backend;
    private final KvStorage kvStorage;
    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final EngineMetrics metrics;
    private final Thread thread;

    /** New requests and wake-ups from other threads; only the step thread takes from it. */
    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private static final Object WAKE = new Object();
    private final AtomicLong nextId = new AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger queued = new AtomicInteger();   // submitted or preempted, not running
    private volatile boolean closed;
    private volatile EngineStats stats;
    private long lastPrefixQueries;
    private long lastPrefixHits;
    private long lastPreemptions;

    /**
     * @param registry  where the engine's metrics go (vLLM's names), or null for none
     * @param modelName the {@code model_name} label of its metrics
     */
    public Engine(Model model, Backend backend, EngineConfig config, MeterRegistry registry, String modelName) {
        this.model = model;
        this.config = config;
        var mc = model.config();
        this.backend = backend;
        this.forward = new LlamaForward(mc, model.weights(), backend, config.maxNumBatchedTokens(), config.maxNumSeqs());
        this.kvStorage = backend.allocateKv(mc.layers(), config.numBlocks(), config.blockSize(), mc.kvDim(),
                config.kvCacheDtype());
        this.kv = new KvCacheManager(config.numBlocks(), config.blockSize(), config.prefixCaching());
        this.scheduler = new Scheduler(config, kv);
        this.stats = new EngineStats(0, 0, 0, config.numBlocks());
        this.metrics = new EngineMetrics(registry == null ? new SimpleMeterRegistry() : registry, modelName,
                () -> stats.running(), () -> stats.waiting(), () -> stats.kvUsage());
        long f32Bytes = 2L * mc.layers() * (long) config.numBlocks() * config.blockSize()
                * dev.gantry.worker.backend.KvCacheDtype.F32.rowBytes(mc.kvDim());
        metrics.kvCache(config.kvCacheDtype().label(), config.numBlocks(), config.blockSize(), config.prefixCaching(),
                kvStorage.bytes(), f32Bytes);
        this.thread = Thread.ofPlatform().name("gantry-engine").daemon().unstarted(this::run);
    }

    /** Starts the step thread. */
    public void start() {
        thread.start();
    }

    /**
     * Queues a request. Throws when it is refused (queue full, prompt that can never fit, engine
     * closed); the listener is then never called.
     */
    public RequestHandle submit(EngineRequest request, RequestListener listener) throws RequestRejectedException {
        return submit(List.of(request), List.of(listener));
    }

    /**
     * Queues the choices of one request ({@code n > 1}: the same prompt, each with its own
     * sampling parameters and listener). The first computes the prompt; the others wait until its
     * full blocks are in the prefix cache and then share them, so the prompt is computed once
     * (where prefix caching is on). All are accepted or none; the handle cancels them all.
     */
    public RequestHandle submit(List<EngineRequest> requests, List<RequestListener> listeners)
            throws RequestRejectedException {
        if (requests.isEmpty() || requests.size() != listeners.size()) {
            throw new IllegalArgumentException(requests.size() + " requests and " + listeners.size() + " listeners");
        }
        for (EngineRequest r : requests) {
            checkPrompt(r.promptTokens());
        }
        List<Sequence> seqs = new java.util.ArrayList<>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            seqs.add(new Sequence(nextId.incrementAndGet(), requests.get(i), listeners.get(i), model.tokenizer(),
                    config.maxModelLen(), model.config().dim()));
        }
        Sequence first = seqs.getFirst();
        if (seqs.size() > 1) {
            first.followers = new java.util.ArrayList<>(seqs.subList(1, seqs.size()));
        }
        // NOTE: under the lock, so that close() either refuses this request or finds it in the inbox.
        synchronized (this) {
            if (closed) {
                throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "the engine is shutting down");
            }
            // The first choice must find room in the queue; the others ride along with it.
            if (queued.getAndAdd(seqs.size()) + 1 > config.maxWaiting()) {
                queued.addAndGet(-seqs.size());
                throw new RequestRejectedException(RequestRejectedException.Reason.QUEUE_FULL,
                        "the server is busy: " + config.maxWaiting() + " requests are already waiting");
            }
            inFlight.addAndGet(seqs.size());
            inbox.add(first);
        }
        return () -> {
            for (Sequence seq : seqs) {
                seq.cancelled = true;
            }
            inbox.add(WAKE);
        };
    }

    private void checkPrompt(int[] prompt) throws RequestRejectedException {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        int vocab = model.config().vocabSize();
        for (int t : prompt) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
        }
        if (prompt.length >= config.maxModelLen()) {
            throw new RequestRejectedException(RequestRejectedException.Reason.PROMPT_TOO_LONG, "the prompt has "
                    + prompt.length + " tokens; this model's maximum context length is " + config.maxModelLen()
                    + " tokens, which must also hold at least one generated token");
        }
        long capacity = (long) config.numBlocks() * config.blockSize();
        if (prompt.length + 1 > capacity) {
            throw new RequestRejectedException(RequestRejectedException.Reason.PROMPT_TOO_LONG, "the prompt has "
                    + prompt.length + " tokens; the whole KV cache holds " + capacity);
        }
    }

    public EngineConfig config() {
        return config;
    }

    public EngineStats stats() {
        return stats;
    }

    /** Requests submitted and not yet finished (running and waiting). */
    public int inFlight() {
        return inFlight.get();
    }

    /** Refuses new requests, aborts those in flight (listeners get ABORT), stops the thread, frees the KV cache. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        inbox.add(WAKE);
        if (thread.isAlive()) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            abortAll();
        }
        if (!thread.isAlive()) {
            kvStorage.close();
        }
    }

    private void run() {
        try {
            while (!closed) {
                if (takeInbox(!scheduler.hasWork())) {
                    sweepCancelled();
                }
                if (closed || !scheduler.hasWork()) {
                    continue;
                }
                try {
                    step();
                } catch (RuntimeException | OutOfMemoryError e) {
                    // A failed step must not take the engine down with it: the requests it held
                    // end with an error, their blocks are freed, and the loop serves what comes next.
                    LOG.error("an engine step failed; failing the requests it held", e);
                    for (Sequence seq : scheduler.all()) {
                        finish(seq, FinishReason.ERROR, null, "the engine failed while computing this request: " + e);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            LOG.error("the engine's step loop failed; refusing new requests", t);
        } finally {
            synchronized (this) {
                closed = true;   // a dead loop must refuse requests, not queue them forever
            }
            abortAll();
        }
    }

    /**
     * Moves submissions into the scheduler; waits for one when there is nothing to do. Returns
     * whether a wake-up came in (a cancellation, or close), i.e. whether to look for cancelled requests.
     */
    private boolean takeInbox(boolean idle) throws InterruptedException {
        boolean woken = false;
        Object o = idle ? inbox.poll(1, TimeUnit.SECONDS) : inbox.poll();
        while (o != null) {
            if (o instanceof Sequence seq) {
                scheduler.add(seq);
            } else {
                woken = true;
            }
            o = inbox.poll();
        }
        publishStats();
        return woken;
    }

    private void sweepCancelled() {
        for (Sequence seq : scheduler.all()) {
            if (seq.cancelled) {
                finish(seq, FinishReason.ABORT, null, null);
            }
        }
    }

    private void step() {
        Scheduler.Step step = scheduler.schedule();
        if (step.preempted() > 0) {
            LOG.debugf("preempted %d sequence(s): KV cache full", step.preempted());
        }
        if (step.isEmpty()) {
            publishStats();
            return;
        }
        List<Sequence> seqs = step.sequences();
        int n = seqs.size();
        int[][] chunks = new int[n][];
        int[] starts = new int[n];
        int[][] tables = new int[n][];
        boolean[] wantLogits = new boolean[n];
        boolean[] promptDone = new boolean[n];
        long now = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Sequence seq = seqs.get(i);
            int start = seq.numComputed();
            chunks[i] = Arrays.copyOfRange(seq.tokens(), start, start + step.tokens()[i]);
            starts[i] = start;
            tables[i] = kv.blockTable(seq.id);
            promptDone[i] = start + step.tokens()[i] == seq.numTokens();
            wantLogits[i] = promptDone[i] && seq.maxOutput > 0 && seq.pooled == null;
            if (seq.firstScheduledNanos == 0) {
                seq.firstScheduledNanos = now;
                queued.decrementAndGet();
                metrics.queueTime(now - seq.arrivalNanos);
                metrics.promptTokens(seq.promptLength);
            }
        }
        // Where the backend samples on its device (a GPU) and no sequence of the step needs its
        // logits on the host (bias, penalties, min_tokens, log-probabilities), it samples there; a
        // step whose every sequence is plain greedy asks any backend for the argmax alone. Either
        // way only ids cross to the host instead of the logits.
        boolean argmaxOnly = true;
        boolean onDevice = backend.samplesOnDevice();
        int logitRows = 0;
        for (int i = 0; i < n; i++) {
            if (wantLogits[i]) {
                logitRows++;
                SequenceDecoder d = seqs.get(i).decoder;
                argmaxOnly &= d.plainGreedy();
                onDevice &= d.samplesOnDevice();
            }
        }
        float[] logits = null;
        int[] argmax = null;
        ForwardBatch batch = ForwardBatch.of(chunks, starts, tables, config.blockSize(), wantLogits);
        try {
            if (onDevice && !argmaxOnly) {
                SamplingRow[] params = new SamplingRow[logitRows];
                for (int i = 0, r = 0; i < n; i++) {
                    if (wantLogits[i]) {
                        params[r++] = seqs.get(i).decoder.nextDeviceRow();
                    }
                }
                argmax = forward.forwardSample(batch, kvStorage, params);
            } else if (argmaxOnly) {
                argmax = forward.forwardArgmax(batch, kvStorage);
            } else {
                logits = forward.forward(batch, kvStorage);
            }
            PromptLogprobs.read(seqs, starts, chunks, forward);
            EmbeddingPool.read(seqs, starts, chunks, forward);
        } catch (RuntimeException | OutOfMemoryError e) {
            LOG.error("a forward step failed; failing its " + n + " request(s)", e);
            for (Sequence seq : seqs) {
                finish(seq, FinishReason.ERROR, null, "the engine failed while computing this request: " + e);
            }
            return;
        }
        int vocab = model.config().vocabSize();
        int row = 0;
        int generated = 0;
        long sampledAt = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Sequence seq = seqs.get(i);
            seq.setComputed(starts[i] + chunks[i].length);
            kv.cacheFullBlocks(seq.id, seq.tokens(), seq.numComputed());
            if (seq.followers != null && seq.numComputed() >= seq.promptLength) {
                releaseFollowers(seq);
            }
            if (promptDone[i] && seq.promptLogprobs != null && seq.outputLength() == 0) {
                deliverPromptLogprobs(seq);
            }
            if (!promptDone[i]) {
                continue;
            }
            if (seq.cancelled) {
                finish(seq, FinishReason.ABORT, null, null);
                continue;
            }
            if (!wantLogits[i]) {
                if (seq.pooled != null) {
                    deliverEmbedding(seq);
                }
                finish(seq, FinishReason.LENGTH, null, null); // max_tokens 0 or an embedding: the prompt alone
                continue;
            }
            int logitRow = row++;
            SequenceDecoder.Sampled sampled;
            SequenceDecoder.Appended a;
            try {
                if (argmax != null) {
                    if (argmax[logitRow] < 0) {
                        throw Sampler.noFiniteLogit(); // as sample() would
                    }
                    sampled = new SequenceDecoder.Sampled(argmax[logitRow], null);
                } else {
                    sampled = seq.decoder.sample(logits, logitRow * vocab, vocab);
                }
                a = seq.append(sampled.token());
            } catch (RuntimeException e) {
                // This sequence's own decoding failed (its grammar allows no token, its logits are
                // all masked): it ends with an error, the others of the step go on.
                LOG.warnf("request %s: decoding failed: %s", seq.request.id(), e.getMessage());
                finish(seq, FinishReason.ERROR, null, e.getMessage());
                continue;
            }
            generated++;
            if (seq.firstTokenNanos == 0) {
                seq.firstTokenNanos = sampledAt;
                metrics.timeToFirstToken(sampledAt - seq.arrivalNanos);
            } else {
                metrics.interTokenLatency(sampledAt - seq.lastTokenNanos);
            }
            seq.lastTokenNanos = sampledAt;
            deliver(seq, sampled, a.text());
            if (a.finish() != null) {
                finish(seq, a.finish(), a.stopString(), null);
            }
        }
        metrics.generationTokens(generated);
        publishStats();
    }

    /** Puts the other choices of a request in line, first, once its prompt's blocks are cached. */
    private void releaseFollowers(Sequence seq) {
        List<Sequence> followers = seq.followers;
        seq.followers = null;
        scheduler.addFirst(followers);
    }

    private void deliverEmbedding(Sequence seq) {
        try {
            seq.listener.onEmbedding(EmbeddingPool.finish(seq));
        } catch (RuntimeException e) {
            LOG.warn("a request's listener failed on its embedding", e);
        }
    }

    private void deliverPromptLogprobs(Sequence seq) {
        try {
            seq.listener.onPromptLogprobs(List.copyOf(seq.promptLogprobs));
        } catch (RuntimeException e) {
            LOG.warn("a request's listener failed; cancelling the request", e);
            seq.cancelled = true;
        }
    }

    private void deliver(Sequence seq, SequenceDecoder.Sampled sampled, String text) {
        try {
            seq.listener.onOutput(new int[] {sampled.token()}, text,
                    sampled.logprobs() == null ? null : new dev.gantry.worker.model.sample.TokenLogprobs[] {sampled.logprobs()});
        } catch (RuntimeException e) {
            LOG.warn("a request's listener failed; cancelling the request", e);
            seq.cancelled = true;
        }
    }

    private void finish(Sequence seq, FinishReason reason, String stopString, String error) {
        if (seq.status == Sequence.Status.FINISHED) {
            return;
        }
        if (seq.firstScheduledNanos == 0) {
            queued.decrementAndGet();
        }
        scheduler.remove(seq);
        inFlight.decrementAndGet();
        if (seq.followers != null) {
            // The request ends before its prompt was computed: its other choices end with it.
            List<Sequence> followers = seq.followers;
            seq.followers = null;
            for (Sequence f : followers) {
                finish(f, reason, null, error);
            }
        }
        metrics.finished(reason.openAi(), System.nanoTime() - seq.arrivalNanos);
        RequestResult result = new RequestResult(reason, stopString, seq.promptLength, seq.outputLength(),
                Math.max(0, seq.cachedPromptTokens), error);
        try {
            seq.listener.onFinish(result);
        } catch (RuntimeException e) {
            LOG.warn("a request's listener failed on finish", e);
        }
    }

    private void abortAll() {
        Object o;
        while ((o = inbox.poll()) != null) {
            if (o instanceof Sequence seq) {
                scheduler.add(seq);
            }
        }
        for (Sequence seq : scheduler.all()) {
            finish(seq, FinishReason.ABORT, null, null);
        }
        publishStats();
    }

    private void publishStats() {
        stats = new EngineStats(scheduler.numRunning(), scheduler.numWaiting() + inbox.size(), kv.usedBlocks(), config.numBlocks());
        long q = kv.prefixQueryTokens();
        long h = kv.prefixHitTokens();
        if (q != lastPrefixQueries || h != lastPrefixHits) {
            metrics.prefixCache(q - lastPrefixQueries, h - lastPrefixHits);
            lastPrefixQueries = q;
            lastPrefixHits = h;
        }
        long p = scheduler.preemptions();
        if (p != lastPreemptions) {
            metrics.preemptions((int) (p - lastPreemptions));
            lastPreemptions = p;
        }
    }
}
