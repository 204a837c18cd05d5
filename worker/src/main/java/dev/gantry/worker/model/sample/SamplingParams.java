package dev.gantry.worker.model.sample;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How one sequence picks its tokens and when it stops, with the meanings of the OpenAI and vLLM
 * request fields of the same names.
 *
 * <p>The record accepts any values so that a request can be parsed first and judged after;
 * {@link #validate()} is the judge. Lists and maps are copied (null becomes empty) and read-only.
 *
 * @param temperature divides the logits; 0 (anything below {@link #GREEDY_EPSILON}) means greedy
 * @param topP keep the smallest set of most likely tokens whose probability mass reaches it; 1 = off
 * @param topK keep only this many most likely tokens; 0 or -1 = off
 * @param minP drop tokens whose probability is below {@code minP} times the top one's; 0 = off
 * @param repetitionPenalty HF/vLLM: the logit of every token seen in the prompt or the output is
 *     divided by it when positive and multiplied by it otherwise; 1 = off
 * @param presencePenalty OpenAI: subtracted once from the logit of every token already generated
 * @param frequencyPenalty OpenAI: subtracted from a generated token's logit once per occurrence
 * @param seed seeds the sequence's random generator; null = a fresh random seed
 * @param maxTokens the most tokens to generate; null = up to the context length
 * @param minTokens EOS and {@code stopTokenIds} cannot be sampled before this many tokens
 * @param stop strings that end generation; the output ends right before the first one
 * @param stopTokenIds token ids that end generation (besides EOS); the token is not shown as text
 * @param ignoreEos keep generating after EOS (for benchmarks)
 * @param logitBias token id to a value in [-100, 100] added to its logit before anything else
 * @param skipSpecialTokens leave control tokens ({@code <|im_end|>}, EOS) out of the text (vLLM's
 *     default); false writes them out
 */
public record SamplingParams(
        double temperature,
        double topP,
        int topK,
        double minP,
        double repetitionPenalty,
        double presencePenalty,
        double frequencyPenalty,
        Long seed,
        Integer maxTokens,
        int minTokens,
        List<String> stop,
        List<Integer> stopTokenIds,
        boolean ignoreEos,
        Map<Integer, Float> logitBias,
        boolean skipSpecialTokens) {

    /** Temperatures below this are greedy decoding (vLLM's threshold). */
    public static final double GREEDY_EPSILON = 1e-5;
    /** OpenAI's default {@code max_tokens} for completions. */
    public static final int DEFAULT_MAX_TOKENS = 16;
    public static final double MAX_TEMPERATURE = 2.0;
    public static final double MAX_REPETITION_PENALTY = 2.0;
    public static final double MAX_ABS_PRESENCE_FREQUENCY_PENALTY = 2.0;
    public static final float MAX_ABS_LOGIT_BIAS = 100f;
    /** More than OpenAI's 4 because chat templates often need several; bounded because each is searched per token. */
    public static final int MAX_STOP_STRINGS = 16;
    /** Output is held back by up to this many characters minus one while a stop string may be forming. */
    public static final int MAX_STOP_STRING_LENGTH = 256;
    public static final int MAX_STOP_TOKEN_IDS = 256;
    /** Every entry costs work on every token. */
    public static final int MAX_LOGIT_BIAS_ENTRIES = 2048;

    private static final SamplingParams DEFAULTS = new SamplingParams(1.0, 1.0, 0, 0.0, 1.0, 0.0, 0.0,
            null, DEFAULT_MAX_TOKENS, 0, List.of(), List.of(), false, Map.of(), true);

    public SamplingParams {
        // Not List.copyOf/Map.copyOf: those throw NullPointerException on a null element, and a
        // null inside a request must become a 400 from validate(), not a 500.
        stop = stop == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(stop));
        stopTokenIds = stopTokenIds == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(stopTokenIds));
        logitBias = logitBias == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(logitBias));
    }

    /** temperature 1, no filtering, no penalties, random seed, 16 tokens, no stop conditions. */
    public static SamplingParams defaults() {
        return DEFAULTS;
    }

    /** Whether the token is always the most likely one (temperature below {@link #GREEDY_EPSILON}). */
    public boolean greedy() {
        return temperature < GREEDY_EPSILON;
    }

    /**
     * Checks every field against its allowed range.
     *
     * @throws InvalidSamplingParamsException naming the first bad field (by its API name) and
     *     what it allows
     */
    public void validate() {
        if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
            throw bad("temperature", "must be in [0, " + fmt(MAX_TEMPERATURE) + "], got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw bad("top_p", "must be in (0, 1], got " + topP);
        }
        if (topK < -1) {
            throw bad("top_k", "must be -1 or 0 (disabled) or at least 1, got " + topK);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw bad("min_p", "must be in [0, 1], got " + minP);
        }
        if (!(repetitionPenalty > 0 && repetitionPenalty <= MAX_REPETITION_PENALTY)) {
            throw bad("repetition_penalty", "must be in (0, " + fmt(MAX_REPETITION_PENALTY) + "], got "
                    + repetitionPenalty);
        }
        checkPenalty("presence_penalty", presencePenalty);
        checkPenalty("frequency_penalty", frequencyPenalty);
        // 0 computes the prompt only (completions' echo with logprobs); the API allows it only there.
        if (maxTokens != null && maxTokens < 0) {
            throw bad("max_tokens", "must be at least 0, got " + maxTokens);
        }
        if (minTokens < 0) {
            throw bad("min_tokens", "must be at least 0, got " + minTokens);
        }
        if (maxTokens != null && minTokens > maxTokens) {
            throw bad("min_tokens", "must be at most max_tokens (" + maxTokens + "), got " + minTokens);
        }
        checkStop();
        checkStopTokenIds();
        checkLogitBias();
    }

    /**
     * {@link #validate()}, and also that every token id named ({@code stop_token_ids},
     * {@code logit_bias}) is below {@code vocabSize}.
     */
    public void validate(int vocabSize) {
        validate();
        for (int i = 0; i < stopTokenIds.size(); i++) {
            if (stopTokenIds.get(i) >= vocabSize) {
                throw bad("stop_token_ids", "must be token ids in [0, " + vocabSize + "), got "
                        + stopTokenIds.get(i) + " at index " + i);
            }
        }
        for (Integer id : logitBias.keySet()) {
            if (id >= vocabSize) {
                throw bad("logit_bias", "keys must be token ids in [0, " + vocabSize + "), got " + id);
            }
        }
    }

    private static void checkPenalty(String name, double value) {
        double max = MAX_ABS_PRESENCE_FREQUENCY_PENALTY;
        if (!(value >= -max && value <= max)) {
            throw bad(name, "must be in [" + fmt(-max) + ", " + fmt(max) + "], got " + value);
        }
    }

    private void checkStop() {
        if (stop.size() > MAX_STOP_STRINGS) {
            throw bad("stop", "must have at most " + MAX_STOP_STRINGS + " strings, got " + stop.size());
        }
        for (int i = 0; i < stop.size(); i++) {
            String s = stop.get(i);
            if (s == null || s.isEmpty()) {
                throw bad("stop", "strings must not be null or empty (index " + i + ")");
            }
            if (s.length() > MAX_STOP_STRING_LENGTH) {
                throw bad("stop", "strings must be at most " + MAX_STOP_STRING_LENGTH
                        + " characters long, got " + s.length() + " at index " + i);
            }
        }
    }

    private void checkStopTokenIds() {
        if (stopTokenIds.size() > MAX_STOP_TOKEN_IDS) {
            throw bad("stop_token_ids", "must have at most " + MAX_STOP_TOKEN_IDS + " ids, got "
                    + stopTokenIds.size());
        }
        for (int i = 0; i < stopTokenIds.size(); i++) {
            Integer id = stopTokenIds.get(i);
            if (id == null || id < 0) {
                throw bad("stop_token_ids", "must be token ids >= 0, got " + id + " at index " + i);
            }
        }
    }

    private void checkLogitBias() {
        if (logitBias.size() > MAX_LOGIT_BIAS_ENTRIES) {
            throw bad("logit_bias", "must have at most " + MAX_LOGIT_BIAS_ENTRIES + " entries, got "
                    + logitBias.size());
        }
        for (Map.Entry<Integer, Float> e : logitBias.entrySet()) {
            if (e.getKey() == null || e.getKey() < 0) {
                throw bad("logit_bias", "keys must be token ids >= 0, got " + e.getKey());
            }
            Float v = e.getValue();
            if (v == null || !(v >= -MAX_ABS_LOGIT_BIAS && v <= MAX_ABS_LOGIT_BIAS)) {
                throw bad("logit_bias", "values must be in [-100, 100], got " + v + " for token " + e.getKey());
            }
        }
    }

    private static InvalidSamplingParamsException bad(String param, String what) {
        return new InvalidSamplingParamsException(param, param + " " + what);
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    // Copies with one field changed; none validates (see validate()), so that a request can be
    // built up field by field and judged once.

    public SamplingParams withTemperature(double v) {
        return new SamplingParams(v, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withTopP(double v) {
        return new SamplingParams(temperature, v, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withTopK(int v) {
        return new SamplingParams(temperature, topP, v, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withMinP(double v) {
        return new SamplingParams(temperature, topP, topK, v, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withRepetitionPenalty(double v) {
        return new SamplingParams(temperature, topP, topK, minP, v, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withPresencePenalty(double v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, v, frequencyPenalty,
                seed, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withFrequencyPenalty(double v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, v,
                seed, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    /** null = a fresh random seed per sequence. */
    public SamplingParams withSeed(Long v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                v, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withSeed(long v) {
        return withSeed(Long.valueOf(v));
    }

    /** null = up to the context length. */
    public SamplingParams withMaxTokens(Integer v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, v, minTokens, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withMinTokens(int v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, v, stop, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withStop(List<String> v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, v, stopTokenIds, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withStop(String... v) {
        return withStop(List.of(v));
    }

    public SamplingParams withStopTokenIds(List<Integer> v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, stop, v, ignoreEos, logitBias, skipSpecialTokens);
    }

    public SamplingParams withIgnoreEos(boolean v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, stop, stopTokenIds, v, logitBias, skipSpecialTokens);
    }

    public SamplingParams withSkipSpecialTokens(boolean v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logitBias, v);
    }

    public SamplingParams withLogitBias(Map<Integer, Float> v) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, v, skipSpecialTokens);
    }
}
