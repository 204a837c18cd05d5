package dev.gantry.worker.engine;

import dev.gantry.worker.backend.SamplingRow;
import dev.gantry.worker.model.grammar.GrammarMatcher;
import dev.gantry.worker.model.sample.Logprobs;
import dev.gantry.worker.model.sample.Sampler;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.sample.StopMatcher;
import dev.gantry.worker.model.sample.TokenHistory;
import dev.gantry.worker.model.sample.TokenLogprobs;
import dev.gantry.worker.model.tokenizer.StreamingDetokenizer;
import dev.gantry.worker.model.tokenizer.Tokenizer;

/**
 * One sequence's decoding state, everything between its logits and its text: the sampler with
 * its random stream, the token history the penalties read, the grammar matcher of a constrained
 * request (structured outputs), log-probabilities when asked, the detokenizer and the stop rules. The scheduler never sees it; a preempted sequence keeps it, so
 * its output goes on exactly where it stopped.
 */
final class SequenceDecoder {
    /** What one token did to the sequence: its final text, and why the sequence ends, if it does. */
    record Appended(String text, FinishReason finish, String stopString) {}

    private final SamplingParams params;
    private final Tokenizer tokenizer;
    private final Sampler sampler;
    private final TokenHistory history;
    private final StreamingDetokenizer detokenizer;
    private final StopMatcher stops;
    /** Top log-probabilities per sampled token, or -1 for none. */
    private final int logprobs;
    /** The output's grammar state, or null for free text. */
    private final GrammarMatcher grammar;
    private float[] row = new float[0];

    SequenceDecoder(EngineRequest request, Tokenizer tokenizer) {
        this.params = request.params();
        this.tokenizer = tokenizer;
        this.sampler = new Sampler(params, tokenizer.endOfGenerationIds());
        this.history = new TokenHistory(request.promptTokens());
        this.detokenizer = new StreamingDetokenizer(tokenizer, !params.skipSpecialTokens());
        this.stops = new StopMatcher(params.stop());
        this.logprobs = request.logprobs();
        this.grammar = request.grammar() == null ? null : request.grammar().newMatcher();
    }

    /** The backend's argmax gives this sequence's token: greedy, no logits processing, no log-probabilities. */
    boolean plainGreedy() {
        return sampler.plainGreedy() && logprobs < 0 && grammar == null;
    }

    /** The backend may sample this sequence's token on its device: the logits need no processing here. */
    boolean samplesOnDevice() {
        return sampler.withoutLogitsProcessors() && logprobs < 0 && grammar == null;
    }

    /** The next pick as a device samples it (only when {@link #samplesOnDevice()}). */
    SamplingRow nextDeviceRow() {
        return sampler.nextDeviceRow();
    }

    /**
     * Picks the next token from the sequence's logits at {@code [offset, offset + vocab)}, which it
     * overwrites. With log-probabilities asked, they are those of the processed logits (logit bias,
     * min_tokens, penalties, the grammar's mask: what the request asked to change) before
     * temperature and truncation.
     */
    Sampled sample(float[] logits, int offset, int vocab) {
        sampler.adjustLogits(logits, offset, vocab, history);
        if (grammar != null) {
            grammar.maskLogits(logits, offset, vocab);
        }
        if (logprobs < 0) {
            return new Sampled(pick(logits, offset, vocab), null);
        }
        if (!sampler.greedy()) {
            // A random pick turns the logits into weights; keep the row the log-probabilities read.
            if (row.length < vocab) {
                row = new float[vocab];
            }
            System.arraycopy(logits, offset, row, 0, vocab);
        }
        int token = pick(logits, offset, vocab);
        TokenLogprobs lp = sampler.greedy() ? Logprobs.of(logits, offset, vocab, token, logprobs)
                : Logprobs.of(row, 0, vocab, token, logprobs);
        return new Sampled(token, lp);
    }

    private int pick(float[] logits, int offset, int vocab) {
        try {
            return sampler.pick(logits, offset, vocab);
        } catch (IllegalArgumentException e) {
            if (grammar != null) {
                // Every logit masked: the grammar allows no token here (or only ones min_tokens forbids).
                throw new IllegalStateException("the request's grammar allows no token of this model's vocabulary"
                        + " after the output so far" + (grammar.isAccepting() ? " (min_tokens forbids ending it)" : ""), e);
            }
            throw e;
        }
    }

    /** A sampled token and, when asked, its log-probabilities. */
    record Sampled(int token, TokenLogprobs logprobs) {}

    /**
     * Takes a token the sequence now ends with and applies the stop rules: EOS and stop tokens
     * (not shown as text), stop strings (text cut before them), then the output limit.
     *
     * @param outputLength the sequence's output tokens, this one included
     * @param maxOutput    the most output tokens it may have
     */
    Appended append(int token, int outputLength, int maxOutput) {
        history.add(token);
        if (grammar != null && !grammar.accept(token)) {
            // The mask allowed only what the grammar accepts: a refusal here is a bug, not bad input.
            throw new IllegalStateException("token " + token + " was sampled against the request's grammar");
        }
        if (!params.ignoreEos() && tokenizer.isEndOfGeneration(token) || params.stopTokenIds().contains(token)) {
            return new Appended(flushText(), FinishReason.STOP, null);
        }
        StopMatcher.Result r = stops.push(detokenizer.append(token));
        if (r.stopped()) {
            return new Appended(r.text(), FinishReason.STOP, r.stop());
        }
        if (outputLength >= maxOutput) {
            return new Appended(r.text() + flushText(), FinishReason.LENGTH, null);
        }
        if (grammar != null && grammar.isTerminated()) {
            // The output is complete and nothing may follow: end as the model's EOS would.
            return new Appended(r.text() + flushText(), FinishReason.STOP, null);
        }
        return new Appended(r.text(), null, null);
    }

    /** Releases text held back for a possible stop string or an incomplete character. */
    String flushText() {
        String held = stops.push(detokenizer.flush()).text();
        return held + stops.flush();
    }
}
