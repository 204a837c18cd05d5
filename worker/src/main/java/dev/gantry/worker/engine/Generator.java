package dev.gantry.worker.engine;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.KvCacheDtype;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.sample.SamplingParams;
import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;

/**
 * Offline generation of one sequence at a time (the {@code generate} command and model tests),
 * through the serving {@link Engine}: one decode path, so what {@code gantry generate} prints is
 * what a server with the same settings would answer. The engine is sized for one sequence of
 * {@code contextSize} tokens, with no prefix cache (each call starts from a clean slate).
 */
public final class Generator implements AutoCloseable {
    private final Engine engine;
    private final int contextSize;

    /**
     * What one generation produced. prefillNanos: from submitting to the first token (the prompt's
     * forward passes and the first sampling); decodeNanos: from there to the end.
     */
    public record Result(int[] promptTokens, int[] tokens, String text, String finishReason, long prefillNanos,
            long decodeNanos) {}

    /**
     * @param contextSize    the most tokens (prompt + generated) of a sequence
     * @param blockSize      KV-cache block size in tokens
     * @param maxBatchTokens the most prompt tokens per forward call (prefill chunk)
     */
    public Generator(Model model, Backend backend, int contextSize, int blockSize, int maxBatchTokens) {
        this(model, backend, contextSize, blockSize, maxBatchTokens, KvCacheDtype.F32);
    }

    /** @param kvCacheDtype how the KV cache stores values (one of the backend's {@link Backend#kvCacheDtypes}) */
    public Generator(Model model, Backend backend, int contextSize, int blockSize, int maxBatchTokens,
            KvCacheDtype kvCacheDtype) {
        this.contextSize = contextSize;
        int numBlocks = (contextSize + blockSize - 1) / blockSize;
        this.engine = new Engine(model, backend, new EngineConfig(1, maxBatchTokens, blockSize, numBlocks, contextSize, 1,
                false, kvCacheDtype), null, model.name());
        engine.start();
    }

    public int contextSize() {
        return contextSize;
    }

    /** One event of the request, handed from the engine's thread to the caller's. */
    private record Event(int[] tokens, String text, RequestResult end, long at) {}

    /**
     * Generates a continuation of {@code prompt}. {@code onText} receives, on the calling thread,
     * text as it becomes final (complete UTF-8 characters, stop strings held back and cut).
     *
     * @throws IllegalArgumentException for a prompt that is empty or does not leave room in the context
     * @throws IllegalStateException when the engine fails on the request
     */
    public Result generate(int[] prompt, SamplingParams params, Consumer<String> onText) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens (an empty prompt still needs BOS)");
        }
        if (prompt.length >= contextSize) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the context holds " + contextSize);
        }
        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        RequestListener listener = new RequestListener() {
            @Override
            public void onOutput(int[] newTokenIds, String textDelta, dev.gantry.worker.model.sample.TokenLogprobs[] logprobs) {
                events.add(new Event(newTokenIds, textDelta, null, System.nanoTime()));
            }

            @Override
            public void onFinish(RequestResult result) {
                events.add(new Event(null, null, result, System.nanoTime()));
            }
        };
        long start = System.nanoTime();
        RequestHandle handle;
        try {
            handle = engine.submit(new EngineRequest("generate", prompt, params), listener);
        } catch (RequestRejectedException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        int[] tokens = new int[16];
        int n = 0;
        StringBuilder text = new StringBuilder();
        long first = 0;
        try {
            while (true) {
                Event e = events.take();
                if (e.end() != null) {
                    RequestResult r = e.end();
                    if (r.finishReason() == FinishReason.ERROR || r.finishReason() == FinishReason.ABORT) {
                        throw new IllegalStateException("generation ended with " + r.finishReason().openAi()
                                + (r.error() == null ? "" : ": " + r.error()));
                    }
                    long firstAt = first == 0 ? e.at() : first;
                    return new Result(prompt, Arrays.copyOf(tokens, n), text.toString(), r.finishReason().openAi(),
                            firstAt - start, e.at() - firstAt);
                }
                if (first == 0) {
                    first = e.at();
                }
                for (int t : e.tokens()) {
                    if (n == tokens.length) {
                        tokens = Arrays.copyOf(tokens, n * 2);
                    }
                    tokens[n++] = t;
                }
                if (!e.text().isEmpty()) {
                    text.append(e.text());
                    onText.accept(e.text());
                }
            }
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while generating", e);
        }
    }

    /** Stops the engine and frees its KV cache. */
    @Override
    public void close() {
        engine.close();
    }
}
