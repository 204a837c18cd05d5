package dev.gantry.worker.engine;

/**
 * How a request ended.
 *
 * @param finishReason       why it ended
 * @param stopString         the stop string that ended it, or null
 * @param promptTokens       tokens in the prompt
 * @param completionTokens   tokens generated (including a final EOS token)
 * @param cachedPromptTokens prompt tokens whose K/V came from the prefix cache
 * @param error              what went wrong when {@code finishReason} is {@link FinishReason#ERROR}, else null
 */
public record RequestResult(FinishReason finishReason, String stopString, int promptTokens, int completionTokens,
        int cachedPromptTokens, String error) {}
