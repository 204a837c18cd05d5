package dev.gantry.worker.model.grammar;

/**
 * What the GBNF and regex parsers share: a cursor over code points, errors that say where, the
 * {@code {m,n}} bound syntax and hexadecimal escapes.
 */
abstract class TextParser {
    /** Largest repetition bound accepted, so {@code x{1000000}} cannot blow up the grammar. */
    static final int MAX_REPEAT = 10_000;

    protected final String src;
    protected int pos;
    private final String what;

    TextParser(String src, String what) {
        this.src = src;
        this.what = what;
    }

    protected boolean atEnd() {
        return pos >= src.length();
    }

    protected int peek() {
        return atEnd() ? -1 : src.codePointAt(pos);
    }

    protected int next() {
        if (atEnd()) {
            throw error("unexpected end of input");
        }
        int cp = src.codePointAt(pos);
        pos += Character.charCount(cp);
        return cp;
    }

    protected boolean eat(char c) {
        if (peek() == c) {
            pos++;
            return true;
        }
        return false;
    }

    protected void expect(char c) {
        if (!eat(c)) {
            throw error("expected '" + c + "'" + (atEnd() ? " but the input ended" : ""));
        }
    }

    protected GrammarException error(String message) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < Math.min(pos, src.length()); i++) {
            if (src.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new GrammarException(what + " error at line " + line + ", column " + col + ": " + message);
    }

    /** After a consumed '{': {@code m}, {@code m,}, {@code m,n} or {@code ,n} then '}', as a Repeat. */
    protected Expr braceRepeat(Expr body) {
        int min = number(0);
        int max = min;
        if (eat(',')) {
            max = Character.isDigit(peek()) ? number(-1) : -1;
        }
        expect('}');
        if (max >= 0 && max < min) {
            throw error("repetition {" + min + "," + max + "} has its maximum below its minimum");
        }
        return new Expr.Repeat(body, min, max);
    }

    private int number(int absent) {
        int start = pos;
        while (Character.isDigit(peek())) {
            pos++;
        }
        if (start == pos) {
            return absent;
        }
        long n = Long.parseLong(src.substring(start, Math.min(pos, start + 12)));
        if (n > MAX_REPEAT || pos - start > 12) {
            throw error("repetition bound " + src.substring(start, pos) + " is above the limit " + MAX_REPEAT);
        }
        return (int) n;
    }

    /** {@code digits} hexadecimal digits as a code point. */
    protected int hex(int digits) {
        int cp = 0;
        for (int i = 0; i < digits; i++) {
            int d = Character.digit(peek(), 16);
            if (d < 0) {
                throw error("expected " + digits + " hexadecimal digits");
            }
            pos++;
            cp = cp * 16 + d;
        }
        if (cp > CharRanges.MAX) {
            throw error("code point " + Integer.toHexString(cp) + " is beyond U+10FFFF");
        }
        return cp;
    }

    /** The single-character escapes both syntaxes share (after the backslash), or -1. */
    protected int commonEscape(int c) {
        return switch (c) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'f' -> '\f';
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            default -> -1;
        };
    }
}
