package dev.gantry.worker.model.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The regex front end agrees with java.util.regex on full matches of random strings. */
class GrammarRegexTest {
    private static final List<String> PATTERNS = List.of(
            "abc", "a|b|cd", "a*b+c?", "(ab)*c", "(?:a|bc){2,3}d?", "[a-c]{1,4}", "[^abc]x", "\\d{3}-\\d{2}",
            "\\w+\\s\\w*", "a.c", "^(a|b)+$", "x{2,}", "(a(b(c)?)?)+", "[\\d.]+", "\\.\\*\\\\", "(?<g>ab|ba)c",
            "[-a]b[a-]", "a+?b*?", "\\S\\D\\W", "[ab\\s]*z", "(|a)b", "é+[à-è]", "\\x41\\u0042C", "(a*)*b", "(|a)+c?", "(?:a?b?)*");
    private static final String ALPHABET = "abcdxz0129.-*\\ \t\nAB_éàè";

    @Test
    void agreesWithJavaRegexOnRandomStrings() {
        Random random = new Random(42);
        for (String pattern : PATTERNS) {
            Pattern java = Pattern.compile(pattern);
            StackStore ours = new StackStore(GrammarCompiler.grammar(new GrammarSpec.Regex(pattern)));
            for (int i = 0; i < 3000; i++) {
                String s = randomString(random, pattern);
                boolean expected = java.matcher(s).matches();
                assertThat(ours.matches(s)).as("pattern %s on \"%s\"", pattern, s).isEqualTo(expected);
            }
            for (int i = 0; i < 300; i++) {
                String s = sample(ours, random);
                assertThat(java.matcher(s).matches()).as("pattern %s on generated \"%s\"", pattern, s).isTrue();
            }
        }
    }

    /** A random text the grammar accepts, walked character by character through the recognizer. */
    static String sample(StackStore store, Random random) {
        StringBuilder sb = new StringBuilder();
        int state = store.initialState();
        while (true) {
            int[] next = store.nextChars(state);
            if (next.length == 0 || store.accepting(state) && (random.nextInt(4) == 0 || sb.length() > 40)) {
                return sb.toString();
            }
            int r = random.nextInt(next.length / 2);
            int cp = next[2 * r] + random.nextInt(Math.min(next[2 * r + 1] - next[2 * r] + 1, 300));
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                continue;
            }
            state = store.advance(state, cp);
            sb.appendCodePoint(cp);
        }
    }

    /** Random text, half of the time built from the pattern's own characters so that matches occur. */
    private static String randomString(Random random, String pattern) {
        String letters = random.nextBoolean() ? ALPHABET : pattern.replaceAll("[()\\[\\]{}|+?^$:<>]", "") + "a";
        StringBuilder sb = new StringBuilder();
        int n = random.nextInt(8);
        for (int i = 0; i < n; i++) {
            sb.append(letters.charAt(random.nextInt(letters.length())));
        }
        return sb.toString();
    }

    @Test
    void refusesWhatItCannotDo() {
        for (String p : List.of("a\\b", "(?=a)", "(?i)a", "a++", "\\1", "a^b", "\\p{L}", "[[a]]", "*a", "(a")) {
            assertThatThrownBy(() -> GrammarCompiler.grammar(new GrammarSpec.Regex(p))).as(p)
                    .isInstanceOf(GrammarException.class);
        }
    }
}
