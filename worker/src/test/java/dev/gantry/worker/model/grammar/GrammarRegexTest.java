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
            "[-a]b[a-]", "a+?b*?", "\\S\\D\\W", "[ab\\s]*z", "(|a)b", "é+[à-è]", "\\x41\\u0042C");
    private static final String ALPHABET = "abcdxz0129.-*\\ \t\nAB_éàè";

    @Test
    void agreesWithJavaRegexOnRandomStrings() {
        Random random = new Random(42);
        for (String pattern : PATTERNS) {
            Pattern java = Pattern.compile(pattern);
            StackStore ours = new StackStore(GrammarCompiler.grammar(new GrammarSpec.Regex(pattern)));
            int matched = 0;
            for (int i = 0; i < 3000; i++) {
                String s = randomString(random, pattern);
                boolean expected = java.matcher(s).matches();
                matched += expected ? 1 : 0;
                assertThat(ours.matches(s)).as("pattern %s on \"%s\"", pattern, s).isEqualTo(expected);
            }
            assertThat(matched).as("pattern %s got no random match", pattern).isPositive();
        }
    }

    /** Random text, half of the time built from the pattern's own characters so that matches occur. */
    private static String randomString(Random random, String pattern) {
        String letters = random.nextBoolean() ? ALPHABET : pattern.replaceAll("[\\\\()\\[\\]{}|*+?^$:<>]", "") + "a";
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
