package dev.gantry.worker.model.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns generated tokens into text one token at a time, giving back only complete characters: a
 * character whose UTF-8 bytes are spread over several tokens (byte-fallback tokens, or byte-level
 * BPE tokens that cut a character) is held until its last byte arrives. Call {@link #flush()} at
 * the end of the sequence for whatever is still held (an incomplete character becomes U+FFFD).
 *
 * <p>Every token renders as llama.cpp renders generated tokens: whole, with no leading space
 * removed, so a first SentencePiece token {@code ▁Once} after BOS gives {@code " Once"}. Control
 * tokens (EOS, {@code <|im_end|>}) render as nothing unless specials are asked for.
 *
 * <p>One instance follows one sequence; it is not thread-safe.
 */
public final class StreamingDetokenizer {
    private final Tokenizer tokenizer;
    private final boolean renderSpecial;
    private byte[] pending = new byte[8];
    private int pendingLength;

    public StreamingDetokenizer(Tokenizer tokenizer) {
        this(tokenizer, false);
    }

    /** @param renderSpecial write control tokens out as their text */
    public StreamingDetokenizer(Tokenizer tokenizer, boolean renderSpecial) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
    }

    /**
     * Adds a token and returns the text it completes (possibly empty).
     *
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String append(int tokenId) {
        byte[] bytes = tokenizer.pieceBytes(tokenId, renderSpecial);
        if (bytes.length == 0) {
            return "";
        }
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;
        int complete = completeLength(pending, pendingLength);
        if (complete == 0) {
            return "";
        }
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        pendingLength -= complete;
        System.arraycopy(pending, complete, pending, 0, pendingLength);
        return text;
    }

    /** Returns the bytes still held (as U+FFFD when they never formed a character) and resets. */
    public String flush() {
        String text = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
        pendingLength = 0;
        return text;
    }

    /** Whether bytes of an unfinished character are being held. */
    public boolean hasPending() {
        return pendingLength > 0;
    }

    /**
     * How many leading bytes can be decoded now: all of them, unless they end with the valid start
     * of a multi-byte character that is still missing bytes. Bytes that can never become a valid
     * character are not held (they decode to U+FFFD at once).
     */
    static int completeLength(byte[] b, int length) {
        // the last character starts at most 3 bytes from the end
        for (int back = 1; back <= Math.min(4, length); back++) {
            int lead = b[length - back] & 0xff;
            if ((lead & 0xC0) == 0x80) {
                continue; // a continuation byte: look further back for the lead
            }
            int need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 1;
            if (lead >= 0xF5) {
                need = 1;
            }
            if (need > back && validPrefix(b, length - back, back)) {
                return length - back;
            }
            return length;
        }
        return length;
    }

    /** Whether {@code count} bytes from {@code start} can still begin a valid UTF-8 character. */
    private static boolean validPrefix(byte[] b, int start, int count) {
        if (count < 2) {
            return true;
        }
        int lead = b[start] & 0xff;
        int second = b[start + 1] & 0xff;
        // the second byte's range excludes overlong forms and surrogates, as UTF-8 requires
        return switch (lead) {
            case 0xE0 -> second >= 0xA0 && second <= 0xBF;
            case 0xED -> second >= 0x80 && second <= 0x9F;
            case 0xF0 -> second >= 0x90 && second <= 0xBF;
            case 0xF4 -> second >= 0x80 && second <= 0x8F;
            default -> true;
        };
    }
}
