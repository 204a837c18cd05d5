package dev.gantry.worker.model.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TokenHistoryTest {

    @Test
    void promptCountsForContainsButNotForOutputCounts() {
        TokenHistory h = new TokenHistory(new int[] {5, 5, 9});
        assertThat(h.promptLength()).isEqualTo(3);
        assertThat(h.outputLength()).isZero();
        assertThat(h.contains(5)).isTrue();
        assertThat(h.contains(9)).isTrue();
        assertThat(h.contains(7)).isFalse();
        assertThat(h.outputCount(5)).isZero();

        h.add(7);
        h.add(5);
        h.add(7);
        assertThat(h.outputLength()).isEqualTo(3);
        assertThat(h.outputCount(7)).isEqualTo(2);
        assertThat(h.outputCount(5)).isEqualTo(1);
        assertThat(h.contains(7)).isTrue();
        assertThat(h.output().size()).isEqualTo(2);
        assertThat(h.seen().size()).isEqualTo(3);
    }

    @Test
    void ofReplaysPromptAndOutput() {
        TokenHistory h = TokenHistory.of(new int[] {1, 2}, new int[] {3, 3});
        assertThat(h.promptLength()).isEqualTo(2);
        assertThat(h.outputLength()).isEqualTo(2);
        assertThat(h.outputCount(3)).isEqualTo(2);
        assertThat(h.outputCount(1)).isZero();
    }

    @Test
    void countsMatchAHashMapThroughManyRehashes() {
        SplittableRandom r = new SplittableRandom(3);
        TokenCounter c = new TokenCounter();
        Map<Integer, Integer> expected = new HashMap<>();
        for (int i = 0; i < 50_000; i++) {
            // Mix clustered small ids with large ones, as real vocabularies have both.
            int id = r.nextBoolean() ? r.nextInt(300) : r.nextInt(200_000);
            c.increment(id);
            expected.merge(id, 1, Integer::sum);
        }
        assertThat(c.size()).isEqualTo(expected.size());
        Map<Integer, Integer> seen = new HashMap<>();
        for (int i = 0; i < c.size(); i++) {
            seen.put(c.idAt(i), c.countAt(i));
        }
        assertThat(seen).isEqualTo(expected);
        for (Map.Entry<Integer, Integer> e : expected.entrySet()) {
            assertThat(c.count(e.getKey())).isEqualTo(e.getValue());
        }
        assertThat(c.count(-5)).isZero();
        assertThat(c.count(250_000)).isZero();
    }

    @Test
    void distinctIdsKeepFirstSeenOrder() {
        TokenCounter c = new TokenCounter();
        for (int id : new int[] {9, 4, 9, 1, 4}) {
            c.increment(id);
        }
        assertThat(new int[] {c.idAt(0), c.idAt(1), c.idAt(2)}).containsExactly(9, 4, 1);
        assertThat(new int[] {c.countAt(0), c.countAt(1), c.countAt(2)}).containsExactly(2, 2, 1);
    }
}
