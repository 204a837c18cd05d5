package dev.gantry.worker.model.grammar;

import static dev.gantry.worker.model.grammar.Expr.alt;
import static dev.gantry.worker.model.grammar.Expr.chars;
import static dev.gantry.worker.model.grammar.Expr.literal;
import static dev.gantry.worker.model.grammar.Expr.optional;
import static dev.gantry.worker.model.grammar.Expr.ref;
import static dev.gantry.worker.model.grammar.Expr.seq;
import static dev.gantry.worker.model.grammar.Expr.star;

/**
 * The JSON rules every JSON grammar shares (RFC 8259), defined into a {@link GrammarBuilder}.
 *
 * <p><b>Whitespace</b> ({@link #WS}) between tokens is nothing, one space, or a line break followed by
 * up to {@link #MAX_INDENT} spaces or tabs. That admits compact output, {@code ", "}/{@code ": "}
 * separators and pretty printing up to ten levels of two-space indentation, yet a model can emit at
 * most 21 whitespace characters in a row, so it cannot loop forever in whitespace. There is no
 * whitespace before or after the top-level value: the document ends with its last bracket, brace,
 * quote or digit, which lets the engine stop the sequence right there.
 *
 * <p><b>Strings</b>: any character but {@code "}, {@code \} and the controls U+0000-U+001F raw, or an
 * escape ({@code \" \\ \/ \b \f \n \r \t &#92;uXXXX}).
 */
final class JsonGrammar {
    static final int MAX_INDENT = 20;
    static final String WS = "json-ws";
    static final String CHAR = "json-char";
    static final String STRING = "json-string";
    static final String NUMBER = "json-number";
    static final String INTEGER = "json-integer";
    static final String VALUE = "json-value";
    static final String OBJECT = "json-object";
    static final String ARRAY = "json-array";
    static final String BOOLEAN = "json-boolean";
    static final String NULL = "json-null";

    /** The characters a JSON string holds without escaping. */
    static final int[] RAW_STRING_CHARS = CharRanges.complement(
            CharRanges.normalize(new int[] {0, 0x1F, '"', '"', '\\', '\\'}));
    private static final int[] DIGITS = {'0', '9'};

    private JsonGrammar() {}

    /** Defines the shared rules (names above) into {@code b}. */
    static void define(GrammarBuilder b) {
        b.define(WS, optional(alt(literal(" "),
                seq(literal("\n"), new Expr.Repeat(chars(CharRanges.normalize(new int[] {' ', ' ', '\t', '\t'})), 0,
                        MAX_INDENT)))));
        Expr hex = chars(CharRanges.normalize(new int[] {'0', '9', 'A', 'F', 'a', 'f'}));
        b.define(CHAR, alt(chars(RAW_STRING_CHARS), seq(literal("\\"), alt(
                chars(CharRanges.normalize(new int[] {'"', '"', '\\', '\\', '/', '/', 'b', 'b', 'f', 'f', 'n', 'n',
                        'r', 'r', 't', 't'})),
                seq(literal("u"), hex, hex, hex, hex)))));
        b.define(STRING, seq(literal("\""), star(ref(CHAR)), literal("\"")));
        b.define(INTEGER, seq(optional(literal("-")),
                alt(literal("0"), seq(chars(new int[] {'1', '9'}), star(chars(DIGITS))))));
        b.define(NUMBER, seq(ref(INTEGER),
                optional(seq(literal("."), new Expr.Repeat(chars(DIGITS), 1, -1))),
                optional(seq(chars(new int[] {'E', 'E', 'e', 'e'}), optional(chars(new int[] {'+', '+', '-', '-'})),
                        new Expr.Repeat(chars(DIGITS), 1, -1)))));
        b.define(BOOLEAN, alt(literal("true"), literal("false")));
        b.define(NULL, literal("null"));
        b.define(VALUE, alt(ref(OBJECT), ref(ARRAY), ref(STRING), ref(NUMBER), ref(BOOLEAN), ref(NULL)));
        b.define(OBJECT, container("{", seq(ref(STRING), ref(WS), literal(":"), ref(WS), ref(VALUE)), "}"));
        b.define(ARRAY, container("[", ref(VALUE), "]"));
    }

    /**
     * {@code open ws (item ws ("," ws item ws)*)? close}: the one layout of every object and array,
     * so whitespace rules are identical everywhere.
     */
    static Expr container(String open, Expr item, String close) {
        Expr unit = seq(item, ref(WS));
        return seq(literal(open), ref(WS), optional(seq(unit, star(seq(literal(","), ref(WS), unit)))),
                literal(close));
    }

    /** The grammar of any JSON object (response_format {@code json_object}). */
    static Grammar anyObject() {
        GrammarBuilder b = new GrammarBuilder();
        define(b);
        b.define("root", ref(OBJECT));
        return b.build("root");
    }
}
