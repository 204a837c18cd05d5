package dev.gantry.worker.model.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * llama.cpp's GBNF: {@code name ::= alternatives} rules, {@code "literals"}, {@code [a-z]} and
 * {@code [^...]} classes, {@code .}, groups, {@code | * + ? {m} {m,} {m,n}}, {@code #} comments and
 * the escapes {@code \n \r \t \f \\ \" \' \[ \] \- \^ \xHH &#92;uHHHH &#92;UHHHHHHHH}. The start rule is
 * {@code root}. Unlike llama.cpp, line breaks never end a rule: a rule ends where the next
 * {@code name ::=} begins, so alternatives may start lines freely. Token references
 * ({@code <[id]>}) are not supported.
 */
final class GbnfParser extends TextParser {
    private final GrammarBuilder builder = new GrammarBuilder();

    private GbnfParser(String src) {
        super(src, "GBNF syntax");
    }

    static Grammar parse(String text) {
        return new GbnfParser(text).grammar();
    }

    private Grammar grammar() {
        skipSpace();
        if (atEnd()) {
            throw new GrammarException("the GBNF grammar is empty: it needs at least a rule \"root ::= ...\"");
        }
        while (!atEnd()) {
            String name = name();
            if (name.isEmpty()) {
                throw error("expected a rule name");
            }
            skipSpace();
            if (!src.startsWith("::=", pos)) {
                throw error("expected '::=' after rule name \"" + name + "\"");
            }
            pos += 3;
            skipSpace();
            if (builder.isDefined(name)) {
                throw error("rule \"" + name + "\" is defined twice");
            }
            builder.define(name, alternatives());
        }
        return builder.build("root");
    }

    private Expr alternatives() {
        List<Expr> options = new ArrayList<>();
        options.add(sequence());
        while (eat('|')) {
            skipSpace();
            options.add(sequence());
        }
        return Expr.alt(options);
    }

    private Expr sequence() {
        List<Expr> items = new ArrayList<>();
        while (!atEnd() && peek() != '|' && peek() != ')' && !atRuleStart()) {
            Expr item = primary();
            skipSpace();
            while (true) {
                if (eat('*')) {
                    item = Expr.star(item);
                } else if (eat('+')) {
                    item = new Expr.Repeat(item, 1, -1);
                } else if (eat('?')) {
                    item = Expr.optional(item);
                } else if (eat('{')) {
                    skipSpace();
                    item = braceRepeat(item);
                } else {
                    break;
                }
                skipSpace();
            }
            items.add(item);
        }
        return Expr.seq(items);
    }

    private boolean atRuleStart() {
        int save = pos;
        try {
            if (name().isEmpty()) {
                return false;
            }
            skipSpace();
            return src.startsWith("::=", pos);
        } finally {
            pos = save;
        }
    }

    private Expr primary() {
        int c = peek();
        if (c == '"') {
            pos++;
            List<Expr> chars = new ArrayList<>();
            while (peek() != '"') {
                if (atEnd()) {
                    throw error("unterminated string literal");
                }
                chars.add(Expr.chars(CharRanges.of(charOrEscape())));
            }
            pos++;
            return Expr.seq(chars);
        }
        if (c == '[') {
            pos++;
            return Expr.chars(charClass());
        }
        if (c == '(') {
            pos++;
            skipSpace();
            Expr inner = alternatives();
            expect(')');
            return inner;
        }
        if (c == '.') {
            pos++;
            return Expr.chars(CharRanges.ANY);
        }
        if (c == '<') {
            throw error("token references (<...>) are not supported");
        }
        String name = name();
        if (name.isEmpty()) {
            throw error("unexpected " + (c < 0 ? "end of input" : "character " + CharRanges.fmt(c)));
        }
        return Expr.ref(name);
    }

    private int[] charClass() {
        boolean negated = eat('^');
        List<Integer> ranges = new ArrayList<>();
        while (peek() != ']') {
            if (atEnd()) {
                throw error("unterminated character class");
            }
            int lo = charOrEscape();
            int hi = lo;
            if (peek() == '-' && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                pos++;
                hi = charOrEscape();
                if (hi < lo) {
                    throw error("character range " + CharRanges.fmt(lo) + "-" + CharRanges.fmt(hi) + " is reversed");
                }
            }
            ranges.add(lo);
            ranges.add(hi);
        }
        pos++;
        int[] set = CharRanges.normalize(ranges.stream().mapToInt(Integer::intValue).toArray());
        return negated ? CharRanges.complement(set) : set;
    }

    private int charOrEscape() {
        int c = next();
        if (c != '\\') {
            return c;
        }
        int e = next();
        int common = commonEscape(e);
        if (common >= 0) {
            return common;
        }
        return switch (e) {
            case 'U' -> hex(8);
            case '\\', '"', '\'', '[', ']', '-', '^', '/' -> e;
            default -> throw error("unknown escape \\" + Character.toString(e));
        };
    }

    private String name() {
        int start = pos;
        while (!atEnd()) {
            char c = src.charAt(pos);
            if (Character.isLetterOrDigit(c) && c < 128 || c == '-' || c == '_') {
                pos++;
            } else {
                break;
            }
        }
        return src.substring(start, pos);
    }

    private void skipSpace() {
        while (!atEnd()) {
            char c = src.charAt(pos);
            if (c == '#') {
                while (!atEnd() && src.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (Character.isWhitespace(c)) {
                pos++;
            } else {
                break;
            }
        }
    }
}
