package dev.gantry.worker.config;

import java.util.Locale;
import java.util.Set;

/** A setting is missing or out of range; the message names the key, its option and its environment variable. */
public final class InvalidConfigException extends IllegalArgumentException {

    /** Keys that {@code ./gantry serve} also takes as {@code --key}. */
    private static final Set<String> CLI_OPTIONS = Set.of("model", "served-model-name", "backend", "threads",
            "max-model-len", "max-num-seqs", "max-num-batched-tokens", "block-size", "kv-cache-memory",
            "kv-cache-dtype", "kv-cache-memory-fraction", "enable-prefix-caching", "max-waiting-requests", "request-timeout",
            "api-key", "api-key-file", "drain-timeout", "max-request-body", "response-cache.redis-url");

    public InvalidConfigException(String message) {
        super(message);
    }

    /** An exception whose message starts with {@link #describeKey} of {@code key}. */
    public static InvalidConfigException of(String key, String problem) {
        return new InvalidConfigException(describeKey(key) + " " + problem);
    }

    /**
     * How a user sets {@code key} (without the {@code gantry.} prefix), e.g.
     * {@code gantry.max-num-seqs (--max-num-seqs, GANTRY_MAX_NUM_SEQS)}.
     */
    public static String describeKey(String key) {
        String env = "GANTRY_" + key.toUpperCase(Locale.ROOT).replace('-', '_').replace('.', '_');
        String option = CLI_OPTIONS.contains(key) ? "--" + key.replace('.', '-') + ", " : "";
        return "gantry." + key + " (" + option + env + ")";
    }
}
