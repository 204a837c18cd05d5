/**
 * Constrained decoding: the output of a sequence is held to a grammar, token by token, the way
 * vLLM's structured outputs do ({@code response_format} {@code json_object}/{@code json_schema},
 * {@code guided_json}, {@code guided_regex}, {@code guided_choice}, {@code guided_grammar}).
 *
 * <h2>API</h2>
 * <pre>{@code
 * GrammarCompiler compiler = new GrammarCompiler(tokenizer);       // one per tokenizer, thread-safe
 * CompiledGrammar g = compiler.compile(spec);                        // GrammarException -> HTTP 400; LRU-cached by spec
 * GrammarMatcher m = g.newMatcher();                                 // one per sequence, one thread
 * m.maskLogits(logits, offset, vocabSize);                           // refused tokens -> -Infinity
 * long[] allowed = m.allowedTokens();                                // or the same as a bitset, for a device
 * m.accept(sampledToken);                                            // false (and no change) if refused
 * if (m.isTerminated()) { ... end the sequence ... }                 // complete, nothing can follow
 * }</pre>
 * {@link dev.gantry.worker.model.grammar.GrammarSpec} is one of {@code JsonSchema(JsonNode)},
 * {@code AnyJsonObject()}, {@code Regex(String)}, {@code Choice(List<String>)}, {@code Gbnf(String)}.
 * End-of-generation tokens are allowed exactly when the text so far is a complete match
 * ({@code isAccepting()}); other control tokens never are. A matcher can be copied
 * ({@code copy()}) for look-ahead.
 *
 * <h2>Design</h2>
 * Every front end (GBNF, regex, choice, JSON Schema) builds an expression tree that
 * {@code GrammarBuilder} lowers to llama.cpp-style flat rules: alternatives of sequences of
 * character sets and rule references, with repetition compiled into right-recursive helper rules.
 * Left recursion is refused at compile time (the recognizer expands rules leftmost and would not
 * terminate). Cycles of tail references only, as in {@code (x?)*}, grow no stack and are allowed:
 * an expansion skips a stack it has already expanded.
 * <p>
 * The recognizer ({@code StackStore}) is a pushdown automaton over Unicode code points whose
 * state is a set of stacks of grammar positions, as in llama.cpp. Stacks are hash-consed linked
 * lists and state sets are interned, so a position is two ints (state id, pending UTF-8 bytes),
 * the successors of every stack are computed once, and ASCII transitions are a table lookup.
 * Popping at the end of an alternative happens when a stack is made (tail calls), so repetition
 * and right recursion run in constant depth. Byte-level BPE tokens may end inside a multibyte
 * character: the partial bytes stay in the position, and a byte is refused as soon as no allowed
 * character can begin with the bytes seen (surrogates and overlong forms never can).
 * <p>
 * Masks: all token byte strings of the vocabulary form one trie ({@code TokenTrie}, built once per
 * tokenizer, shared by its grammars), laid out in depth-first preorder. A mask is one pass over
 * the trie stepping the recognizer per node and skipping a whole subtree as soon as its prefix is
 * refused; a subtree whose bytes are all ASCII characters that leave the state unchanged (the
 * inside of a JSON string) is taken whole without stepping. Each compiled grammar caches masks by
 * position (bounded LRU, 4 MiB each), since JSON decoding keeps returning to the same positions:
 * inside a string, after a comma, after a key. On SmolLM2's 49152-token vocabulary (100k trie
 * nodes), decoding a 62-token JSON document ({@code GrammarBenchmark}, a main in the test sources)
 * costs about 0.1 ms per mask with the cache off and about 10 us per mask (mostly writing the
 * logits) once warm, on a loaded 2-core build host. The compiler replaces a cached grammar whose
 * recognizer tables outgrew their bound (ever deeper nesting); matchers holding it keep it.
 * <p>
 * Invariants: a compiled grammar never changes its language (caches only memoize); a matcher's
 * {@code accept} agrees with its mask bit for bit (tested against trying every token byte by
 * byte); the recognizer's interned tables grow with the distinct positions visited and are shared
 * by every request with the same spec (locked per mask and per token, never per byte).
 *
 * <h2>JSON</h2>
 * Whitespace between tokens is nothing, one space, or a newline followed by up to 20 spaces or
 * tabs. That allows compact output, {@code ", "} and {@code ": "}, and pretty printing (two-space
 * indentation up to ten levels), while a model can emit at most 21 whitespace characters in a row,
 * so it cannot loop forever in whitespace. No whitespace before or after the top-level value: the
 * sequence ends with the closing brace. Strings admit any character except {@code "}, {@code \}
 * and U+0000-U+001F raw, and the JSON escapes. Objects list their properties in schema order;
 * required ones always appear, optional ones may be skipped; no other property appears.
 * {@code enum} and {@code const} values are written compactly, as Jackson serializes them.
 *
 * <h2>JSON Schema subset</h2>
 * Supported: {@code type} (a name or an array of names; {@code string number integer boolean null
 * object array}), {@code nullable}, {@code enum}, {@code const}, {@code anyOf}, {@code oneOf}
 * (generated as anyOf), {@code allOf} with one schema, {@code $ref} to {@code #},
 * {@code #/$defs/NAME} or {@code #/definitions/NAME} (recursion allowed), {@code properties},
 * {@code required}, {@code additionalProperties} (false, or absent, with {@code properties}: only
 * the listed ones; without {@code properties}: true/absent = any object, false = {@code {}}, a
 * schema = any keys with values of that schema), {@code items}, {@code prefixItems}
 * ({@code items: false} closes the tuple), {@code minItems}, {@code maxItems},
 * {@code uniqueItems: false}, {@code minLength}, {@code maxLength}, {@code pattern} (the regex
 * subset below; searched unless anchored {@code ^...$}; characters that JSON must escape are generated
 * as escapes), {@code format} {@code date}, {@code time}, {@code date-time}
 * (RFC 3339; February 29 is accepted in every year), {@code uuid}, {@code ipv4}; {@code minimum},
 * {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum} on integers (exact, digit by
 * digit, bounds up to 10^17); {@code minimum}/{@code maximum} with integral values on numbers
 * (exact: such numbers are generated without an exponent, and at a bound only zeros may follow
 * the point). Annotations are ignored: {@code title description default examples
 * $schema $id $comment deprecated readOnly writeOnly $defs definitions}. Without {@code type}, the
 * type is inferred from the keywords present (e.g. {@code properties} makes an object), which is
 * stricter than JSON Schema, never looser. Keywords of a type not among the allowed ones do not
 * apply, as in JSON Schema.
 * <p>
 * Refused with a {@link dev.gantry.worker.model.grammar.GrammarException} naming the keyword and
 * its JSON path (for example {@code unsupported JSON Schema keyword "patternProperties" at
 * #/properties/a}): every other keyword ({@code not}, {@code if}/{@code then}/{@code else},
 * {@code patternProperties}, {@code propertyNames}, {@code minProperties},
 * {@code maxProperties}, {@code dependentRequired}, {@code multipleOf}, {@code contains},
 * {@code uniqueItems: true}...), fractional {@code minimum}/{@code maximum} and
 * {@code exclusiveMinimum}/{@code exclusiveMaximum} on {@code number}, other
 * formats ({@code email}, {@code uri}...), {@code additionalProperties} other than false beside
 * {@code properties}, {@code required} naming an unlisted property, {@code allOf} with several
 * schemas, keywords beside {@code $ref}/{@code anyOf}/{@code oneOf}/{@code allOf}, constraint
 * keywords beside {@code enum}/{@code const} (only {@code type} and {@code nullable}, which filter
 * the values, may stand beside them), external
 * {@code $ref}s, the draft-4 tuple form of {@code items}, combining {@code pattern},
 * {@code format} and {@code minLength}/{@code maxLength} in one schema, bounds above 10000 for
 * lengths and item counts, and the schema {@code false}.
 *
 * <h2>Regex subset</h2>
 * Literals, {@code . \d \D \w \W \s \S}, escapes, classes with ranges and negation, groups
 * {@code ( ) (?: ) (?<name> )}, alternation, {@code * + ? {m} {m,} {m,n}} (lazy forms accepted);
 * {@code ^} and {@code $} only as anchors of the whole pattern. Semantics of
 * {@code java.util.regex.Pattern} without flags ({@code .} excludes line terminators, classes are
 * ASCII). Refused: other anchors, word boundaries, back references, lookaround, possessive
 * quantifiers, inline flags, Unicode properties, nested classes.
 *
 * <h2>GBNF</h2>
 * llama.cpp's syntax, start rule {@code root}; line breaks never end a rule early (the next
 * {@code name ::=} does). Token references ({@code <[id]>}) are not supported.
 */
package dev.gantry.worker.model.grammar;
