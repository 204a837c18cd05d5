package dev.gantry.worker.model.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

    @Test
    void withoutStopStringsEverythingPassesThrough() {
        StopMatcher m = new StopMatcher(List.of());
        assertThat(m.isEmpty()).isTrue();
        assertThat(new StopMatcher(List.of("x")).isEmpty()).isFalse();
        assertThat(m.push("Hello").text()).isEqualTo("Hello");
        assertThat(m.push(", world").text()).isEqualTo(", world");
        assertThat(m.flush()).isEmpty();
        assertThat(m.stopped()).isFalse();
    }

    @Test
    void stopInsideADeltaEndsTheTextRightBeforeIt() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertThat(m.push("Hello wor")).isEqualTo(new StopMatcher.Result("Hello wor", null));
        StopMatcher.Result r = m.push("ld END more");
        assertThat(r.text()).isEqualTo("ld ");
        assertThat(r.stopped()).isTrue();
        assertThat(r.stop()).isEqualTo("END");
        assertThat(m.stopped()).isTrue();
        assertThat(m.matchedStop()).isEqualTo("END");
        // Nothing more comes out after a stop.
        assertThat(m.push("again")).isEqualTo(new StopMatcher.Result("", "END"));
        assertThat(m.flush()).isEmpty();
    }

    @Test
    void aPossibleStopPrefixIsHeldBackUntilDecided() {
        StopMatcher m = new StopMatcher(List.of("###"));
        assertThat(m.push("abc#").text()).isEqualTo("abc");
        assertThat(m.push("#").text()).isEmpty();
        assertThat(m.push("x#").text()).isEqualTo("##x");
        assertThat(m.push("").text()).isEmpty();
        assertThat(m.flush()).isEqualTo("#");
        assertThat(m.stopped()).isFalse();
    }

    @Test
    void stopSplitAcrossManyDeltas() {
        String stop = "<|im_end|>";
        StopMatcher m = new StopMatcher(List.of(stop));
        StringBuilder shown = new StringBuilder();
        StopMatcher.Result last = null;
        for (char c : ("The answer is 42." + stop + "trailing").toCharArray()) {
            last = m.push(String.valueOf(c));
            shown.append(last.text());
            if (last.stopped()) {
                break;
            }
        }
        assertThat(last.stopped()).isTrue();
        assertThat(shown.toString()).isEqualTo("The answer is 42.");
    }

    @Test
    void partialMatchesThatFailAreReleased() {
        StopMatcher m = new StopMatcher(List.of("<|im_end|>"));
        assertThat(m.push("a <|im").text()).isEqualTo("a ");
        assertThat(m.push("_start|>").text()).isEqualTo("<|im_start|>");
        assertThat(m.push(" b <").text()).isEqualTo(" b ");
        assertThat(m.flush()).isEqualTo("<");
    }

    @Test
    void overlappingCandidatesOfOneStopString() {
        StopMatcher m = new StopMatcher(List.of("aab"));
        assertThat(m.push("a").text()).isEmpty();
        assertThat(m.push("a").text()).isEmpty();
        // "aaa": only the last "aa" can still start "aab".
        assertThat(m.push("a").text()).isEqualTo("a");
        StopMatcher.Result r = m.push("b");
        assertThat(r.text()).isEmpty();
        assertThat(r.stop()).isEqualTo("aab");
    }

    @Test
    void earliestStartWinsAmongStopsInTheSameDelta() {
        StopMatcher m = new StopMatcher(List.of("world", "lo w"));
        StopMatcher.Result r = m.push("hello world");
        assertThat(r.text()).isEqualTo("hel");
        assertThat(r.stop()).isEqualTo("lo w");
        // Same start: the one listed first.
        StopMatcher tie = new StopMatcher(List.of("ab", "abc"));
        assertThat(tie.push("xabc")).isEqualTo(new StopMatcher.Result("x", "ab"));
    }

    @Test
    void aShortStopCompletingFirstWinsOverALongerOneStillForming() {
        StopMatcher m = new StopMatcher(List.of("abcd", "bc"));
        assertThat(m.push("ab").text()).isEmpty();
        StopMatcher.Result r = m.push("c");
        assertThat(r.text()).isEqualTo("a");
        assertThat(r.stop()).isEqualTo("bc");
    }

    @Test
    void heldTextCoversTheEarliestPossibleStart() {
        // "xy" could start "xyz"; "y" alone could start "yq": hold from the earlier one.
        StopMatcher m = new StopMatcher(List.of("yq", "xyz"));
        assertThat(m.push("0xy").text()).isEqualTo("0");
        assertThat(m.push("q").text()).isEqualTo("x");
        assertThat(m.stopped()).isTrue();
        assertThat(m.matchedStop()).isEqualTo("yq");
    }

    @Test
    void stopAtTheVeryBeginning() {
        StopMatcher m = new StopMatcher(List.of("\n"));
        assertThat(m.push("\nHello")).isEqualTo(new StopMatcher.Result("", "\n"));
    }

    @Test
    void unicodeStopStringsAndSurrogatePairs() {
        StopMatcher emoji = new StopMatcher(List.of("😀"));
        String grin = "😀";
        assertThat(emoji.push("hi " + grin.charAt(0)).text()).isEqualTo("hi ");
        assertThat(emoji.push(String.valueOf(grin.charAt(1)))).isEqualTo(new StopMatcher.Result("", grin));

        // A pair split by the decoder is never emitted half, even when no stop string is involved.
        StopMatcher plain = new StopMatcher(List.of("x"));
        String party = "🎉";
        assertThat(plain.push("a" + party.charAt(0)).text()).isEqualTo("a");
        assertThat(plain.push(party.charAt(1) + "b").text()).isEqualTo(party + "b");

        StopMatcher cjk = new StopMatcher(List.of("。\n"));
        assertThat(cjk.push("你好。世界").text()).isEqualTo("你好。世界");
        assertThat(cjk.push("。").text()).isEmpty();
        assertThat(cjk.push("\n再见")).isEqualTo(new StopMatcher.Result("", "。\n"));

        // Combining marks are ordinary chars: "é" as e + U+0301 is not "e".
        StopMatcher accent = new StopMatcher(List.of("e\u0301!"));
        assertThat(accent.push("cafe\u0301").text()).isEqualTo("caf");
        assertThat(accent.push("?").text()).isEqualTo("e\u0301?");
    }

    @Test
    void ofTakesTheParamsStopStrings() {
        StopMatcher m = StopMatcher.of(SamplingParams.defaults().withStop("STOP"));
        assertThat(m.push("go STOP").text()).isEqualTo("go ");
    }

    @Test
    void emptyOrNullStopStringsAreRejected() {
        assertThatThrownBy(() -> new StopMatcher(List.of(""))).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * Random texts, stop strings and splits against the definition: after each delta, if the text
     * so far contains a stop string, the output is the text before the earliest one; otherwise
     * everything shown plus what flush releases is the whole text.
     */
    @Test
    void randomSplitsAgreeWithTheDefinition() {
        SplittableRandom r = new SplittableRandom(2024);
        String[] alphabet = {"a", "b", "c", "ab", "😀", "é"};
        for (int trial = 0; trial < 3000; trial++) {
            List<String> stops = new ArrayList<>();
            for (int i = 1 + r.nextInt(3); i > 0; i--) {
                stops.add(randomText(r, alphabet, 1 + r.nextInt(4)));
            }
            String text = randomText(r, alphabet, r.nextInt(30));
            StopMatcher m = new StopMatcher(stops);
            StringBuilder shown = new StringBuilder();
            StringBuilder sofar = new StringBuilder();
            String expectedStop = null;
            String expectedText = null;
            int pos = 0;
            while (pos < text.length()) {
                // Split anywhere, even inside a surrogate pair.
                int end = Math.min(text.length(), pos + r.nextInt(6));
                String delta = text.substring(pos, end);
                pos = end;
                sofar.append(delta);
                StopMatcher.Result res = m.push(delta);
                assertThat(res.text()).doesNotEndWith("\uD83D");
                shown.append(res.text());
                int at = -1;
                for (String s : stops) {
                    int i = sofar.indexOf(s);
                    if (i >= 0 && (at < 0 || i < at)) {
                        at = i;
                        expectedStop = s;
                    }
                }
                if (at >= 0) {
                    expectedText = sofar.substring(0, at);
                    assertThat(res.stop()).as("trial %d %s %s", trial, stops, text).isEqualTo(expectedStop);
                    break;
                }
                assertThat(res.stopped()).isFalse();
                assertThat(sofar.toString()).startsWith(shown.toString());
            }
            if (expectedText != null) {
                assertThat(shown.toString()).as("trial %d %s %s", trial, stops, text).isEqualTo(expectedText);
            } else {
                shown.append(m.flush());
                assertThat(shown.toString()).as("trial %d %s %s", trial, stops, text).isEqualTo(text);
            }
        }
    }

    private static String randomText(SplittableRandom r, String[] alphabet, int pieces) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < pieces; i++) {
            sb.append(alphabet[r.nextInt(alphabet.length)]);
        }
        return sb.toString();
    }
}
