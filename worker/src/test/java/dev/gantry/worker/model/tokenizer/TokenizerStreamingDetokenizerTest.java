package dev.gantry.worker.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.testing.TestModels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** {@link StreamingDetokenizer}: complete characters only, llama.cpp's rendering of generated tokens. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerStreamingDetokenizerTest {
    private GgufFile storiesFile;
    private GgufFile smolFile;
    private Tokenizer stories;
    private Tokenizer smol;

    @BeforeAll
    void load() {
        storiesFile = GgufFile.open(TestModels.stories260K());
        smolFile = GgufFile.open(TestModels.smolLm2());
        stories = Tokenizer.fromGguf(storiesFile);
        smol = Tokenizer.fromGguf(smolFile);
    }

    @AfterAll
    void close() {
        storiesFile.close();
        smolFile.close();
    }

    private static List<String> stream(StreamingDetokenizer detok, int[] ids) {
        List<String> parts = new ArrayList<>();
        for (int id : ids) {
            parts.add(detok.append(id));
        }
        parts.add(detok.flush());
        return parts;
    }

    @Test
    void firstTokenAfterBosKeepsItsSpace() {
        StreamingDetokenizer detok = new StreamingDetokenizer(stories);
        assertThat(detok.append(1)).isEmpty(); // BOS renders as nothing
        assertThat(detok.append(403)).isEqualTo(" Once");
        assertThat(detok.append(407)).isEqualTo(" upon");
        assertThat(detok.append(2)).isEmpty();
        assertThat(detok.flush()).isEmpty();
    }

    @Test
    void byteFallbackCharacterIsHeldUntilComplete() {
        int[] ids = stories.encode("\u4e2d!", false, false); // ▁ <0xE4> <0xB8> <0xAD> !
        StreamingDetokenizer detok = new StreamingDetokenizer(stories);
        assertThat(detok.append(ids[0])).isEqualTo(" ");
        assertThat(detok.append(ids[1])).isEmpty();
        assertThat(detok.hasPending()).isTrue();
        assertThat(detok.append(ids[2])).isEmpty();
        assertThat(detok.append(ids[3])).isEqualTo("\u4e2d");
        assertThat(detok.hasPending()).isFalse();
        assertThat(String.join("", stream(detok, new int[] {ids[4]}))).isEqualTo("!");
    }

    @Test
    void byteLevelTokensSplittingAnEmojiNeverEmitHalfACharacter() {
        String text = "ok \uD83E\uDD99\uD83D\uDE80 \u4e2d\u6587 caf\u00e9";
        int[] ids = smol.encode(text, false, false);
        List<String> parts = stream(new StreamingDetokenizer(smol), ids);
        assertThat(parts).noneMatch(p -> p.contains("\uFFFD"));
        assertThat(parts).contains(""); // some token ended mid-character
        assertThat(String.join("", parts)).isEqualTo(text);
    }

    @Test
    void incompleteCharacterIsFlushedAsReplacement() {
        StreamingDetokenizer detok = new StreamingDetokenizer(stories);
        assertThat(detok.append(stories.tokenId("<0xE4>"))).isEmpty();
        assertThat(detok.append(stories.tokenId("<0xB8>"))).isEmpty();
        assertThat(detok.flush()).isEqualTo("\uFFFD");
        assertThat(detok.append(403)).isEqualTo(" Once");
    }

    @Test
    void bytesThatCanNeverFormACharacterAreNotHeld() {
        StreamingDetokenizer detok = new StreamingDetokenizer(stories);
        assertThat(detok.append(stories.tokenId("<0xB8>"))).isEqualTo("\uFFFD"); // a lone continuation byte
        assertThat(detok.append(stories.tokenId("<0xE0>"))).isEmpty();
        assertThat(detok.append(stories.tokenId("<0x80>"))).isNotEmpty(); // E0 80 is an overlong form
        assertThat(detok.hasPending()).isFalse();
    }

    @Test
    void completeLengthFollowsUtf8() {
        byte[] euro = "\u20ac".getBytes(StandardCharsets.UTF_8);
        assertThat(StreamingDetokenizer.completeLength(euro, 1)).isZero();
        assertThat(StreamingDetokenizer.completeLength(euro, 2)).isZero();
        assertThat(StreamingDetokenizer.completeLength(euro, 3)).isEqualTo(3);
        byte[] mixed = "a\uD83E\uDD99".getBytes(StandardCharsets.UTF_8);
        assertThat(StreamingDetokenizer.completeLength(mixed, 4)).isEqualTo(1);
        assertThat(StreamingDetokenizer.completeLength(mixed, 5)).isEqualTo(5);
        assertThat(StreamingDetokenizer.completeLength(new byte[] {(byte) 0xC0}, 1)).isEqualTo(1);
    }

    @Test
    void specialTokensCanBeRendered() {
        StreamingDetokenizer detok = new StreamingDetokenizer(smol, true);
        assertThat(detok.append(1)).isEqualTo("<|im_start|>");
        assertThat(detok.append(2)).isEqualTo("<|im_end|>");
        assertThat(new StreamingDetokenizer(smol).append(2)).isEmpty();
    }

    @Test
    void idsOutsideTheVocabularyAreRejected() {
        assertThatThrownBy(() -> new StreamingDetokenizer(smol).append(49152))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("49152");
    }
}
