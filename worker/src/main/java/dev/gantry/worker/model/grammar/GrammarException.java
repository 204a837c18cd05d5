package dev.gantry.worker.model.grammar;

/**
 * A grammar, regular expression, choice list or JSON Schema that cannot be compiled: a syntax error,
 * an unsupported construct or keyword (the message names it and, for JSON Schema, its JSON path),
 * left recursion, or a grammar too large. The server answers it with HTTP 400.
 *
 * <p>Unchecked so that the front ends can throw it from deep inside recursive descent; the public
 * entry points still declare it.
 */
public class GrammarException extends RuntimeException {
    public GrammarException(String message) {
        super(message);
    }
}
