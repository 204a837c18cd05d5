package dev.gantry.bench;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads and writes the short durations the command line uses: {@code 500ms}, {@code 60s}, {@code 2m}, {@code 1h}. */
public final class Durations {

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?");

    private Durations() {
    }

    /** Parses {@code 60s}, {@code 1.5m}, {@code 250ms}; a bare number is seconds. */
    public static Duration parse(String text) {
        Matcher m = DURATION.matcher(text.strip().toLowerCase());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (examples: 500ms, 60s, 2m, 1h)");
        }
        double amount = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        double millis = switch (unit) {
            case "ms" -> amount;
            case "s" -> amount * 1_000;
            case "m" -> amount * 60_000;
            case "h" -> amount * 3_600_000;
            default -> throw new AssertionError(unit);
        };
        if (millis < 1) {
            throw new IllegalArgumentException("duration must be at least 1ms, got '" + text + "'");
        }
        return Duration.ofMillis(Math.round(millis));
    }

    /** The shortest of the forms {@link #parse} reads that states the duration exactly. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1_000 == 0) {
            return ms / 1_000 + "s";
        }
        return ms + "ms";
    }
}
