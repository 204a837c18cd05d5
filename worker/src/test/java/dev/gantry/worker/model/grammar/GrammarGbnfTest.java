package dev.gantry.worker.model.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** GBNF parsing and the pushdown recognizer on whole strings. */
class GrammarGbnfTest {
    static boolean matches(String gbnf, String text) {
        return new StackStore(GbnfParser.parse(gbnf)).matches(text);
    }

    @Test
    void literalsAlternativesAndNestedRules() {
        String g = """
                # arithmetic, right-recursive
                root ::= expr
                expr ::= term ([-+] term)*
                term ::= factor ("*" factor)*
                factor ::= num | "(" expr ")"
                num ::= [0-9]+
                """;
        assertThat(matches(g, "1+2*(3-4)")).isTrue();
        assertThat(matches(g, "((7))")).isTrue();
        assertThat(matches(g, "1+")).isFalse();
        assertThat(matches(g, "(1")).isFalse();
        assertThat(matches(g, "")).isFalse();
        assertThat(matches(g, "12a")).isFalse();
    }

    @Test
    void llamaCppStyleJsonGrammar() {
        String g = """
                root   ::= object
                value  ::= object | array | string | number | ("true" | "false" | "null") ws
                object ::=
                  "{" ws (
                            string ":" ws value
                    ("," ws string ":" ws value)*
                  )? "}" ws
                array  ::=
                  "[" ws (
                            value
                    ("," ws value)*
                  )? "]" ws
                string ::=
                  "\\"" (
                    [^"\\\\\\x7F\\x00-\\x1F] |
                    "\\\\" (["\\\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
                  )* "\\"" ws
                number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
                # Optional space: by convention, applied in this grammar after literal chars when allowed
                ws ::= | " " | "\\n" [ \\t]{0,20}
                """;
        assertThat(matches(g, "{\"a\": [1, -2.5e3, \"x\\\"y\", {}], \"b\": null}")).isTrue();
        assertThat(matches(g, "{\n  \"a\": true\n}\n")).isTrue();
        assertThat(matches(g, "{\"a\": tru}")).isFalse();
        assertThat(matches(g, "{\"a\": \"\u007f\"}")).isFalse();
    }

    @Test
    void alternativesMayStartLines() {
        String g = "root ::= \"a\"\n  | \"b\" x\nx ::= \"c\"";
        assertThat(matches(g, "a")).isTrue();
        assertThat(matches(g, "bc")).isTrue();
        assertThat(matches(g, "b")).isFalse();
    }

    @Test
    void repetitionBounds() {
        String g = "root ::= \"x\"{2,4} \"y\"{3} \"z\"{1,} \"w\"{,2}";
        assertThat(matches(g, "xxyyyz")).isTrue();
        assertThat(matches(g, "xxxxyyyzzzww")).isTrue();
        assertThat(matches(g, "xyyyz")).isFalse();
        assertThat(matches(g, "xxxxxyyyz")).isFalse();
        assertThat(matches(g, "xxyyz")).isFalse();
        assertThat(matches(g, "xxyyy")).isFalse();
        assertThat(matches(g, "xxyyyzwww")).isFalse();
        assertThat(matches("root ::= [ab]? \"c\"", "c")).isTrue();
        assertThat(matches("root ::= [ab]? \"c\"", "bc")).isTrue();
        assertThat(matches("root ::= [ab]? \"c\"", "abc")).isFalse();
        // repeating something that may be empty: a cycle of tail references, not left recursion
        assertThat(matches("root ::= (\"a\"?)* \"b\"", "b")).isTrue();
        assertThat(matches("root ::= (\"a\"?)* \"b\"", "aaab")).isTrue();
        assertThat(matches("root ::= (\"a\"? \"c\"?)+ \"b\"", "acaab")).isTrue();
        assertThat(matches("root ::= (\"a\"? \"c\"?)+ \"b\"", "acaa")).isFalse();
    }

    @Test
    void negatedClassesEscapesAndAnyChar() {
        String g = "root ::= \"\\\"\" [^\"\\\\\\n]* \"\\\"\" . [\\x41-\\x43]";
        assertThat(matches(g, "\"hello world\"!A")).isTrue();
        assertThat(matches(g, "\"héllo\"éC")).isTrue();
        assertThat(matches(g, "\"a\nb\"!A")).isFalse();
        assertThat(matches(g, "\"a\\b\"!A")).isFalse();
        assertThat(matches(g, "\"ab\"!D")).isFalse();
    }

    @Test
    void multibyteCharacters() {
        String g = "root ::= \"日本\" [α-ω]+ [^a-z] \"\\u00e9\" \"\\U0001F600\"";
        assertThat(matches(g, "日本αβγ€é😀")).isTrue();
        assertThat(matches(g, "日本αβγxé😀")).isFalse();
        assertThat(matches(g, "日本é😀")).isFalse();
        // a random string of mixed-width characters through a negated class
        Random random = new Random(7);
        String anyButQuote = "root ::= [^\"]*";
        for (int i = 0; i < 200; i++) {
            StringBuilder sb = new StringBuilder();
            int n = random.nextInt(8);
            boolean quote = false;
            for (int j = 0; j < n; j++) {
                int cp = switch (random.nextInt(4)) {
                    case 0 -> 0x20 + random.nextInt(0x5F);
                    case 1 -> 0xA0 + random.nextInt(0x700);
                    case 2 -> 0x3000 + random.nextInt(0x5000);
                    default -> 0x1F300 + random.nextInt(0x200);
                };
                quote |= cp == '"';
                sb.appendCodePoint(cp);
            }
            assertThat(matches(anyButQuote, sb.toString())).as(sb.toString()).isEqualTo(!quote);
        }
    }

    @Test
    void partialUtf8IsHeldAndCheckedForAnAllowedCompletion() {
        StackStore store = new StackStore(GbnfParser.parse("root ::= \"é\" | \"a\""));
        long p = StackStore.position(store.initialState(), 0);
        long afterLead = store.step(p, 0xC3); // é is C3 A9
        assertThat(afterLead).isNotEqualTo(StackStore.REJECT);
        assertThat(StackStore.pendingOf(afterLead)).isNotZero();
        assertThat(store.step(afterLead, 0xA9)).isNotEqualTo(StackStore.REJECT);
        assertThat(store.step(afterLead, 0xA8)).isEqualTo(StackStore.REJECT); // è
        assertThat(store.step(p, 0xE6)).isEqualTo(StackStore.REJECT); // no 3-byte character is allowed
        assertThat(store.step(p, 0xC0)).isEqualTo(StackStore.REJECT); // never valid UTF-8
    }

    @Test
    void errors() {
        assertThatThrownBy(() -> GbnfParser.parse("root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\""))
                .isInstanceOf(GrammarException.class).hasMessageContaining("left recursion")
                .hasMessageContaining("expr");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= a\na ::= \"b\"? root \"c\""))
                .hasMessageContaining("left recursion");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= missing"))
                .hasMessageContaining("undefined rule \"missing\"");
        assertThatThrownBy(() -> GbnfParser.parse("start ::= \"a\"")).hasMessageContaining("no rule \"root\"");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= \"a"))
                .hasMessageContaining("unterminated string literal");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= [b-a]")).hasMessageContaining("reversed");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= \"a\"{3,1}")).hasMessageContaining("maximum below");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= (\"a\"")).hasMessageContaining("expected ')'");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= \"a\"\nroot ::= \"b\""))
                .hasMessageContaining("defined twice");
    }
}
