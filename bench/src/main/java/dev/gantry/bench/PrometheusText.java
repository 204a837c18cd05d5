package dev.gantry.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * A parser for the Prometheus text exposition format (version 0.0.4, which vLLM and Gantry serve
 * at {@code /metrics}): one sample per line, {@code name{label="value",...} number [timestamp]};
 * {@code #} lines are HELP/TYPE comments. Label values may hold escaped backslashes, quotes and
 * newlines ({@code \\ \" \n}) and any other character, commas and braces included; numbers may be
 * {@code +Inf}, {@code -Inf} or {@code NaN}. A line that cannot be read is skipped rather than
 * failing the whole scrape: the load generator only wants a few gauges and counters.
 */
public final class PrometheusText {

    /** One sample: a metric name, its labels (in the order given) and its value. */
    public record Sample(String name, Map<String, String> labels, double value) {
    }

    private final List<Sample> samples;

    private PrometheusText(List<Sample> samples) {
        this.samples = samples;
    }

    public List<Sample> samples() {
        return samples;
    }

    public static PrometheusText parse(String text) {
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\r?\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            Sample s = parseLine(l);
            if (s != null) {
                samples.add(s);
            }
        }
        return new PrometheusText(Collections.unmodifiableList(samples));
    }

    /**
     * The sum over all label sets of metric {@code name} (a server may label its gauges per model
     * or per engine; the load generator measures the server as a whole); empty when absent.
     */
    public OptionalDouble sum(String name) {
        boolean found = false;
        double sum = 0;
        for (Sample s : samples) {
            if (s.name().equals(name)) {
                found = true;
                sum += s.value();
            }
        }
        return found ? OptionalDouble.of(sum) : OptionalDouble.empty();
    }

    /** The largest value over the label sets of {@code name}; empty when absent. */
    public OptionalDouble max(String name) {
        return samples.stream().filter(s -> s.name().equals(name)).mapToDouble(Sample::value).max();
    }

    /** The first of {@code names} present, summed; for metrics a server version renamed. */
    public OptionalDouble sumOfFirst(String... names) {
        for (String name : names) {
            OptionalDouble v = sum(name);
            if (v.isPresent()) {
                return v;
            }
        }
        return OptionalDouble.empty();
    }

    static Sample parseLine(String line) {
        int i = 0;
        int n = line.length();
        while (i < n && line.charAt(i) != '{' && !Character.isWhitespace(line.charAt(i))) {
            i++;
        }
        String name = line.substring(0, i);
        if (name.isEmpty()) {
            return null;
        }
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < n && line.charAt(i) == '{') {
            i = parseLabels(line, i + 1, labels);
            if (i < 0) {
                return null;
            }
        }
        String rest = line.substring(i).strip();
        if (rest.isEmpty()) {
            return null;
        }
        int space = rest.indexOf(' ');
        String number = space < 0 ? rest : rest.substring(0, space); // after it, an optional timestamp
        Double value = parseValue(number);
        return value == null ? null : new Sample(name, Collections.unmodifiableMap(labels), value);
    }

    /** Reads {@code a="x",b="y"}} from {@code i}; returns the index after the brace, or -1. */
    private static int parseLabels(String line, int i, Map<String, String> labels) {
        int n = line.length();
        while (true) {
            while (i < n && (line.charAt(i) == ' ' || line.charAt(i) == ',')) {
                i++;
            }
            if (i >= n) {
                return -1;
            }
            if (line.charAt(i) == '}') {
                return i + 1;
            }
            int eq = line.indexOf('=', i);
            if (eq < 0 || eq + 1 >= n || line.charAt(eq + 1) != '"') {
                return -1;
            }
            String key = line.substring(i, eq).strip();
            StringBuilder value = new StringBuilder();
            int j = eq + 2;
            for (; j < n && line.charAt(j) != '"'; j++) {
                char c = line.charAt(j);
                if (c == '\\' && j + 1 < n) {
                    char e = line.charAt(++j);
                    value.append(e == 'n' ? '\n' : e); // \\ and \" stand for themselves
                } else {
                    value.append(c);
                }
            }
            if (j >= n) {
                return -1; // an unterminated value
            }
            labels.put(key, value.toString());
            i = j + 1;
        }
    }

    private static Double parseValue(String text) {
        return switch (text) {
            case "+Inf", "Inf", "+inf", "inf" -> Double.POSITIVE_INFINITY;
            case "-Inf", "-inf" -> Double.NEGATIVE_INFINITY;
            case "NaN", "nan" -> Double.NaN;
            default -> {
                try {
                    yield Double.parseDouble(text);
                } catch (NumberFormatException e) {
                    yield null;
                }
            }
        };
    }
}
