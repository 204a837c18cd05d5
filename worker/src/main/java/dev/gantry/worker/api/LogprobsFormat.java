package dev.gantry.worker.api;

import dev.gantry.worker.api.OpenAiDtos.ChatLogprob;
import dev.gantry.worker.api.OpenAiDtos.ChatLogprobs;
import dev.gantry.worker.api.OpenAiDtos.CompletionLogprobs;
import dev.gantry.worker.api.OpenAiDtos.TopLogprob;
import dev.gantry.worker.model.sample.TokenLogprobs;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes log-probabilities the way OpenAI's two APIs (and vLLM) show them: tokens as their text
 * with special tokens written out (a byte of a split character as U+FFFD, its bytes exact in
 * chat's {@code bytes}), and {@code -Infinity} (a token masked out) as -9999, since JSON has no
 * infinity.
 */
final class LogprobsFormat {
    private static final float FLOOR = -9999f;

    private final Tokenizer tokenizer;

    LogprobsFormat(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Chat's {@code logprobs.content} entries for these tokens, with {@code top} alternatives each. */
    ChatLogprobs chat(List<TokenLogprobs> tokens, int top) {
        List<ChatLogprob> content = new ArrayList<>(tokens.size());
        for (TokenLogprobs t : tokens) {
            List<TopLogprob> alternatives = new ArrayList<>(top);
            for (int j = 0; j < Math.min(top, t.topCount()); j++) {
                int id = t.topIds()[j];
                alternatives.add(new TopLogprob(text(id), clamp(t.topLogprobs()[j]), bytes(id)));
            }
            content.add(new ChatLogprob(text(t.token()), clamp(t.logprob()), bytes(t.token()), alternatives));
        }
        return new ChatLogprobs(content, null);
    }

    /**
     * Completions' {@code logprobs} for these tokens: each one's text, log-probability, the
     * {@code top} most likely with the token itself added (so up to top + 1, as OpenAI documents),
     * and its character offset counted from {@code offset}.
     *
     * @param firstPromptToken when the list starts with a prompt (echo), the prompt's first token,
     *     which has no log-probability (null entries); otherwise -1
     */
    CompletionLogprobs completion(int firstPromptToken, List<TokenLogprobs> tokens, int top, int offset) {
        int size = tokens.size() + (firstPromptToken >= 0 ? 1 : 0);
        List<String> texts = new ArrayList<>(size);
        List<Float> logprobs = new ArrayList<>(size);
        List<Map<String, Float>> tops = new ArrayList<>(size);
        List<Integer> offsets = new ArrayList<>(size);
        if (firstPromptToken >= 0) {
            String text = text(firstPromptToken);
            texts.add(text);
            logprobs.add(null);
            tops.add(null);
            offsets.add(offset);
            offset += text.length();
        }
        for (TokenLogprobs t : tokens) {
            String text = text(t.token());
            texts.add(text);
            logprobs.add(clamp(t.logprob()));
            Map<String, Float> alternatives = new LinkedHashMap<>();
            for (int j = 0; j < Math.min(top, t.topCount()); j++) {
                alternatives.putIfAbsent(text(t.topIds()[j]), clamp(t.topLogprobs()[j]));
            }
            alternatives.putIfAbsent(text, clamp(t.logprob()));
            tops.add(alternatives);
            offsets.add(offset);
            offset += text.length();
        }
        return new CompletionLogprobs(texts, logprobs, tops, offsets);
    }

    /** Characters {@link #completion} counts for these tokens (the next offset). */
    int length(List<TokenLogprobs> tokens) {
        int n = 0;
        for (TokenLogprobs t : tokens) {
            n += text(t.token()).length();
        }
        return n;
    }

    String text(int id) {
        return tokenizer.piece(id);
    }

    private List<Integer> bytes(int id) {
        byte[] b = tokenizer.tokenBytes(id, true);
        List<Integer> out = new ArrayList<>(b.length);
        for (byte x : b) {
            out.add(x & 0xff);
        }
        return out;
    }

    private static float clamp(float logprob) {
        return Math.max(logprob, FLOOR);
    }
}
