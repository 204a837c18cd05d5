package dev.gantry.worker.model.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import dev.gantry.worker.testing.TestModels;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The token-level matcher on SmolLM2's real byte-level BPE vocabulary (49152 tokens). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrammarTokenMatcherTest {
    static final String DOC = "{\"name\": \"Ann Lee\", \"age\": 42, \"color\": \"green\", \"tags\": [\"a\", \"bé\"]}";

    private GgufFile file;
    private Tokenizer tokenizer;
    private GrammarCompiler compiler;

    @BeforeAll
    void load() {
        file = GgufFile.open(TestModels.smolLm2());
        tokenizer = Tokenizer.fromGguf(file);
        compiler = new GrammarCompiler(tokenizer);
    }

    @AfterAll
    void close() {
        file.close();
    }

    private CompiledGrammar person() {
        return compiler.compile(new GrammarSpec.JsonSchema(JsonTexts.parse(GrammarJsonSchemaTest.PERSON)));
    }

    private static boolean allowed(long[] mask, int id) {
        return (mask[id >>> 6] >>> id & 1L) != 0;
    }

    @Test
    void aTokenizedValidDocumentIsAllowedTokenByToken() {
        GrammarMatcher m = person().newMatcher();
        int eos = tokenizer.eosId();
        for (int id : tokenizer.encode(DOC, false, false)) {
            assertThat(allowed(m.allowedTokens(), eos)).isFalse();
            assertThat(allowed(m.allowedTokens(), id)).as("token %d %s", id, tokenizer.piece(id)).isTrue();
            assertThat(m.accept(id)).isTrue();
        }
        assertThat(m.isAccepting()).isTrue();
        assertThat(m.isTerminated()).isTrue();
        long[] end = m.allowedTokens();
        for (int id : tokenizer.endOfGenerationIds()) {
            assertThat(allowed(end, id)).isTrue();
        }
        assertThat(java.util.Arrays.stream(end).map(Long::bitCount).sum()).isEqualTo(tokenizer.endOfGenerationIds().length);
        int close = tokenizer.encode("}", false, false)[0];
        assertThat(m.accept(close)).isFalse();
        assertThat(m.accept(eos)).isTrue();

        float[] logits = new float[tokenizer.vocabSize() + 10];
        GrammarMatcher fresh = person().newMatcher();
        fresh.maskLogits(logits, 5, tokenizer.vocabSize());
        assertThat(logits[5 + tokenizer.encode("{", false, false)[0]]).isZero();
        assertThat(logits[5 + eos]).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(logits[5 + tokenizer.encode("[", false, false)[0]]).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(logits[4]).isZero();
    }

    @Test
    void randomWalksEndInMatchingText() {
        Random random = new Random(11);
        record Case(GrammarSpec spec, java.util.function.Predicate<String> check) {}
        Pattern email = Pattern.compile("[a-z]{1,5}@[a-z]{2,4}\\.(com|org)");
        List<Case> cases = List.of(
                new Case(new GrammarSpec.JsonSchema(JsonTexts.parse(GrammarJsonSchemaTest.PERSON)),
                        GrammarTokenMatcherTest::isPerson),
                new Case(new GrammarSpec.Regex(email.pattern()), s -> email.matcher(s).matches()),
                new Case(new GrammarSpec.Choice(List.of("yes", "no", "maybe not")),
                        s -> List.of("yes", "no", "maybe not").contains(s)),
                new Case(new GrammarSpec.AnyJsonObject(), s -> JsonTexts.parse(s).isObject()));
        int completed = 0;
        for (Case c : cases) {
            for (int walk = 0; walk < 2; walk++) {
                GrammarMatcher m = compiler.compile(c.spec()).newMatcher();
                ByteArrayOutputStream text = new ByteArrayOutputStream();
                boolean ended = false;
                for (int step = 0; step < 200 && !ended; step++) {
                    long[] mask = m.allowedTokens();
                    int[] ids = setBits(mask);
                    assertThat(ids).as("a dead end after \"%s\"", text).isNotEmpty();
                    int eog = java.util.Arrays.stream(ids).filter(tokenizer::isEndOfGeneration).findFirst().orElse(-1);
                    int id = eog >= 0 && random.nextInt(3) == 0 ? eog : ids[random.nextInt(ids.length)];
                    assertThat(m.accept(id)).isTrue();
                    if (tokenizer.isEndOfGeneration(id)) {
                        ended = true;
                    } else {
                        text.writeBytes(tokenizer.tokenBytes(id));
                    }
                }
                if (m.isAccepting()) {
                    String s = text.toString(StandardCharsets.UTF_8);
                    assertThat(c.check().test(s)).as("%s produced %s", c.spec(), s).isTrue();
                    completed++;
                }
            }
        }
        assertThat(completed).isGreaterThanOrEqualTo(3);
    }

    static int[] setBits(long[] mask) {
        int[] ids = new int[(int) java.util.Arrays.stream(mask).map(Long::bitCount).sum()];
        int k = 0;
        for (int w = 0; w < mask.length; w++) {
            for (long bits = mask[w]; bits != 0; bits &= bits - 1) {
                ids[k++] = w * 64 + Long.numberOfTrailingZeros(bits);
            }
        }
        return ids;
    }

    /** The PERSON schema checked by hand on a parsed document. */
    static boolean isPerson(String text) {
        JsonNode d = JsonTexts.parse(text);
        List<String> order = List.of("name", "age", "color", "tags", "nick");
        for (var it = d.fieldNames(); it.hasNext(); ) {
            if (!order.contains(it.next())) {
                return false;
            }
        }
        JsonNode tags = d.get("tags");
        JsonNode nick = d.get("nick");
        return d.path("name").isTextual() && d.get("name").textValue().codePointCount(0, d.get("name").textValue().length()) <= 10
                && d.path("age").isInt() && d.get("age").intValue() >= 0 && d.get("age").intValue() <= 150
                && List.of("red", "green", "blue").contains(d.path("color").asText(""))
                && (tags == null || tags.isArray() && tags.size() <= 3
                        && java.util.stream.StreamSupport.stream(tags.spliterator(), false).allMatch(JsonNode::isTextual))
                && (nick == null || nick.isNull() || nick.isTextual());
    }

    @Test
    void theMaskAgreesWithTryingEveryTokenByteByByte() {
        int[] doc = tokenizer.encode(DOC, false, false);
        for (int prefix : new int[] {0, 1, 3, 4, 7, doc.length / 2, doc.length - 2}) {
            assertMaskIsExact(person(), doc, prefix);
        }
        // grammars whose states loop on almost every character (whole vocabulary subtrees are taken at once)
        int[] text = tokenizer.encode("héllo wörld, 日本語 \"x", false, false);
        for (GrammarSpec spec : List.of(new GrammarSpec.Gbnf("root ::= [^x]* \"x\""), new GrammarSpec.Gbnf("root ::= .+"))) {
            for (int prefix : new int[] {0, 2, text.length / 2}) {
                assertMaskIsExact(compiler.compile(spec), text, prefix);
            }
        }
        // a position holding part of a character
        GrammarMatcher split = compiler.compile(new GrammarSpec.Gbnf("root ::= .+")).newMatcher();
        int lead = tokenizer.tokenId(new String(new char[] {(char) 0xC3})); // byte 0xC3 in GPT-2's byte alphabet
        assertThat(split.accept(lead)).isTrue();
        assertMaskIsExact(split);
    }

    private void assertMaskIsExact(CompiledGrammar g, int[] tokens, int prefix) {
        GrammarMatcher m = g.newMatcher();
        for (int i = 0; i < prefix; i++) {
            assertThat(m.accept(tokens[i])).isTrue();
        }
        assertMaskIsExact(m);
    }

    private void assertMaskIsExact(GrammarMatcher m) {
        long[] mask = m.allowedTokens();
        int count = 0;
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            boolean brute = m.copy().accept(id);
            assertThat(allowed(mask, id)).as("%s token %d %s", m, id, tokenizer.piece(id)).isEqualTo(brute);
            count += brute ? 1 : 0;
        }
        assertThat(count).isPositive();
    }

    @Test
    void aTokenEndingInsideACharacterKeepsThePartialBytes() throws Exception {
        int first = -1;
        int second = -1;
        var strict = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT);
        for (int id = 0; id < tokenizer.vocabSize() && second < 0; id++) {
            byte[] b = tokenizer.tokenBytes(id);
            if (b.length < 2 || (b[0] & 0xC0) != 0xC0 || decodes(strict, b)) {
                continue;
            }
            for (int id2 = 0; id2 < tokenizer.vocabSize(); id2++) {
                byte[] b2 = tokenizer.tokenBytes(id2);
                byte[] both = java.util.Arrays.copyOf(b, b.length + b2.length);
                System.arraycopy(b2, 0, both, b.length, b2.length);
                if (b2.length > 0 && (b2[0] & 0xC0) == 0x80 && decodes(strict, both)
                        && new String(both, StandardCharsets.UTF_8).chars().noneMatch(ch -> ch < 0x20 || ch == '"' || ch == '\\')) {
                    first = id;
                    second = id2;
                    break;
                }
            }
        }
        assertThat(second).as("a token pair splitting a character").isNotNegative();
        GrammarMatcher m = compiler.compile(new GrammarSpec.AnyJsonObject()).newMatcher();
        for (int id : tokenizer.encode("{\"k\": \"", false, false)) {
            assertThat(m.accept(id)).isTrue();
        }
        assertThat(m.allowedTokens()[first >>> 6] >>> first & 1L).isEqualTo(1L);
        assertThat(m.accept(first)).isTrue();
        assertThat(m.isAllowed(tokenizer.encode("\"", false, false)[0])).isFalse(); // the character must complete
        assertThat(m.isAllowed(second)).isTrue();
        assertThat(m.accept(second)).isTrue();
        for (int id : tokenizer.encode("\"}", false, false)) {
            assertThat(m.accept(id)).isTrue();
        }
        assertThat(m.isTerminated()).isTrue();
        // a grammar of ASCII letters never allows the split token
        GrammarMatcher letters = compiler.compile(new GrammarSpec.Regex("[a-z]+")).newMatcher();
        assertThat(letters.isAllowed(first)).isFalse();
        assertThat(letters.accept(first)).isFalse();
    }

    private static boolean decodes(java.nio.charset.CharsetDecoder strict, byte[] bytes) {
        try {
            strict.reset().decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
