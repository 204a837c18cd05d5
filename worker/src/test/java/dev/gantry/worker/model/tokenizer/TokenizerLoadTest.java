package dev.gantry.worker.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.gguf.GgufFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Vocabularies that cannot be used fail with a {@link ModelLoadException} that says why. */
class TokenizerLoadTest {
    @TempDir
    Path dir;

    /** A tiny SentencePiece vocabulary: unk, BOS, EOS, byte tokens for 'a' and 'b', and a few pieces. */
    private static Map<String, Object> spm() {
        Map<String, Object> meta = new HashMap<>();
        meta.put("tokenizer.ggml.model", "llama");
        meta.put("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>", "<0x61>", "<0x62>", "\u2581", "a", "b",
                "ab", "\u2581ab"});
        meta.put("tokenizer.ggml.scores", new float[] {0, 0, 0, 0, 0, -1, -2, -2, -1.5f, -0.5f});
        meta.put("tokenizer.ggml.token_type", new long[] {2, 3, 3, 6, 6, 1, 1, 1, 1, 1});
        return meta;
    }

    @Test
    void tinyVocabularyWorks() {
        Tokenizer tok = Tokenizer.fromMetadata(spm(), "tiny");
        assertThat(tok.encode("ab", true, false)).containsExactly(1, 9);
        assertThat(tok.encode("ba", false, false)).containsExactly(5, 7, 6);
        // 'c' has no piece and no byte token: it becomes the unknown token
        assertThat(tok.encode("c", false, false)).containsExactly(5, 0);
    }

    @Test
    void unknownTokenizerModelIsNamed() {
        Map<String, Object> meta = spm();
        meta.put("tokenizer.ggml.model", "bert");
        assertThatThrownBy(() -> Tokenizer.fromMetadata(meta, "model.gguf"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage("model.gguf: unsupported tokenizer model \"bert\" (tokenizer.ggml.model); supported: "
                        + "\"llama\" (SentencePiece) and \"gpt2\" (byte-level BPE)");
    }

    @Test
    void unknownTokenizerModelInAGgufFile() throws IOException {
        Path file = dir.resolve("t5.gguf");
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("general.architecture", "t5");
        meta.put("tokenizer.ggml.model", "t5");
        meta.put("tokenizer.ggml.tokens", new String[] {"<pad>", "</s>"});
        writeGguf(file, meta);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThatThrownBy(() -> Tokenizer.fromGguf(gguf))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageStartingWith(file.toString())
                    .hasMessageContaining("unsupported tokenizer model \"t5\"");
        }
    }

    @Test
    void missingVocabularyInAGgufFile() throws IOException {
        Path file = dir.resolve("novocab.gguf");
        writeGguf(file, Map.of("general.architecture", "llama", "tokenizer.ggml.model", "gpt2"));
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThatThrownBy(() -> Tokenizer.fromGguf(gguf))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(file + ": the tokenizer has no vocabulary (metadata key tokenizer.ggml.tokens is "
                            + "missing or not an array of strings)");
        }
    }

    @Test
    void missingTokenizerModel() {
        Map<String, Object> meta = spm();
        meta.remove("tokenizer.ggml.model");
        assertThatThrownBy(() -> Tokenizer.fromMetadata(meta, "m.gguf")).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tokenizer.ggml.model is missing");
    }

    @Test
    void missingOrEmptyTokens() {
        Map<String, Object> meta = spm();
        meta.remove("tokenizer.ggml.tokens");
        assertThatThrownBy(() -> Tokenizer.fromMetadata(meta, "m.gguf")).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tokenizer.ggml.tokens");
        meta.put("tokenizer.ggml.tokens", new String[0]);
        assertThatThrownBy(() -> Tokenizer.fromMetadata(meta, "m.gguf")).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("is empty");
    }

    @Test
    void arraysShorterThanTheVocabulary() {
        Map<String, Object> meta = spm();
        meta.put("tokenizer.ggml.scores", new float[3]);
        assertThatThrownBy(() -> Tokenizer.fromMetadata(meta, "m.gguf")).isInstanceOf(ModelLoadException.class)
                .hasMessage("m.gguf: tokenizer.ggml.scores has 3 entries but the vocabulary has 10 tokens");
        Map<String, Object> types = spm();
        types.put("tokenizer.ggml.token_type", new long[] {1});
        assertThatThrownBy(() -> Tokenizer.fromMetadata(types, "m.gguf")).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tokenizer.ggml.token_type has 1 entries");
        Map<String, Object> wrongType = spm();
        wrongType.put("tokenizer.ggml.token_type", new String[] {"x"});
        assertThatThrownBy(() -> Tokenizer.fromMetadata(wrongType, "m.gguf")).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("not an array of integers");
    }

    @Test
    void bpeWithoutMerges() {
        Map<String, Object> meta = new HashMap<>();
        meta.put("tokenizer.ggml.model", "gpt2");
        meta.put("tokenizer.ggml.pre", "gpt-2");
        meta.put("tokenizer.ggml.tokens", new String[] {"a", "b"});
        assertThatThrownBy(() -> Tokenizer.fromMetadata(meta, "m.gguf")).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tokenizer.ggml.merges is missing");
    }

    @Test
    void addBosWithoutABosToken() {
        Map<String, Object> meta = new HashMap<>();
        meta.put("tokenizer.ggml.model", "gpt2");
        meta.put("tokenizer.ggml.pre", "gpt-2");
        meta.put("tokenizer.ggml.tokens", new String[] {"a", "b"});
        meta.put("tokenizer.ggml.merges", new String[] {"a b"});
        meta.put("tokenizer.ggml.add_bos_token", true);
        assertThatThrownBy(() -> Tokenizer.fromMetadata(meta, "m.gguf")).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("add_bos_token is true but the vocabulary has no BOS token");
        meta.put("tokenizer.ggml.add_bos_token", false);
        Tokenizer tok = Tokenizer.fromMetadata(meta, "m.gguf");
        assertThat(tok.bosId()).isEqualTo(-1);
        assertThatThrownBy(() -> tok.encode("ab", true, false)).isInstanceOf(IllegalStateException.class);
        assertThat(tok.encode("ab", false, false)).containsExactly(0, 1); // "ab" is not a token, so no merge result
    }

    @Test
    void outOfRangeSpecialIdsAreIgnored() {
        Map<String, Object> meta = spm();
        meta.put("tokenizer.ggml.eos_token_id", 4294967295L);
        meta.put("tokenizer.ggml.padding_token_id", 4294967295L);
        Tokenizer tok = Tokenizer.fromMetadata(meta, "m.gguf");
        assertThat(tok.eosId()).isEqualTo(2); // llama.cpp keeps the default
    }

    /** Writes a GGUF v3 file with no tensors and the given metadata (strings, arrays, booleans, ints). */
    static void writeGguf(Path path, Map<String, Object> meta) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(le(4).putInt(3).array());
        out.writeBytes(le(8).putLong(0).array());
        out.writeBytes(le(8).putLong(meta.size()).array());
        for (Map.Entry<String, Object> e : meta.entrySet()) {
            writeString(out, e.getKey());
            switch (e.getValue()) {
                case String s -> {
                    out.writeBytes(le(4).putInt(8).array());
                    writeString(out, s);
                }
                case String[] a -> {
                    out.writeBytes(le(4).putInt(9).array());
                    out.writeBytes(le(4).putInt(8).array());
                    out.writeBytes(le(8).putLong(a.length).array());
                    for (String s : a) {
                        writeString(out, s);
                    }
                }
                case Boolean b -> {
                    out.writeBytes(le(4).putInt(7).array());
                    out.write(b ? 1 : 0);
                }
                case Integer i -> {
                    out.writeBytes(le(4).putInt(4).array());
                    out.writeBytes(le(4).putInt(i).array());
                }
                default -> throw new IllegalArgumentException("unsupported value " + e.getValue());
            }
        }
        Files.write(path, out.toByteArray());
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void writeString(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(le(8).putLong(b.length).array());
        out.writeBytes(b);
    }
}
