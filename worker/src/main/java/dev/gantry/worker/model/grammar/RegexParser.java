package dev.gantry.worker.model.grammar;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A practical regular-expression subset as an {@link Expr} matching the whole text: literals,
 * {@code . \d \D \w \W \s \S}, escapes ({@code \n \t \r \f \xHH &#92;uHHHH}, escaped punctuation),
 * classes with ranges and negation, groups {@code ( ) (?: ) (?<name> )}, alternation and the
 * quantifiers {@code * + ? {m} {m,} {m,n}} (a lazy {@code ?} suffix is accepted: it changes which
 * match is found, not whether one exists). A leading {@code ^} and trailing {@code $} are accepted
 * as anchors of the whole match. Refused: anchors elsewhere, word boundaries, back references,
 * lookaround, possessive quantifiers, inline flags, Unicode properties.
 *
 * <p>Semantics follow {@link java.util.regex.Pattern} without flags: {@code .} excludes the line
 * terminators {@code \n \r U+0085 U+2028 U+2029}, and {@code \d \w \s} are ASCII.
 *
 * <p>Every character set goes through an <em>encoder</em> that says how its characters are
 * written: as themselves for {@code guided_regex}, as JSON string content (with escapes for
 * {@code "}, {@code \} and controls) for a JSON Schema {@code pattern}, so that the grammar matches
 * the encoded string and stays exact.
 */
final class RegexParser extends TextParser {
    private static final int[] DIGIT = {'0', '9'};
    private static final int[] WORD = CharRanges.normalize(new int[] {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'});
    private static final int[] SPACE = CharRanges.normalize(new int[] {'\t', '\r', ' ', ' '});
    private static final int[] LINE_TERMINATORS =
            CharRanges.normalize(new int[] {'\n', '\n', '\r', '\r', 0x85, 0x85, 0x2028, 0x2029});

    private final Function<int[], Expr> encoder;

    private RegexParser(String pattern, Function<int[], Expr> encoder) {
        super(pattern, "regex syntax");
        this.encoder = encoder;
    }

    /** The expression matching exactly the texts the whole pattern matches. */
    static Expr parse(String pattern) {
        return parse(pattern, Expr::chars);
    }

    /** As {@link #parse(String)}, each character set written as {@code encoder} says. */
    static Expr parse(String pattern, Function<int[], Expr> encoder) {
        return new RegexParser(pattern, encoder).whole();
    }

    /** Whether the pattern begins with {@code ^} and ends with an unescaped {@code $}. */
    static boolean anchoredAtStart(String pattern) {
        return pattern.startsWith("^");
    }

    static boolean anchoredAtEnd(String pattern) {
        if (!pattern.endsWith("$")) {
            return false;
        }
        int backslashes = 0;
        for (int i = pattern.length() - 2; i >= 0 && pattern.charAt(i) == '\\'; i--) {
            backslashes++;
        }
        return backslashes % 2 == 0;
    }

    private Expr whole() {
        eat('^');
        int end = anchoredAtEnd(src) ? src.length() - 1 : src.length();
        Expr e = alternatives(end);
        if (pos < end) {
            throw error("unbalanced ')'");
        }
        return e;
    }

    private Expr alternatives(int end) {
        List<Expr> options = new ArrayList<>();
        options.add(sequence(end));
        while (pos < end && eat('|')) {
            options.add(sequence(end));
        }
        return Expr.alt(options);
    }

    private Expr sequence(int end) {
        List<Expr> items = new ArrayList<>();
        while (pos < end && peek() != '|' && peek() != ')') {
            Expr atom = atom(end);
            while (pos < end) {
                if (eat('*')) {
                    atom = Expr.star(atom);
                } else if (eat('+')) {
                    atom = new Expr.Repeat(atom, 1, -1);
                } else if (eat('?')) {
                    atom = Expr.optional(atom);
                } else if (eat('{')) {
                    atom = braceRepeat(atom);
                } else {
                    break;
                }
                if (pos < end && peek() == '+') {
                    throw error("possessive quantifiers are not supported");
                }
                eat('?'); // lazy: same language
            }
            items.add(atom);
        }
        return Expr.seq(items);
    }

    private Expr atom(int end) {
        int c = next();
        switch (c) {
            case '(' -> {
                if (eat('?')) {
                    if (eat(':')) {
                        // non-capturing group
                    } else if (eat('<') || (eat('P') && eat('<'))) {
                        if (peek() == '=' || peek() == '!') {
                            throw error("lookbehind is not supported");
                        }
                        while (!atEnd() && peek() != '>') {
                            pos++;
                        }
                        expect('>');
                    } else {
                        throw error("group construct (?" + (atEnd() ? "" : Character.toString(peek()))
                                + " is not supported (lookaround, flags and atomic groups are refused)");
                    }
                }
                Expr inner = alternatives(end);
                expect(')');
                return inner;
            }
            case '[' -> {
                return chars(charClass());
            }
            case '.' -> {
                return chars(CharRanges.complement(LINE_TERMINATORS));
            }
            case '^', '$' -> throw error("anchor " + (char) c + " is only supported at the start (^) or end ($) "
                    + "of the whole pattern");
            case '*', '+', '?', '{' -> throw error("quantifier " + (char) c + " has nothing to repeat");
            case '\\' -> {
                int[] cls = classEscape(next());
                return chars(cls);
            }
            default -> {
                return chars(CharRanges.of(c));
            }
        }
    }

    private Expr chars(int[] set) {
        return encoder.apply(set);
    }

    /** After a backslash: a class escape or a single escaped character, as a set. */
    private int[] classEscape(int e) {
        switch (e) {
            case 'd' -> {
                return DIGIT;
            }
            case 'D' -> {
                return CharRanges.complement(DIGIT);
            }
            case 'w' -> {
                return WORD;
            }
            case 'W' -> {
                return CharRanges.complement(WORD);
            }
            case 's' -> {
                return SPACE;
            }
            case 'S' -> {
                return CharRanges.complement(SPACE);
            }
            default -> {
                int common = commonEscape(e);
                if (common >= 0) {
                    return CharRanges.of(common);
                }
                if (e < 128 && !Character.isLetterOrDigit(e)) {
                    return CharRanges.of(e);
                }
                throw error("escape \\" + Character.toString(e) + " is not supported");
            }
        }
    }

    private int[] charClass() {
        boolean negated = eat('^');
        int[] set = CharRanges.EMPTY;
        boolean first = true;
        while (first || peek() != ']') {
            if (atEnd()) {
                throw error("unterminated character class");
            }
            first = false;
            int c = next();
            if (c == '[' || (c == '&' && peek() == '&')) {
                throw error("nested classes and class intersection are not supported");
            }
            int[] item;
            int single = -1;
            if (c == '\\') {
                item = classEscape(next());
                if (item.length == 2 && item[0] == item[1]) {
                    single = item[0];
                }
            } else {
                single = c;
                item = CharRanges.of(c);
            }
            if (single >= 0 && peek() == '-' && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                pos++;
                int hi = next();
                if (hi == '\\') {
                    int[] h = classEscape(next());
                    if (h.length != 2 || h[0] != h[1]) {
                        throw error("a class escape cannot end a range");
                    }
                    hi = h[0];
                }
                if (hi < single) {
                    throw error("character range " + CharRanges.fmt(single) + "-" + CharRanges.fmt(hi) + " is reversed");
                }
                item = new int[] {single, hi};
            }
            set = CharRanges.union(set, item);
        }
        pos++;
        return negated ? CharRanges.complement(set) : set;
    }
}
