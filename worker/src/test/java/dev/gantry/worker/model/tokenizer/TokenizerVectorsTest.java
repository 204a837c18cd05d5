package dev.gantry.worker.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.testing.TestModels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Token ids must be exactly llama.cpp's: llama.cpp's own vocab test for the Llama 2 SentencePiece
 * vocabulary, and the vectors {@code src/test/python/tokenizer_vectors.py} recorded from llama.cpp
 * for SentencePiece (Llama 2, TinyStories) and byte-level BPE (SmolLM2 with each pre-tokenizer).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerVectorsTest {
    private final Map<String, Tokenizer> tokenizers = new LinkedHashMap<>();
    private final Map<String, GgufFile> files = new HashMap<>();

    @BeforeAll
    void load() {
        tokenizers.put("llama-spm", Tokenizer.fromGguf(open(TestModels.llamaSpmVocab())));
        tokenizers.put("stories260k", Tokenizer.fromGguf(open(TestModels.stories260K())));
        GgufFile smol = open(TestModels.smolLm2());
        tokenizers.put("smollm2", Tokenizer.fromGguf(smol));
        for (String pre : List.of("default", "gpt-2", "llama-bpe", "qwen2")) {
            Map<String, Object> meta = new HashMap<>(smol.metadata());
            meta.put("tokenizer.ggml.pre", pre);
            tokenizers.put("bpe-" + pre, Tokenizer.fromMetadata(meta, "SmolLM2 vocabulary with pre-tokenizer " + pre));
        }
    }

    private GgufFile open(Path path) {
        return files.computeIfAbsent(path.toString(), p -> GgufFile.open(path));
    }

    @AfterAll
    void close() {
        files.values().forEach(GgufFile::close);
    }

    @Test
    void llamaSpmVocabMatchesLlamaCppOwnVectors() {
        Path vocab = TestModels.llamaSpmVocab();
        List<VocabVectors.Case> cases = VocabVectors.readFiles(vocab.resolveSibling(vocab.getFileName() + ".inp"),
                vocab.resolveSibling(vocab.getFileName() + ".out"));
        assertThat(cases).hasSizeGreaterThan(40);
        Tokenizer tok = tokenizers.get("llama-spm");
        for (VocabVectors.Case c : cases) {
            assertThat(tok.encode(c.text(), false, false)).as(c.toString()).containsExactly(c.ids());
        }
    }

    static Stream<Arguments> vectorFiles() {
        return Stream.of("llama-spm", "llama-spm-special", "stories260k", "stories260k-special", "smollm2",
                "smollm2-special", "bpe-default", "bpe-gpt-2", "bpe-llama-bpe", "bpe-qwen2").map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectorFiles")
    void matchesLlamaCpp(String file) {
        boolean special = file.endsWith("-special");
        Tokenizer tok = tokenizers.get(special ? file.substring(0, file.length() - "-special".length()) : file);
        List<VocabVectors.Case> cases = VocabVectors.resource(file);
        assertThat(cases).hasSizeGreaterThan(40);
        for (VocabVectors.Case c : cases) {
            assertThat(tok.encode(c.text(), false, special)).as(file + " " + c).containsExactly(c.ids());
        }
    }

    static Stream<Arguments> plainVectorFiles() {
        return vectorFiles().filter(a -> !((String) a.get()[0]).endsWith("-special"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plainVectorFiles")
    void decodingTheIdsGivesTheTextBack(String file) {
        Tokenizer tok = tokenizers.get(file);
        for (VocabVectors.Case c : VocabVectors.resource(file)) {
            assertThat(tok.decode(c.ids())).as(file + " " + c).isEqualTo(c.text());
        }
    }

    /** bos, eos, end-of-generation and control ids, add_bos, and every token's rendering as llama.cpp gives them. */
    @Test
    void vocabularyFactsMatchLlamaCpp() throws Exception {
        List<String> lines = VocabVectors.resourceText("facts.txt").lines().filter(l -> !l.startsWith("#")).toList();
        assertThat(lines).hasSize(tokenizers.size());
        for (String line : lines) {
            String[] parts = line.split(" ");
            Tokenizer tok = tokenizers.get(parts[0]);
            Map<String, String> facts = new HashMap<>();
            for (int i = 1; i < parts.length; i++) {
                String[] kv = parts[i].split("=", 2);
                facts.put(kv[0], kv[1]);
            }
            String name = parts[0];
            assertThat(tok.vocabSize()).as(name).isEqualTo(Integer.parseInt(facts.get("n_vocab")));
            assertThat(tok.bosId()).as(name + " bos").isEqualTo(Integer.parseInt(facts.get("bos")));
            assertThat(tok.eosId()).as(name + " eos").isEqualTo(Integer.parseInt(facts.get("eos")));
            assertThat(tok.addBosByDefault()).as(name + " add_bos").isEqualTo(facts.get("add_bos").equals("1"));
            assertThat(tok.endOfGenerationIds()).as(name + " eog").containsExactly(ids(facts.get("eog")));
            int[] control = java.util.stream.IntStream.range(0, tok.vocabSize()).filter(tok::isControl).toArray();
            assertThat(control).as(name + " control").containsExactly(ids(facts.get("control")));
            assertThat(piecesDigest(tok, false)).as(name + " pieces").isEqualTo(facts.get("pieces"));
            assertThat(piecesDigest(tok, true)).as(name + " pieces with specials").isEqualTo(facts.get("pieces_special"));
        }
    }

    private static int[] ids(String list) {
        return list.equals("-") ? new int[0] : Arrays.stream(list.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    /** SHA-256 over every token's bytes, each preceded by its length (uint32 little-endian). */
    private static String piecesDigest(Tokenizer tok, boolean special) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        ByteBuffer len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        for (int id = 0; id < tok.vocabSize(); id++) {
            byte[] piece = tok.tokenBytes(id, special);
            sha.update(len.clear().putInt(piece.length).array());
            sha.update(piece);
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
