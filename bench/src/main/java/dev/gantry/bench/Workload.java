package dev.gantry.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What the requests of a run look like ({@code --workload}). Every request is a pure function of
 * the seed and its request number, so a run can be repeated exactly and threads may ask in any
 * order. Lengths are in words; {@link Calibration} turns the token lengths of the command line
 * into words for the server at hand.
 */
public final class Workload {

    /** The kinds {@code --workload} accepts. */
    public enum Kind {
        /** Every prompt and output the same length: the classic throughput test. */
        FIXED("fixed"),
        /** Prompt and output lengths uniform in {@code [L(1-r), L(1+r)]}: the mixed lengths of real traffic. */
        RANDOM("random"),
        /**
         * {@code G} system prompts of {@code P} words, each request one of them followed by its own
         * question: most of every prompt can come from a prefix cache.
         */
        SHARED_PREFIX("shared-prefix"),
        /** Multi-turn conversations (1 to 3 user turns, assistant replies between), for chat endpoints. */
        CHAT("chat");

        private final String optionName;

        Kind(String optionName) {
            this.optionName = optionName;
        }

        public String optionName() {
            return optionName;
        }

        public static Kind fromOption(String name) {
            for (Kind k : values()) {
                if (k.optionName.equalsIgnoreCase(name)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown workload '" + name + "': use fixed, random, shared-prefix or chat");
        }
    }

    private final Kind kind;
    private final PromptFactory prompts;
    private final long seed;
    private final int inputWords;
    private final int outputTokens;
    private final double rangeRatio;
    private final int prefixGroups;
    private final int prefixWords;

    /**
     * @param inputWords   prompt length (the question's, for shared-prefix) in words
     * @param rangeRatio   r of the random and chat lengths, {@code 0 <= r < 1}
     * @param prefixGroups how many distinct system prompts shared-prefix uses
     * @param prefixWords  each system prompt's length in words
     */
    public Workload(Kind kind, long seed, int inputWords, int outputTokens, double rangeRatio, int prefixGroups,
            int prefixWords) {
        if (!(rangeRatio >= 0 && rangeRatio < 1)) {
            throw new IllegalArgumentException("--range-ratio must be at least 0 and below 1, got " + rangeRatio);
        }
        if (inputWords < 1 || outputTokens < 1 || prefixGroups < 1 || prefixWords < 1) {
            throw new IllegalArgumentException("workload lengths and --prefix-groups must be 1 or more");
        }
        this.kind = kind;
        this.prompts = new PromptFactory(seed);
        this.seed = seed;
        this.inputWords = inputWords;
        this.outputTokens = outputTokens;
        this.rangeRatio = rangeRatio;
        this.prefixGroups = prefixGroups;
        this.prefixWords = prefixWords;
    }

    public Kind kind() {
        return kind;
    }

    /** The request numbered {@code number}; always the same for the same seed and number. */
    public RequestSpec request(long number) {
        // A stream of its own for the lengths, apart from the words' streams.
        SplittableRandom random = new SplittableRandom(seed * 0xBF58476D1CE4E5B9L + number);
        return switch (kind) {
            case FIXED -> RequestSpec.of(prompts.prompt(number, inputWords), outputTokens, inputWords);
            case RANDOM -> {
                int words = around(random, inputWords);
                yield RequestSpec.of(prompts.prompt(number, words), around(random, outputTokens), words);
            }
            case SHARED_PREFIX -> {
                int group = (int) Math.floorMod(number, (long) prefixGroups);
                yield new RequestSpec(List.of(
                        new RequestSpec.Message("system", prompts.prefix(group, prefixWords)),
                        new RequestSpec.Message("user", prompts.prompt(number, inputWords))),
                        outputTokens, prefixWords + inputWords);
            }
            case CHAT -> conversation(number, random);
        };
    }

    /** Uniform in {@code [L(1-r), L(1+r)]}, never below 1. */
    int around(SplittableRandom random, int length) {
        int low = Math.max(1, (int) Math.round(length * (1 - rangeRatio)));
        int high = Math.max(low, (int) Math.round(length * (1 + rangeRatio)));
        return low + random.nextInt(high - low + 1);
    }

    /**
     * A synthetic conversation: 1 to 3 user turns with assistant replies between, about the
     * workload's input length in all, split evenly; the first user message starts with the
     * request number, so conversations never share a prefix beyond the chat template's.
     */
    private RequestSpec conversation(long number, SplittableRandom random) {
        int userTurns = 1 + random.nextInt(3);
        int messageCount = 2 * userTurns - 1;
        int total = Math.max(messageCount, around(random, inputWords));
        List<RequestSpec.Message> messages = new ArrayList<>(messageCount);
        int used = 0;
        for (int m = 0; m < messageCount; m++) {
            int words = m == messageCount - 1 ? total - used : total / messageCount;
            used += words;
            boolean user = m % 2 == 0;
            StringBuilder text = new StringBuilder(words * 7);
            if (m == 0) {
                text.append(number).append(':');
            } else {
                text.append(user ? "And" : "Sure,");
            }
            PromptFactory.appendWords(text, random, words - 1);
            text.append(user ? '?' : '.');
            messages.add(new RequestSpec.Message(user ? "user" : "assistant", text.toString()));
        }
        return new RequestSpec(messages, around(random, outputTokens), total);
    }
}
