package dev.gantry.worker.engine;

import dev.gantry.worker.model.sample.TokenLogprobs;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One request inside the engine: its tokens (prompt, then output) and how many of them have K/V
 * in the cache. Everything between logits and text is its {@link SequenceDecoder}, which the
 * scheduler never sees.
 *
 * <p>There are no prefill and decode phases: the scheduler compares {@link #numTokens()} with
 * {@link #numComputed()} and hands out up to that many tokens. After a preemption the sequence
 * keeps its tokens and its decoder and recomputes its K/V, so its output goes on exactly where
 * it stopped. Owned by the engine thread, except {@link #cancelled}.
 */
final class Sequence {
    enum Status { WAITING, RUNNING, FINISHED }

    final long id;
    final EngineRequest request;
    final RequestListener listener;
    final int promptLength;
    /** The most output tokens: max_tokens, or what is left of the context. */
    final int maxOutput;
    final SequenceDecoder decoder;

    private int[] tokens;     // [capacity] prompt then output; valid up to numTokens
    private int numTokens;
    /** Tokens whose K/V are written in this sequence's blocks. NOTE: never exceeds numTokens. */
    private int numComputed;
    int cachedPromptTokens = -1;  // from the prefix cache at first admission; -1 until admitted
    Status status = Status.WAITING;
    volatile boolean cancelled;

    /**
     * Prompt log-probabilities gathered so far ([i] for prompt position i + 1), or null when not
     * asked for. NOTE: a preempted sequence recomputes rows it already read; only new ones are added.
     */
    final List<TokenLogprobs> promptLogprobs;
    /**
     * Other choices of the same request (n > 1), waiting outside the scheduler until this one's
     * prompt is computed and its full blocks are in the prefix cache, so that they share them
     * instead of computing the prompt again. Null once released.
     */
    List<Sequence> followers;
    /** An embedding's pooled state: the sum (mean) or the one row (CLS, last) so far; null otherwise. */
    final double[] pooled;
    /** Prompt positions already pooled. NOTE: a preempted sequence recomputes rows; only new ones count. */
    int pooledRows;

    final long arrivalNanos;
    long firstScheduledNanos;
    long firstTokenNanos;
    long lastTokenNanos;

    Sequence(long id, EngineRequest request, RequestListener listener, Tokenizer tokenizer, int maxModelLen, int dim) {
        this.id = id;
        this.request = request;
        this.listener = listener;
        this.promptLength = request.promptTokens().length;
        int room = maxModelLen - promptLength;
        Integer max = request.params().maxTokens();
        this.maxOutput = max == null ? room : Math.min(max, room);
        this.tokens = Arrays.copyOf(request.promptTokens(), promptLength + Math.min(maxOutput, 64));
        this.numTokens = promptLength;
        this.decoder = new SequenceDecoder(request, tokenizer);
        this.promptLogprobs = request.promptLogprobs() >= 0 ? new ArrayList<>() : null;
        this.pooled = request.pooling() != null ? new double[dim] : null;
        this.arrivalNanos = request.arrivalNanos();
    }

    int numTokens() {
        return numTokens;
    }

    int numComputed() {
        return numComputed;
    }

    int outputLength() {
        return numTokens - promptLength;
    }

    /** Whether admission may attach cached prefix blocks: not when every prompt row is read (logprobs, pooling). */
    boolean usesPrefixCache() {
        return promptLogprobs == null && pooled == null;
    }

    /** The token array (valid up to {@link #numTokens()}); not a copy. */
    int[] tokens() {
        return tokens;
    }

    /** Tokens the next forward pass would compute for this sequence, all of them if the budget allows. */
    int uncomputed() {
        return numTokens - numComputed;
    }

    void setComputed(int n) {
        if (n < 0 || n > numTokens) {
            throw new IllegalStateException("computed " + n + " of " + numTokens + " tokens");
        }
        numComputed = n;
    }

    /** Appends a sampled token and applies the stop rules ({@link SequenceDecoder#append}). */
    SequenceDecoder.Appended append(int token) {
        if (numTokens == tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.min(promptLength + maxOutput, tokens.length * 2));
        }
        tokens[numTokens++] = token;
        return decoder.append(token, outputLength(), maxOutput);
    }
}
