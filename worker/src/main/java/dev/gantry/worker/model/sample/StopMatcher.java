package dev.gantry.worker.model.sample;

import java.util.List;
import java.util.Objects;

/**
 * Finds stop strings in a stream of text deltas, OpenAI style: the output ends right before the
 * first stop string and does not include it.
 *
 * <p>Each {@link #push(String)} returns the text that is safe to show now. Text that might be
 * the beginning of a stop string (a suffix of what came so far that is a proper prefix of one)
 * is held back until later deltas decide it; {@link #flush()} releases it when generation ends
 * for another reason. Generation stops as soon as the text contains a stop string; if several
 * are contained by then, the one starting earliest wins (then the one listed first), so no
 * shown text ever contains a stop string. A trailing high surrogate is also held back so that
 * no emitted piece splits a UTF-16 pair.
 *
 * <p>One per sequence; not thread-safe.
 */
public final class StopMatcher {
    private final String[] stops;
    private String pending = "";
    private String matched;

    /**
     * What a delta released.
     *
     * @param text safe to show now (possibly empty)
     * @param stop the stop string that ended generation, or null while it goes on
     */
    public record Result(String text, String stop) {
        public boolean stopped() {
            return stop != null;
        }
    }

    /**
     * @param stops the stop strings, none null or empty
     * @throws IllegalArgumentException for a null or empty stop string
     */
    public StopMatcher(List<String> stops) {
        this.stops = stops.toArray(new String[0]);
        for (String s : this.stops) {
            if (s == null || s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be null or empty");
            }
        }
    }

    /** A matcher for {@code params.stop()}. */
    public static StopMatcher of(SamplingParams params) {
        return new StopMatcher(params.stop());
    }

    /**
     * Takes the next piece of generated text.
     *
     * @return the text now safe to show and, when a stop string completed, that string; after a
     *     stop every further call returns empty text and the same stop string
     */
    public Result push(String delta) {
        Objects.requireNonNull(delta, "delta");
        if (matched != null) {
            return new Result("", matched);
        }
        String buf = pending.isEmpty() ? delta : pending + delta;
        int at = -1;
        String hit = null;
        for (String s : stops) {
            // pending alone holds no complete stop string, so a match must end inside delta;
            // searching from there keeps long deltas linear.
            int from = Math.max(0, pending.length() - s.length() + 1);
            int i = buf.indexOf(s, from);
            if (i >= 0 && (at < 0 || i < at)) {
                at = i;
                hit = s;
            }
        }
        if (hit != null) {
            matched = hit;
            pending = "";
            return new Result(buf.substring(0, at), hit);
        }
        int end = holdFrom(buf);
        if (end > 0 && Character.isHighSurrogate(buf.charAt(end - 1))) {
            end--;
        }
        pending = buf.substring(end);
        return new Result(buf.substring(0, end), null);
    }

    /** Releases the held-back text at the end of generation (empty after a stop). */
    public String flush() {
        String out = pending;
        pending = "";
        return out;
    }

    /** Whether there are no stop strings at all (then every delta passes straight through). */
    public boolean isEmpty() {
        return stops.length == 0;
    }

    /** Whether a stop string was found. */
    public boolean stopped() {
        return matched != null;
    }

    /** The stop string that was found, or null. */
    public String matchedStop() {
        return matched;
    }

    /**
     * The start of the longest suffix of {@code buf} that is a proper prefix of some stop string
     * ({@code buf.length()} when none is), i.e. where the held-back text begins.
     */
    private int holdFrom(String buf) {
        int n = buf.length();
        int hold = n;
        for (String s : stops) {
            // Only suffixes shorter than s, and only starts before the best found so far, can help.
            for (int i = Math.max(0, n - s.length() + 1); i < hold; i++) {
                if (buf.regionMatches(i, s, 0, n - i)) {
                    hold = i;
                    break;
                }
            }
        }
        return hold;
    }
}
