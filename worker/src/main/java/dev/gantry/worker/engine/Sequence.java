package dev.gantry.worker.engine;

import dev.gantry.worker.model.sample.Sampler;
import dev.gantry.worker.model.sample.StopMatcher;
import dev.gantry.worker.model.sample.TokenHistory;
import dev.gantry.worker.model.tokenizer.StreamingDetokenizer;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * One request inside the engine: its tokens (prompt, then output), how many of them have K/V in
 * the cache, and the per-request decoding state (sampler, detokenizer, stop strings).
 *
 * <p>There are no prefill and decode phases: the scheduler compares {@link #numTokens()} with
 * {@link #numComputed()} and hands out up to that many tokens. After a preemption the sequence
 * keeps its tokens and recomputes their K/V; decoding state is untouched, so its output goes on
 * exactly where it stopped. Owned by the engine thread, except {@link #cancelled}.
 */
final class Sequence {
    enum Status { WAITING, RUNNING, FINISHED }

    final long id;
    final EngineRequest request;
    final RequestListener listener;
    final int promptLength;
    /** The most output tokens: max_tokens, or what is left of the context. */
    final int maxOutput;

    private int[] tokens;     // [capacity] prompt then output; valid up to numTokens
    private int numTokens;
    /** Tokens whose K/V are written in this sequence's blocks. NOTE: never exceeds numTokens. */
    private int numComputed;
    int cachedPromptTokens = -1;  // from the prefix cache at first admission; -1 until admitted
    Status status = Status.WAITING;
    volatile boolean cancelled;

    final Sampler sampler;
    final TokenHistory history;
    final StreamingDetokenizer detokenizer;
    final StopMatcher stops;
    private final Tokenizer tokenizer;

    final long arrivalNanos;
    long firstScheduledNanos;
    long firstTokenNanos;
    long lastTokenNanos;

    Sequence(long id, EngineRequest request, RequestListener listener, Tokenizer tokenizer, int maxModelLen) {
        this.id = id;
        this.request = request;
        this.listener = listener;
        this.tokenizer = tokenizer;
        this.promptLength = request.promptTokens().length;
        int room = maxModelLen - promptLength;
        Integer max = request.params().maxTokens();
        this.maxOutput = max == null ? room : Math.min(max, room);
        this.tokens = Arrays.copyOf(request.promptTokens(), promptLength + Math.min(maxOutput, 64));
        this.numTokens = promptLength;
        this.sampler = new Sampler(request.params(), tokenizer.endOfGenerationIds());
        this.history = new TokenHistory(request.promptTokens());
        this.detokenizer = new StreamingDetokenizer(tokenizer, !request.params().skipSpecialTokens());
        this.stops = new StopMatcher(request.params().stop());
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

    /** What sampling a token did to the sequence. */
    record Appended(String text, FinishReason finish, String stopString) {}

    /**
     * Appends a sampled token and applies the stop rules: EOS and stop tokens (not shown as text),
     * stop strings (text cut before them), max_tokens and the context length.
     */
    Appended append(int token) {
        if (numTokens == tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.min(promptLength + maxOutput, tokens.length * 2));
        }
        tokens[numTokens++] = token;
        history.add(token);
        var params = request.params();
        if (!params.ignoreEos() && tokenizer.isEndOfGeneration(token) || params.stopTokenIds().contains(token)) {
            return new Appended(flushText(), FinishReason.STOP, null);
        }
        StopMatcher.Result r = stops.push(detokenizer.append(token));
        if (r.stopped()) {
            return new Appended(r.text(), FinishReason.STOP, r.stop());
        }
        if (outputLength() >= maxOutput) {
            return new Appended(r.text() + flushText(), FinishReason.LENGTH, null);
        }
        return new Appended(r.text(), null, null);
    }

    /** Releases text held back for a possible stop string or an incomplete character. */
    private String flushText() {
        String held = stops.push(detokenizer.flush()).text();
        return held + stops.flush();
    }
}
