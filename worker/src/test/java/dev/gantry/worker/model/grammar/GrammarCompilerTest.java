package dev.gantry.worker.model.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import dev.gantry.worker.testing.TestModels;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The compiler's cache and sharing, on the SentencePiece llama vocabulary (byte-fallback tokens). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrammarCompilerTest {
    private GgufFile file;
    private Tokenizer spm;
    private GrammarCompiler compiler;

    @BeforeAll
    void load() {
        file = GgufFile.open(TestModels.llamaSpmVocab());
        spm = Tokenizer.fromGguf(file);
        compiler = new GrammarCompiler(spm);
    }

    @AfterAll
    void close() {
        file.close();
    }

    @Test
    void cachesBySpecValueButKeepsPropertyOrderApart() {
        GrammarSpec ab = new GrammarSpec.JsonSchema(JsonTexts.parse("{\"properties\": {\"a\": {}, \"b\": {}}}"));
        GrammarSpec ab2 = new GrammarSpec.JsonSchema(JsonTexts.parse("{\"properties\": {\"a\": {}, \"b\": {}}}"));
        GrammarSpec ba = new GrammarSpec.JsonSchema(JsonTexts.parse("{\"properties\": {\"b\": {}, \"a\": {}}}"));
        assertThat(compiler.compile(ab)).isSameAs(compiler.compile(ab2));
        assertThat(compiler.compile(ab)).isNotSameAs(compiler.compile(ba));
        assertThat(compiler.compile(new GrammarSpec.Choice(List.of("x", "y"))))
                .isSameAs(compiler.compile(new GrammarSpec.Choice(new ArrayList<>(List.of("x", "y")))));
        assertThatThrownBy(() -> compiler.compile(new GrammarSpec.Choice(List.of())))
                .isInstanceOf(GrammarException.class);
        assertThatThrownBy(() -> compiler.compile(new GrammarSpec.Gbnf("root ::= root \"a\"")))
                .hasMessageContaining("left recursion");
    }

    @Test
    void byteFallbackTokensSpellAMultibyteCharacter() {
        GrammarMatcher m = compiler.compile(new GrammarSpec.Gbnf("root ::= \"日\"+")).newMatcher();
        int e6 = spm.tokenId("<0xE6>");
        int x97 = spm.tokenId("<0x97>");
        int xa5 = spm.tokenId("<0xA5>");
        assertThat(m.isAllowed(e6)).isTrue();
        assertThat(m.isAllowed(spm.tokenId("<0xE7>"))).isFalse();
        assertThat(m.isAllowed(spm.eosId())).isFalse();
        assertThat(m.isAllowed(spm.bosId())).isFalse();
        assertThat(m.accept(e6)).isTrue();
        assertThat(m.accept(x97)).isTrue();
        assertThat(m.isAccepting()).isFalse();
        assertThat(m.accept(spm.tokenId("<0xA6>"))).isFalse();
        assertThat(m.accept(xa5)).isTrue();
        assertThat(m.isAccepting()).isTrue();
        assertThat(m.isTerminated()).isFalse();
        assertThat(m.isAllowed(spm.eosId())).isTrue();
        int direct = spm.tokenId("日");
        if (direct >= 0) {
            assertThat(m.isAllowed(direct)).isTrue();
        }
    }

    /**
     * The text as single-character tokens (byte tokens where the vocabulary has none): encode()
     * would add SentencePiece's leading space, which generated text does not have.
     */
    private int[] spell(String text) {
        return text.codePoints().flatMap(cp -> {
            int id = spm.tokenId(cp == ' ' ? "\u2581" : Character.toString(cp));
            if (id >= 0) {
                return java.util.stream.IntStream.of(id);
            }
            byte[] bytes = Character.toString(cp).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            return java.util.stream.IntStream.range(0, bytes.length)
                    .map(i -> spm.tokenId(String.format("<0x%02X>", bytes[i] & 0xFF)));
        }).toArray();
    }

    @Test
    void matchersOnManyThreadsShareOneGrammar() throws Exception {
        CompiledGrammar g = compiler.compile(new GrammarSpec.AnyJsonObject());
        int[] doc = spell("{\"key\": [1, 2.5, \"vé日\", {\"x\": null}], \"other\": true}");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<long[]>>> runs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                runs.add(pool.submit(() -> {
                    GrammarMatcher m = g.newMatcher();
                    List<long[]> masks = new ArrayList<>();
                    for (int id : doc) {
                        masks.add(m.allowedTokens());
                        if (!m.accept(id)) {
                            throw new AssertionError("refused " + spm.piece(id));
                        }
                    }
                    assertThat(m.isTerminated()).isTrue();
                    return masks;
                }));
            }
            List<long[]> first = runs.get(0).get();
            for (Future<List<long[]>> run : runs) {
                assertThat(run.get()).containsExactlyElementsOf(first);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
