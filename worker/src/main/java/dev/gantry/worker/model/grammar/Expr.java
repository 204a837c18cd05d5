package dev.gantry.worker.model.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * The grammar expression tree every front end produces (GBNF, regex, choice, JSON Schema) before
 * {@link GrammarBuilder} lowers it into flat rules. Repetition and nested alternatives exist only
 * here; the recognizer sees plain sequences.
 */
sealed interface Expr {
    /** One code point from a set ({@link CharRanges} form). */
    record Chars(int[] ranges) implements Expr {}

    /** The parts one after another; the empty sequence matches the empty string. */
    record Seq(List<Expr> parts) implements Expr {}

    /** Any one of the options. */
    record Alt(List<Expr> options) implements Expr {}

    /** {@code min} to {@code max} repetitions; {@code max < 0} means unbounded. */
    record Repeat(Expr body, int min, int max) implements Expr {}

    /** A reference to a named rule. */
    record Ref(String name) implements Expr {}

    Expr EMPTY = new Seq(List.of());

    static Expr chars(int[] ranges) {
        return new Chars(ranges);
    }

    static Expr literal(String text) {
        List<Expr> parts = new ArrayList<>();
        text.codePoints().forEach(cp -> parts.add(new Chars(CharRanges.of(cp))));
        return parts.size() == 1 ? parts.get(0) : new Seq(parts);
    }

    static Expr seq(Expr... parts) {
        return new Seq(List.of(parts));
    }

    static Expr seq(List<Expr> parts) {
        return parts.size() == 1 ? parts.get(0) : new Seq(List.copyOf(parts));
    }

    static Expr alt(Expr... options) {
        return alt(List.of(options));
    }

    static Expr alt(List<Expr> options) {
        return options.size() == 1 ? options.get(0) : new Alt(List.copyOf(options));
    }

    static Expr optional(Expr body) {
        return new Repeat(body, 0, 1);
    }

    static Expr star(Expr body) {
        return new Repeat(body, 0, -1);
    }

    static Expr ref(String name) {
        return new Ref(name);
    }
}
