package dev.gantry.worker.model;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.engine.kv.SimpleBlockAllocator;
import dev.gantry.worker.model.llama.ForwardBatch;
import dev.gantry.worker.model.llama.LlamaForward;
import dev.gantry.worker.model.sample.Sampler;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.sample.StopMatcher;
import dev.gantry.worker.model.sample.TokenHistory;
import dev.gantry.worker.model.tokenizer.StreamingDetokenizer;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Offline generation of one sequence at a time (the {@code generate} command and model tests):
 * the prompt is prefilled in chunks through the batched forward pass, then tokens are sampled one
 * by one until a stop condition. The serving engine batches many sequences instead; both share
 * {@link LlamaForward}, the sampler and the detokenizer, so their results agree.
 */
public final class Generator implements AutoCloseable {
    private final Model model;
    private final LlamaForward forward;
    private final KvStorage kv;
    private final SimpleBlockAllocator blocks;
    private final int contextSize;

    /** What one generation produced, with timings of its two phases. */
    public record Result(int[] promptTokens, int[] tokens, String text, String finishReason, long prefillNanos,
            long decodeNanos) {}

    /**
     * @param contextSize    the most tokens (prompt + generated) of a sequence
     * @param blockSize      KV-cache block size in tokens
     * @param maxBatchTokens the most prompt tokens per forward call (prefill chunk)
     */
    public Generator(Model model, Backend backend, int contextSize, int blockSize, int maxBatchTokens) {
        this.model = model;
        this.contextSize = contextSize;
        int numBlocks = (contextSize + blockSize - 1) / blockSize;
        this.forward = new LlamaForward(model.config(), model.weights(), backend, maxBatchTokens, 1);
        this.kv = backend.allocateKv(model.config().layers(), numBlocks, blockSize, model.config().kvDim());
        this.blocks = new SimpleBlockAllocator(numBlocks, blockSize);
    }

    public int contextSize() {
        return contextSize;
    }

    /**
     * Generates a continuation of {@code prompt}. {@code onText} receives text as it becomes final
     * (complete UTF-8 characters, stop strings held back and cut).
     */
    public Result generate(int[] prompt, SamplingParams params, Consumer<String> onText) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens (an empty prompt still needs BOS)");
        }
        if (prompt.length >= contextSize) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the context holds " + contextSize);
        }
        int limit = contextSize - prompt.length;
        if (params.maxTokens() != null) {
            limit = Math.min(limit, params.maxTokens());
        }
        Sampler sampler = new Sampler(params, model.tokenizer().endOfGenerationIds());
        TokenHistory history = new TokenHistory(prompt);
        StreamingDetokenizer detok = new StreamingDetokenizer(model.tokenizer());
        StopMatcher stops = new StopMatcher(params.stop());
        StringBuilder text = new StringBuilder();
        Consumer<String> emit = s -> {
            if (!s.isEmpty()) {
                text.append(s);
                onText.accept(s);
            }
        };
        SimpleBlockAllocator.Table table = blocks.newTable();
        int vocab = model.config().vocabSize();
        int[] out = new int[limit];
        int n = 0;
        String finish = "length";
        try {
            long t0 = System.nanoTime();
            float[] logits = null;
            for (int start = 0; start < prompt.length; start += forward.maxTokens()) {
                int[] chunk = Arrays.copyOfRange(prompt, start, Math.min(prompt.length, start + forward.maxTokens()));
                logits = step(table, chunk, start, start + chunk.length == prompt.length);
            }
            long t1 = System.nanoTime();
            while (n < limit) {
                int token = sampler.sample(logits, vocab, history);
                out[n++] = token;
                history.add(token);
                if (!params.ignoreEos() && model.tokenizer().isEndOfGeneration(token) || params.stopTokenIds().contains(token)) {
                    finish = "stop";
                    break;
                }
                StopMatcher.Result r = stops.push(detok.append(token));
                emit.accept(r.text());
                if (r.stopped()) {
                    finish = "stop";
                    break;
                }
                if (n < limit) {
                    logits = step(table, new int[] {token}, prompt.length + n - 1, true);
                }
            }
            // After a stop-string hit the matcher returns nothing more; otherwise this releases held-back text.
            emit.accept(stops.push(detok.flush()).text());
            emit.accept(stops.flush());
            long t2 = System.nanoTime();
            return new Result(prompt, Arrays.copyOf(out, n), text.toString(), finish, t1 - t0, t2 - t1);
        } finally {
            table.release();
        }
    }

    private float[] step(SimpleBlockAllocator.Table table, int[] tokens, int start, boolean wantLogits) {
        if (!table.ensureCapacity(start + tokens.length)) {
            throw new IllegalStateException("KV cache exhausted at " + (start + tokens.length) + " tokens");
        }
        ForwardBatch batch = ForwardBatch.of(new int[][] {tokens}, new int[] {start}, new int[][] {table.blocks()},
                blocks.blockSize(), new boolean[] {wantLogits});
        return forward.forward(batch, kv);
    }

    @Override
    public void close() {
        kv.close();
    }
}
