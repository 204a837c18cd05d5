package dev.gantry.worker.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.testing.TestModels;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** SentencePiece on the TinyStories (512 tokens, byte fallback) and Llama 2 vocabularies. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerSpmTest {
    private GgufFile storiesFile;
    private GgufFile llamaFile;
    private Tokenizer stories;
    private Tokenizer llama;

    @BeforeAll
    void load() {
        storiesFile = GgufFile.open(TestModels.stories260K());
        llamaFile = GgufFile.open(TestModels.llamaSpmVocab());
        stories = Tokenizer.fromGguf(storiesFile);
        llama = Tokenizer.fromGguf(llamaFile);
    }

    @AfterAll
    void close() {
        storiesFile.close();
        llamaFile.close();
    }

    @Test
    void describesTheVocabulary() {
        assertThat(stories.model()).isEqualTo("llama");
        assertThat(stories.vocabSize()).isEqualTo(512);
        assertThat(stories.bosId()).isEqualTo(1);
        assertThat(stories.eosId()).isEqualTo(2);
        assertThat(stories.unknownId()).isZero();
        assertThat(stories.addBosByDefault()).isTrue();
        assertThat(stories.addsSpacePrefix()).isTrue();
        assertThat(llama.addEosByDefault()).isFalse();
        assertThat(stories.tokenType(0)).isEqualTo(TokenType.UNKNOWN);
        assertThat(stories.tokenType(1)).isEqualTo(TokenType.CONTROL);
        assertThat(stories.tokenType(13)).isEqualTo(TokenType.BYTE);
        assertThat(stories.tokenText(403)).isEqualTo("\u2581Once");
        assertThat(stories.tokenId("\u2581Once")).isEqualTo(403);
        assertThat(stories.tokenId("no such token")).isEqualTo(-1);
    }

    @Test
    void encodesWithBosAsLlamaCppDoes() {
        assertThat(stories.encode("Once upon a time", true, false)).containsExactly(1, 403, 407, 261, 378);
        assertThat(stories.encode("Once upon a time", false, false)).containsExactly(403, 407, 261, 378);
        assertThat(llama.encode("Hello world", true, false)).containsExactly(1, 15043, 3186);
    }

    @Test
    void emptyTextIsJustBos() {
        assertThat(stories.encode("", true, false)).containsExactly(1);
        assertThat(stories.encode("", false, false)).isEmpty();
    }

    @Test
    void specialTokensParseOnlyWhenAsked() {
        assertThat(stories.encode("<s>hello", false, true)).containsExactly(1, 281, 306, 414);
        assertThat(stories.encode("<s>hello", false, false)).containsExactly(410, 504, 419, 505, 260, 306, 414);
        assertThat(stories.encode("</s>", false, true)).containsExactly(2);
    }

    @Test
    void charactersOutsideTheVocabularyFallBackToBytes() {
        int[] ids = stories.encode("\u4e2d", false, false); // 中 = E4 B8 AD
        assertThat(ids).hasSize(4);
        assertThat(stories.tokenText(ids[0])).isEqualTo("\u2581");
        assertThat(ids).endsWith(stories.tokenId("<0xE4>"), stories.tokenId("<0xB8>"), stories.tokenId("<0xAD>"));
        assertThat(stories.tokenBytes(ids[1])).containsExactly((byte) 0xE4);
        assertThat(stories.decode(ids)).isEqualTo("\u4e2d");
    }

    @Test
    void decodeRoundTrips() {
        for (String text : new String[] {"Once upon a time", " leading space", "two  spaces\nand a newline",
                "caf\u00e9 \u4e2d\u6587 \uD83E\uDD99 emoji", "Lily's 3 cats.", "\t"}) {
            assertThat(stories.decode(stories.encode(text, true, false))).as(text).isEqualTo(text);
            assertThat(stories.decode(stories.encode(text, false, false))).as(text).isEqualTo(text);
            assertThat(llama.decode(llama.encode(text, true, false))).as(text).isEqualTo(text);
        }
    }

    @Test
    void decodesGeneratedText() {
        // the first greedy tokens of stories260K after BOS (shared/models/README.md)
        int[] generated = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396,
                267, 337, 410, 408, 419, 292, 411};
        String text = "Once upon a time, there was a little girl named Lily. She loved to play outside";
        assertThat(stories.decode(generated)).isEqualTo(text);
        int[] withBos = new int[generated.length + 1];
        withBos[0] = 1;
        System.arraycopy(generated, 0, withBos, 1, generated.length);
        assertThat(stories.decode(withBos)).isEqualTo(text);
        assertThat(stories.decode(withBos, true)).isEqualTo("<s> " + text);
    }

    @Test
    void tokenBytesAndPieces() {
        assertThat(stories.tokenBytes(403)).isEqualTo(" Once".getBytes(StandardCharsets.UTF_8));
        assertThat(stories.tokenBytes(13)).containsExactly((byte) '\n');
        assertThat(stories.tokenBytes(1)).isEmpty();
        assertThat(stories.tokenBytes(0)).isEmpty();
        assertThat(stories.tokenBytes(1, true)).isEqualTo("<s>".getBytes(StandardCharsets.UTF_8));
        assertThat(stories.piece(1)).isEqualTo("<s>");
        assertThat(stories.piece(403)).isEqualTo(" Once");
        assertThat(stories.isControl(1)).isTrue();
        assertThat(stories.isControl(0)).isFalse();
        assertThat(stories.isControl(403)).isFalse();
    }

    @Test
    void endOfGeneration() {
        assertThat(stories.endOfGenerationIds()).containsExactly(2);
        assertThat(stories.isEndOfGeneration(2)).isTrue();
        assertThat(stories.isEndOfGeneration(1)).isFalse();
        assertThat(stories.isEndOfGeneration(-1)).isFalse();
        assertThat(stories.isEndOfGeneration(100_000)).isFalse();
        assertThat(stories.eotId()).isEqualTo(-1);
    }

    @Test
    void idsOutsideTheVocabularyAreRejected() {
        assertThatThrownBy(() -> stories.decode(new int[] {403, 512})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id 512 is outside the vocabulary (0..511)");
        assertThatThrownBy(() -> stories.tokenBytes(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
        assertThatThrownBy(() -> stories.isControl(512)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> stories.piece(9999)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> stories.tokenText(512)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void spacePrefixCanBeTurnedOff() {
        Map<String, Object> meta = new HashMap<>(storiesFile.metadata());
        meta.put("tokenizer.ggml.add_space_prefix", false);
        Tokenizer noPrefix = Tokenizer.fromMetadata(meta, "stories260K without space prefix");
        int[] ids = noPrefix.encode("Once upon a time", false, false);
        assertThat(noPrefix.tokenText(ids[0])).doesNotStartWith("\u2581");
        assertThat(noPrefix.decode(ids)).isEqualTo("Once upon a time");
    }

    @Test
    void longTextWithoutSpacesEncodesQuickly() {
        String text = "a".repeat(20_000) + "\u4e2d".repeat(2_000);
        stories.encode(text, true, false); // warm up
        long t0 = System.nanoTime();
        int[] ids = stories.encode(text, true, false);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(stories.decode(ids)).isEqualTo(text);
        // the merge queue makes this linearithmic; rescanning all pairs per merge would take minutes
        assertThat(millis).as("encode time in ms").isLessThan(5_000);
    }
}
