package dev.gantry.worker.model.grammar;

import dev.gantry.worker.model.tokenizer.Tokenizer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Compiles {@link GrammarSpec}s against one tokenizer's vocabulary. The vocabulary trie is built
 * once here and shared by every grammar; compiled grammars are kept in a bounded LRU cache keyed by
 * spec. Thread-safe: requests compile on HTTP threads.
 */
public final class GrammarCompiler {
    /** Compiled grammars kept. */
    public static final int DEFAULT_GRAMMARS = 32;
    /**
     * Memory for one grammar's mask cache (the entry count follows from the vocabulary size: 682
     * masks of 49152 tokens); with {@link #DEFAULT_GRAMMARS}, at most 128 MiB of masks in all.
     */
    public static final long DEFAULT_MASK_CACHE_BYTES = 4L << 20;

    private final Tokenizer tokenizer;
    private final TokenTrie trie;
    private final int maskCacheEntries;
    private final Map<GrammarSpec, CompiledGrammar> cache;

    public GrammarCompiler(Tokenizer tokenizer) {
        this(tokenizer, DEFAULT_GRAMMARS,
                (int) Math.max(64, DEFAULT_MASK_CACHE_BYTES / ((tokenizer.vocabSize() + 63) / 64 * 8L)));
    }

    /**
     * @param maxGrammars compiled grammars kept (LRU)
     * @param maskCacheEntries token masks each grammar keeps (LRU); 0 disables the mask cache
     */
    public GrammarCompiler(Tokenizer tokenizer, int maxGrammars, int maskCacheEntries) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.trie = new TokenTrie(tokenizer);
        this.maskCacheEntries = maskCacheEntries;
        this.cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<GrammarSpec, CompiledGrammar> eldest) {
                return size() > maxGrammars;
            }
        };
    }

    /** The tokenizer whose vocabulary the grammars are compiled against. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The compiled grammar for {@code spec}, from the cache or compiled now. */
    public CompiledGrammar compile(GrammarSpec spec) throws GrammarException {
        Objects.requireNonNull(spec, "spec");
        synchronized (cache) {
            CompiledGrammar cached = cache.get(spec);
            if (cached != null && !cached.oversized()) {
                return cached;
            }
            // an oversized grammar keeps serving the matchers that hold it; new requests get a fresh one
            cache.remove(spec);
        }
        // compiled outside the lock: a slow schema must not hold up other requests
        CompiledGrammar compiled = new CompiledGrammar(grammar(spec), trie, maskCacheEntries);
        synchronized (cache) {
            return cache.computeIfAbsent(spec, s -> compiled);
        }
    }

    /** The grammar of a spec, before it meets a vocabulary. */
    static Grammar grammar(GrammarSpec spec) {
        return switch (spec) {
            case GrammarSpec.JsonSchema s -> JsonSchemaGrammar.of(s.schema());
            case GrammarSpec.AnyJsonObject o -> JsonGrammar.anyObject();
            case GrammarSpec.Regex r -> single(RegexParser.parse(r.pattern()));
            case GrammarSpec.Choice c -> single(choice(c.choices()));
            case GrammarSpec.Gbnf g -> GbnfParser.parse(g.grammar());
        };
    }

    private static Expr choice(List<String> choices) {
        if (choices.isEmpty()) {
            throw new GrammarException("guided_choice needs at least one choice");
        }
        return Expr.alt(choices.stream().map(Expr::literal).toList());
    }

    private static Grammar single(Expr root) {
        return new GrammarBuilder().define("root", root).build("root");
    }
}
