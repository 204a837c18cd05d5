package dev.gantry.worker.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BlockHashTest {
    private final BlockHash.Hasher hasher = new BlockHash.Hasher();

    @Test
    void equalContentAndParentGiveEqualKeys() {
        int[] tokens = {1, 2, 3, 4, 1, 2, 3, 4};
        BlockHash first = hasher.hash(null, tokens, 0, 4);
        assertThat(new BlockHash.Hasher().hash(null, new int[] {1, 2, 3, 4}, 0, 4)).isEqualTo(first);
        assertThat(hasher.hash(first, tokens, 4, 8)).isEqualTo(hasher.hash(first, tokens, 0, 4));
    }

    @Test
    void theParentIsPartOfTheKey() {
        int[] tokens = {1, 2, 3, 4};
        BlockHash root = hasher.hash(null, tokens, 0, 4);
        BlockHash child = hasher.hash(root, tokens, 0, 4);
        BlockHash otherChild = hasher.hash(hasher.hash(null, new int[] {9, 9, 9, 9}, 0, 4), tokens, 0, 4);
        assertThat(child).isNotEqualTo(root).isNotEqualTo(otherChild);
    }

    @Test
    void tokenOrderAndTokenBoundariesMatter() {
        assertThat(hasher.hash(null, new int[] {1, 2}, 0, 2)).isNotEqualTo(hasher.hash(null, new int[] {2, 1}, 0, 2));
        // 256 as one token must differ from the bytes 0,0,1,0 read as other tokens
        assertThat(hasher.hash(null, new int[] {256}, 0, 1)).isNotEqualTo(hasher.hash(null, new int[] {1}, 0, 1));
    }

    @Test
    void longBlocksGrowTheBuffer() {
        int[] tokens = new int[1000];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = i;
        }
        assertThat(hasher.hash(null, tokens, 0, 1000)).isEqualTo(new BlockHash.Hasher().hash(null, tokens.clone(), 0, 1000));
    }

    @Test
    void emptyOrOutOfRangeBlocksAreRejected() {
        assertThatThrownBy(() -> hasher.hash(null, new int[4], 2, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> hasher.hash(null, new int[4], 0, 5)).isInstanceOf(IllegalArgumentException.class);
    }
}
