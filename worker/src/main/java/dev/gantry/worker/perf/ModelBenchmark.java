package dev.gantry.worker.perf;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.llama.ForwardBatch;
import dev.gantry.worker.model.llama.LlamaConfig;
import dev.gantry.worker.model.llama.LlamaForward;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Times a model's forward pass the way llama.cpp's bench tools do, so the two can be put side
 * by side: prefill is one prompt of {@code promptTokens} tokens in one batch (llama-bench's
 * {@code pp}); decode at batch B is B sequences, each behind the same prompt, decoding {@code
 * genTokens} tokens together one step at a time, every step computing every sequence's logits
 * (llama-batched-bench's {@code S_TG} with a shared prompt, {@code -pps}). Token ids are random:
 * speed does not depend on them.
 *
 * <p>The KV cache is paged as the engine's is: the prompt's full blocks are written once and
 * shared by every sequence's block table (prefix sharing); each sequence owns the blocks after
 * them. Each measurement is preceded by untimed runs of the same shape, so the JIT has compiled
 * the kernels that shape takes before the clock starts.
 */
public final class ModelBenchmark implements AutoCloseable {
    private static final int BLOCK = 16;
    private static final int WARMUP_STEPS = 4;

    private final LlamaConfig c;
    private final LlamaForward forward;
    private final KvStorage kv;
    private final int promptTokens;
    private final int genTokens;
    private final int[] prompt;
    private final SplittableRandom random = new SplittableRandom(42);
    /** Blocks holding the prompt's full blocks, shared by all sequences: 0 .. sharedBlocks-1. */
    private final int sharedBlocks;
    /** Blocks each sequence owns beyond the shared ones. */
    private final int ownBlocks;
    /** Run just before the clock of a measurement starts (after its warm-up), e.g. to reset a profiler. */
    private Runnable onClockStart = () -> {};

    /** @param maxBatch the largest decode batch that will be asked for */
    public ModelBenchmark(Model model, Backend backend, int promptTokens, int genTokens, int maxBatch) {
        this(model, backend, promptTokens, genTokens, maxBatch, dev.gantry.worker.backend.KvCacheDtype.F32);
    }

    /**
     * @param maxBatch     the largest decode batch that will be asked for
     * @param kvCacheDtype how the KV cache stores values
     */
    public ModelBenchmark(Model model, Backend backend, int promptTokens, int genTokens, int maxBatch,
            dev.gantry.worker.backend.KvCacheDtype kvCacheDtype) {
        if (promptTokens < 1 || genTokens < 1 || maxBatch < 1) {
            throw new IllegalArgumentException("prompt tokens, generated tokens and batch sizes must be positive");
        }
        this.c = model.config();
        this.promptTokens = promptTokens;
        this.genTokens = genTokens;
        int tail = promptTokens % BLOCK; // prompt tokens past the last full block: each sequence holds its own copy
        this.sharedBlocks = promptTokens / BLOCK;
        this.ownBlocks = (tail + genTokens + WARMUP_STEPS + BLOCK - 1) / BLOCK;
        int prefillBlocks = (promptTokens + BLOCK - 1) / BLOCK;
        int numBlocks = Math.max(prefillBlocks, sharedBlocks + maxBatch * ownBlocks);
        int maxTokens = Math.max(promptTokens, maxBatch * Math.max(1, tail));
        this.forward = new LlamaForward(c, model.weights(), backend, maxTokens, maxBatch);
        this.kv = backend.allocateKv(c.layers(), numBlocks, BLOCK, c.kvDim(), kvCacheDtype);
        this.prompt = randomTokens(promptTokens);
    }

    /** Sets what runs just before each measurement's timed runs start, after its warm-up. */
    public void onClockStart(Runnable r) {
        this.onClockStart = r;
    }

    /** Prompt tokens per second of one {@code promptTokens}-token prefill, the mean of {@code reps} runs after a warm-up. */
    public double prefill(int reps) {
        prefillOnce(); // warm-up
        onClockStart.run();
        long nanos = 0;
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            prefillOnce();
            nanos += System.nanoTime() - t0;
        }
        return (double) promptTokens * reps / (nanos / 1e9);
    }

    private void prefillOnce() {
        int[] table = new int[(promptTokens + BLOCK - 1) / BLOCK];
        Arrays.setAll(table, i -> i);
        forward.forward(ForwardBatch.of(new int[][] {prompt}, new int[] {0}, new int[][] {table}, BLOCK,
                new boolean[] {true}), kv);
    }

    /**
     * Aggregate tokens per second of {@code batch} sequences decoding {@code genTokens} tokens
     * each behind the shared prompt, the mean of {@code reps} runs.
     */
    public double decode(int batch, int reps) {
        int[][] tables = new int[batch][sharedBlocks + ownBlocks];
        for (int s = 0; s < batch; s++) {
            for (int b = 0; b < tables[s].length; b++) {
                tables[s][b] = b < sharedBlocks ? b : sharedBlocks + s * ownBlocks + (b - sharedBlocks);
            }
        }
        // The prompt's full blocks once (shared), then each sequence's tail of the prompt in one batch.
        int full = sharedBlocks * BLOCK;
        if (full > 0) {
            int[] shared = Arrays.copyOf(tables[0], sharedBlocks);
            forward.forward(ForwardBatch.of(new int[][] {Arrays.copyOf(prompt, full)}, new int[] {0},
                    new int[][] {shared}, BLOCK, new boolean[] {false}), kv);
        }
        if (full < promptTokens) {
            int[][] tails = new int[batch][];
            Arrays.fill(tails, Arrays.copyOfRange(prompt, full, promptTokens));
            step(tails, full, tables);
        }
        for (int i = 0; i < WARMUP_STEPS; i++) {
            step(oneEach(batch), promptTokens + i, tables);
        }
        onClockStart.run();
        long nanos = 0;
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            // Each repetition decodes the same positions again, overwriting their K/V.
            for (int i = 0; i < genTokens; i++) {
                step(oneEach(batch), promptTokens + i, tables);
            }
            nanos += System.nanoTime() - t0;
        }
        return (double) batch * genTokens * reps / (nanos / 1e9);
    }

    /** One forward step: every sequence brings {@code tokens[s]} at position {@code start}, logits for all. */
    private void step(int[][] tokens, int start, int[][] tables) {
        int[] starts = new int[tokens.length];
        Arrays.fill(starts, start);
        boolean[] logits = new boolean[tokens.length];
        Arrays.fill(logits, true);
        forward.forward(ForwardBatch.of(tokens, starts, tables, BLOCK, logits), kv);
    }

    private int[][] oneEach(int batch) {
        int[][] t = new int[batch][];
        for (int s = 0; s < batch; s++) {
            t[s] = randomTokens(1);
        }
        return t;
    }

    private int[] randomTokens(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = random.nextInt(c.vocabSize());
        }
        return t;
    }

    /**
     * Weight bytes one decode step reads at batch 1: every matrix and vector once, the output
     * layer included, but of an untied token embedding only one row (negligible, left out).
     */
    public static long weightBytesPerToken(Model model) {
        long bytes = 0;
        Weight embd = model.weights().tokenEmbedding();
        boolean tied = model.weights().output() == embd;
        for (Weight w : model.weights().all()) {
            if (w != embd || tied) {
                bytes += w.data().byteSize();
            }
        }
        return bytes;
    }

    /**
     * Multiply-adds of the matrix products of one decode step for one token: rows x cols of every
     * matrix, the output layer included, an untied token embedding (a row lookup) not. Attention
     * over the context is left out (small at the context lengths benchmarked).
     */
    public static long multiplyAddsPerToken(Model model) {
        long macs = 0;
        Weight embd = model.weights().tokenEmbedding();
        boolean tied = model.weights().output() == embd;
        for (Weight w : model.weights().all()) {
            if (w.rows() > 1 && (w != embd || tied)) {
                macs += (long) w.rows() * w.cols();
            }
        }
        return macs;
    }

    /** Multiply-adds of the output layer, which prefill runs for the last prompt token only. */
    public static long outputMultiplyAdds(Model model) {
        Weight out = model.weights().output();
        return (long) out.rows() * out.cols();
    }

    @Override
    public void close() {
        kv.close();
    }
}
