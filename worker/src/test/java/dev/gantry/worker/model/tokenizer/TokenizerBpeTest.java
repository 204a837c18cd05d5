package dev.gantry.worker.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.testing.TestModels;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Byte-level BPE on SmolLM2-135M-Instruct's vocabulary (49152 tokens, pre-tokenizer "smollm"). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerBpeTest {
    private GgufFile file;
    private Tokenizer smol;

    @BeforeAll
    void load() {
        file = GgufFile.open(TestModels.smolLm2());
        smol = Tokenizer.fromGguf(file);
    }

    @AfterAll
    void close() {
        file.close();
    }

    private Tokenizer withPre(String pre) {
        Map<String, Object> meta = new HashMap<>(file.metadata());
        if (pre == null) {
            meta.remove("tokenizer.ggml.pre");
        } else {
            meta.put("tokenizer.ggml.pre", pre);
        }
        return Tokenizer.fromMetadata(meta, "SmolLM2 vocabulary, pre " + pre);
    }

    @Test
    void describesTheVocabulary() {
        assertThat(smol.model()).isEqualTo("gpt2");
        assertThat(smol.vocabSize()).isEqualTo(49152);
        assertThat(smol.bosId()).isEqualTo(1);
        assertThat(smol.eosId()).isEqualTo(2);
        assertThat(smol.eotId()).isEqualTo(2); // <|im_end|>: the first well-known end-of-turn text present
        assertThat(smol.addBosByDefault()).isFalse();
        assertThat(smol.addsSpacePrefix()).isFalse();
        assertThat(smol.endOfGenerationIds()).containsExactly(0, 2, 4);
        assertThat(((ByteLevelBpeTokenizer) smol).preTokenizer()).isEqualTo("smollm");
    }

    @Test
    void encodesLikeLlamaCpp() {
        assertThat(smol.encode("Hello world", false, false)).containsExactly(19556, 905);
        assertThat(smol.encode("<|im_start|>user\nhi<|im_end|>", false, true)).containsExactly(1, 4093, 198, 6004, 2);
        assertThat(smol.encode("<|im_start|>user\nhi<|im_end|>", false, false))
                .containsExactly(44, 108, 306, 79, 3738, 108, 46, 4093, 198, 6004, 44, 108, 306, 79, 486, 108, 46);
        assertThat(smol.encode("\uD83E\uDD99\uD83D\uDE80", false, false)).containsExactly(10813, 116, 243, 10813, 244, 218);
        assertThat(smol.encode("Hello", true, false)).startsWith(1);
    }

    @Test
    void decodeRoundTrips() {
        for (String text : new String[] {"Hello world", "  spaces  and\ttabs\n\nnewlines  ", "don't stop 12345",
                "caf\u00e9 na\u00efve \u4e2d\u6587 \ud55c\uad6d\uc5b4 \uD83E\uDD99\uD83D\uDE80",
                "def f(x):\n    return x ** 2\n", "<|im_start|> written as text"}) {
            assertThat(smol.decode(smol.encode(text, false, false))).as(text).isEqualTo(text);
        }
        String chat = "<|im_start|>user\nhi<|im_end|>\n";
        assertThat(smol.decode(smol.encode(chat, false, true))).isEqualTo("user\nhi\n");
        assertThat(smol.decode(smol.encode(chat, false, true), true)).isEqualTo(chat);
    }

    @Test
    void tokensCanHoldPartsOfACharacter() {
        int[] ids = smol.encode("\uD83E\uDD99", false, false);
        assertThat(ids).hasSize(3);
        byte[] joined = new byte[0];
        for (int id : ids) {
            byte[] b = smol.tokenBytes(id);
            assertThat(b.length).isLessThan(4);
            byte[] next = new byte[joined.length + b.length];
            System.arraycopy(joined, 0, next, 0, joined.length);
            System.arraycopy(b, 0, next, joined.length, b.length);
            joined = next;
        }
        assertThat(joined).isEqualTo("\uD83E\uDD99".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void controlTokensRenderOnlyOnRequest() {
        assertThat(smol.isControl(1)).isTrue();
        assertThat(smol.tokenBytes(2)).isEmpty();
        assertThat(smol.piece(2)).isEqualTo("<|im_end|>");
        assertThat(smol.piece(905)).isEqualTo(" world");
        assertThat(smol.tokenText(905)).isEqualTo("\u0120world");
    }

    @Test
    void unknownPreTokenizerFallsBackToGpt2() {
        Tokenizer unknown = withPre("no-such-pre-tokenizer");
        Tokenizer gpt2 = withPre("gpt-2");
        String text = "Hello,   world! It's 2024.\n\n  Indented 12345 caf\u00e9";
        assertThat(unknown.encode(text, false, false)).containsExactly(gpt2.encode(text, false, false));
        assertThat(((ByteLevelBpeTokenizer) unknown).preTokenizer()).isEqualTo("no-such-pre-tokenizer");
    }

    @Test
    void missingPreTokenizerMeansDefault() {
        Tokenizer missing = withPre(null);
        Tokenizer dflt = withPre("default");
        String text = "a+b=c; x<=y | 1234567 $5 ~ ok";
        assertThat(missing.encode(text, false, false)).containsExactly(dflt.encode(text, false, false));
    }

    @Test
    void llama3PreTokenizerAddsBosByDefaultUnlessTheFileSaysNo() {
        Map<String, Object> meta = new HashMap<>(file.metadata());
        meta.put("tokenizer.ggml.pre", "llama-bpe");
        meta.remove("tokenizer.ggml.add_bos_token");
        assertThat(Tokenizer.fromMetadata(meta, "llama-bpe").addBosByDefault()).isTrue();
        assertThat(withPre("llama-bpe").addBosByDefault()).isFalse();
    }

    @Test
    void longPromptEncodesInMilliseconds() {
        StringBuilder sb = new StringBuilder();
        String[] words = {"The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "and", "runs",
                "12345", "caf\u00e9", "don't", "\u4e2d\u6587", "(x + y)", "\n\n", "    indented"};
        for (int i = 0; sb.length() < 18_000; i++) {
            sb.append(words[(i * 7) % words.length]).append(i % 11 == 0 ? ".\n" : " ");
        }
        String text = sb.toString();
        for (int i = 0; i < 3; i++) {
            smol.encode(text, false, false); // warm up
        }
        long t0 = System.nanoTime();
        int[] ids = smol.encode(text, false, false);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ids.length).isGreaterThan(4000);
        assertThat(smol.decode(ids)).isEqualTo(text);
        assertThat(millis).as("encode time in ms for %d tokens", ids.length).isLessThan(2_000);

        String oneWord = "ab".repeat(10_000); // a single 20000-byte word: many merges in one queue
        t0 = System.nanoTime();
        int[] wordIds = smol.encode(oneWord, false, false);
        millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(smol.decode(wordIds)).isEqualTo(oneWord);
        assertThat(millis).as("encode time in ms for one long word").isLessThan(2_000);
    }
}
