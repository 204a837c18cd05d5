package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The workloads' requests: their lengths, what they share, and that they are a pure function of seed and number. */
class WorkloadTest {

    @Test
    void randomLengthsAreUniformWithinTheRange() {
        Workload w = new Workload(Workload.Kind.RANDOM, 5, 100, 40, 0.5, 1, 1);
        int minIn = Integer.MAX_VALUE;
        int maxIn = 0;
        long sumIn = 0;
        long sumOut = 0;
        int n = 4000;
        for (int i = 0; i < n; i++) {
            RequestSpec r = w.request(i);
            int words = r.asPrompt().split(" ").length;
            assertThat(words).isEqualTo(r.promptWords()).isBetween(50, 150);
            assertThat(r.maxTokens()).isBetween(20, 60);
            minIn = Math.min(minIn, words);
            maxIn = Math.max(maxIn, words);
            sumIn += words;
            sumOut += r.maxTokens();
        }
        assertThat(minIn).as("the range's ends are reached").isEqualTo(50);
        assertThat(maxIn).isEqualTo(150);
        assertThat((double) sumIn / n).isCloseTo(100, within(2.0));
        assertThat((double) sumOut / n).isCloseTo(40, within(1.0));
    }

    @Test
    void requestsDependOnlyOnSeedAndNumber() {
        for (Workload.Kind kind : Workload.Kind.values()) {
            Workload a = new Workload(kind, 11, 30, 8, 0.3, 2, 20);
            Workload b = new Workload(kind, 11, 30, 8, 0.3, 2, 20);
            Workload other = new Workload(kind, 12, 30, 8, 0.3, 2, 20);
            assertThat(a.request(17)).as(kind.optionName()).isEqualTo(b.request(17));
            assertThat(a.request(17)).isNotEqualTo(other.request(17)).isNotEqualTo(a.request(18));
        }
    }

    @Test
    void sharedPrefixGroupsShareExactlyTheirSystemPrompt() {
        Workload w = new Workload(Workload.Kind.SHARED_PREFIX, 3, 12, 8, 0, 4, 200);
        Set<String> prefixes = new HashSet<>();
        for (int i = 0; i < 40; i++) {
            RequestSpec r = w.request(i);
            assertThat(r.messages()).hasSize(2);
            assertThat(r.messages().get(0).content()).isEqualTo(w.request(i + 4).messages().get(0).content());
            assertThat(r.asPrompt()).startsWith(r.messages().get(0).content() + "\n\n" + i + ":");
            assertThat(r.promptWords()).isEqualTo(212);
            prefixes.add(r.messages().get(0).content());
        }
        assertThat(prefixes).hasSize(4);
        // Different groups part at the first word, so one group's cache never serves another.
        assertThat(prefixes.stream().map(p -> p.split(" ")[0]).distinct()).hasSize(4);
    }

    @Test
    void chatConversationsAlternateAndEndWithTheUser() {
        Workload w = new Workload(Workload.Kind.CHAT, 9, 90, 16, 0.2, 1, 1);
        Set<Integer> sizes = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            RequestSpec r = w.request(i);
            sizes.add(r.messages().size());
            for (int m = 0; m < r.messages().size(); m++) {
                assertThat(r.messages().get(m).role()).isEqualTo(m % 2 == 0 ? "user" : "assistant");
            }
            int words = r.messages().stream().mapToInt(m -> m.content().split(" ").length).sum();
            assertThat(words).isEqualTo(r.promptWords()).isBetween(72, 108);
            assertThat(r.messages().getFirst().content()).startsWith(i + ":");
        }
        assertThat(sizes).containsExactlyInAnyOrder(1, 3, 5);
    }
}
