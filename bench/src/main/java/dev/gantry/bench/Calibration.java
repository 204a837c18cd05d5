package dev.gantry.bench;

import java.util.Locale;

/**
 * How many of the server's prompt tokens one prompt word makes, learned from the server itself,
 * so {@code --input-len} can be given in the server's tokens without the load generator knowing
 * its tokenizer. Two probe prompts of {@link #SHORT_PROBE} and {@link #LONG_PROBE} words are sent
 * (one output token each, not counted anywhere) and their {@code usage.prompt_tokens} read: the
 * slope is tokens per word, the intercept the fixed tokens every request carries (BOS, the chat
 * template's markup). A server that reports no usage leaves prompts counted in words.
 *
 * @param tokensPerWord the slope; 1 when not measured
 * @param fixedTokens   tokens a prompt has besides its words; 0 when not measured
 * @param fromServer    whether the two figures were measured
 * @param note          why they were not, when they were not
 */
public record Calibration(double tokensPerWord, double fixedTokens, boolean fromServer, String note) {

    static final int SHORT_PROBE = 16;
    static final int LONG_PROBE = 256;

    /** Sends one probe request; the result's prompt tokens are what is read. */
    @FunctionalInterface
    public interface Probe {
        RequestResult send(RequestSpec request) throws InterruptedException;
    }

    /** Words are tokens: for servers without usage, and for {@code --no-calibrate}. */
    public static Calibration words() {
        return words("lengths in words");
    }

    static Calibration words(String note) {
        return new Calibration(1, 0, false, note);
    }

    /**
     * Sends the two probes (request numbers {@code firstNumber} and the next, so they share no
     * prefix with any measured request) and fits the line through their counts.
     */
    public static Calibration measure(Probe probe, PromptFactory prompts, long firstNumber) throws InterruptedException {
        RequestResult shortOne = probe.send(RequestSpec.of(prompts.prompt(firstNumber, SHORT_PROBE), 1, SHORT_PROBE));
        if (!shortOne.ok()) {
            // The warm-up will meet the same failure and report it; no second probe into it.
            return words("the probe request failed (" + shortOne.error().key() + "): lengths in words");
        }
        RequestResult longOne = probe.send(RequestSpec.of(prompts.prompt(firstNumber + 1, LONG_PROBE), 1, LONG_PROBE));
        return fit(shortOne.promptTokens(), longOne.promptTokens());
    }

    /** The line through (SHORT_PROBE, shortTokens) and (LONG_PROBE, longTokens); words when either is unknown. */
    static Calibration fit(int shortTokens, int longTokens) {
        if (shortTokens <= 0 || longTokens <= shortTokens) {
            return words("the server reported no prompt tokens: lengths in words");
        }
        double slope = (double) (longTokens - shortTokens) / (LONG_PROBE - SHORT_PROBE);
        return new Calibration(slope, Math.max(0, shortTokens - slope * SHORT_PROBE), true, null);
    }

    /** Words for a whole prompt of {@code tokens} tokens, its fixed tokens included; at least 1. */
    public int promptWords(int tokens) {
        return Math.max(1, (int) Math.round((tokens - fixedTokens) / tokensPerWord));
    }

    /** Words for {@code tokens} tokens inside a prompt (a shared prefix): no fixed part; at least 1. */
    public int partWords(int tokens) {
        return Math.max(1, (int) Math.round(tokens / tokensPerWord));
    }

    /** One line for the run's header. */
    public String describe() {
        return fromServer
                ? String.format(Locale.ROOT, "%.3f tokens per word + %.1f per request (from the server's usage)",
                        tokensPerWord, fixedTokens)
                : note;
    }
}
