package dev.gantry.worker.model.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lowers named {@link Expr} rules into a flat {@link Grammar}: nested alternatives become helper
 * rules, {@code x*} becomes {@code x-star ::= x x-star | ε} (right recursion, which the recognizer
 * runs in constant stack depth thanks to tail calls), and {@code x{m,n}} becomes m copies of x
 * followed by a chain of n-m nested optionals. Then refuses undefined rules and left recursion,
 * which would make the recognizer's expansion loop forever.
 */
final class GrammarBuilder {
    /** Upper bound on grammar elements, so a huge {@code {m,n}} or schema cannot exhaust memory. */
    static final int MAX_ELEMENTS = 500_000;

    private final Map<String, Integer> ruleIds = new LinkedHashMap<>();
    private final List<String> names = new ArrayList<>();
    private final List<List<int[]>> alts = new ArrayList<>(); // per rule, per alternative: packed elements
    private final List<Boolean> defined = new ArrayList<>();
    private final Map<IntsKey, Integer> charsetIds = new HashMap<>();
    private final List<int[]> charsets = new ArrayList<>();
    private int elements;

    /** Defines (or completes a forward reference to) the rule {@code name}. */
    GrammarBuilder define(String name, Expr body) {
        int id = ruleId(name);
        if (defined.get(id)) {
            throw new GrammarException("rule \"" + name + "\" is defined twice");
        }
        defined.set(id, true);
        List<int[]> ruleAlts = alts.get(id);
        List<Expr> options = body instanceof Expr.Alt a ? a.options() : List.of(body);
        for (Expr option : options) {
            List<Integer> seq = new ArrayList<>();
            lower(name, option, seq);
            ruleAlts.add(seq.stream().mapToInt(Integer::intValue).toArray());
        }
        return this;
    }

    boolean isDefined(String name) {
        Integer id = ruleIds.get(name);
        return id != null && defined.get(id);
    }

    private int ruleId(String name) {
        Integer id = ruleIds.get(name);
        if (id == null) {
            id = names.size();
            ruleIds.put(name, id);
            names.add(name);
            alts.add(new ArrayList<>());
            defined.add(false);
        }
        return id;
    }

    private String helperName(String base) {
        String name = base + "-" + names.size();
        while (ruleIds.containsKey(name)) {
            name = name + "_";
        }
        return name;
    }

    // Elements are packed as kind << 28 | arg until build() lays them out.
    private void lower(String owner, Expr e, List<Integer> out) {
        if (++elements > MAX_ELEMENTS) {
            throw new GrammarException("grammar too large (more than " + MAX_ELEMENTS + " elements)");
        }
        switch (e) {
            case Expr.Chars c -> out.add(Grammar.CHARS << 28 | charsetId(c.ranges()));
            case Expr.Ref r -> out.add(Grammar.REF << 28 | ruleId(r.name()));
            case Expr.Seq s -> s.parts().forEach(p -> lower(owner, p, out));
            case Expr.Alt a -> {
                String helper = helperName(owner);
                define(helper, a);
                out.add(Grammar.REF << 28 | ruleId(helper));
            }
            case Expr.Repeat r -> lowerRepeat(owner, r, out);
        }
    }

    private void lowerRepeat(String owner, Expr.Repeat r, List<Integer> out) {
        if (r.max() >= 0 && r.max() < r.min()) {
            throw new GrammarException("invalid repetition {" + r.min() + "," + r.max() + "}: maximum below minimum");
        }
        Expr body = r.body();
        boolean simple = body instanceof Expr.Chars || body instanceof Expr.Ref;
        if (!simple && (r.min() > 1 || r.max() != 1)) {
            String helper = helperName(owner);
            define(helper, body);
            body = Expr.ref(helper);
        }
        for (int i = 0; i < r.min(); i++) {
            lower(owner, body, out);
        }
        if (r.max() < 0) {
            String star = helperName(owner);
            define(star, Expr.alt(Expr.seq(body, Expr.ref(star)), Expr.EMPTY));
            out.add(Grammar.REF << 28 | ruleId(star));
        } else if (r.max() > r.min()) {
            String previous = null;
            for (int k = 1; k <= r.max() - r.min(); k++) {
                String opt = helperName(owner);
                Expr first = previous == null ? body : Expr.seq(body, Expr.ref(previous));
                define(opt, Expr.alt(first, Expr.EMPTY));
                previous = opt;
            }
            out.add(Grammar.REF << 28 | ruleId(previous));
        }
    }

    private int charsetId(int[] ranges) {
        return charsetIds.computeIfAbsent(new IntsKey(ranges), k -> {
            charsets.add(ranges);
            return charsets.size() - 1;
        });
    }

    /** The flat grammar rooted at {@code root}; refuses undefined rules and left recursion. */
    Grammar build(String root) {
        if (!isDefined(root)) {
            throw new GrammarException("the grammar has no rule \"" + root + "\"");
        }
        for (int r = 0; r < names.size(); r++) {
            if (!defined.get(r)) {
                throw new GrammarException("undefined rule \"" + names.get(r) + "\"");
            }
        }
        int total = 0;
        for (List<int[]> ruleAlts : alts) {
            for (int[] seq : ruleAlts) {
                total += seq.length + 1;
            }
        }
        int[] kind = new int[total];
        int[] arg = new int[total];
        int[][] starts = new int[names.size()][];
        int pc = 0;
        for (int r = 0; r < names.size(); r++) {
            List<int[]> ruleAlts = alts.get(r);
            starts[r] = new int[ruleAlts.size()];
            for (int a = 0; a < ruleAlts.size(); a++) {
                starts[r][a] = pc;
                for (int packed : ruleAlts.get(a)) {
                    kind[pc] = packed >>> 28;
                    arg[pc++] = packed & 0x0FFFFFFF;
                }
                kind[pc++] = Grammar.END;
            }
        }
        Grammar g = new Grammar(kind, arg, starts, names.toArray(String[]::new), charsets.toArray(int[][]::new),
                ruleIds.get(root));
        refuseLeftRecursion(g);
        return g;
    }

    /**
     * Refuses a rule that can reach itself at its leftmost position (through rules that may match
     * nothing) with something still to follow: each trip round such a cycle would push a stack
     * frame without consuming a character. Cycles made only of tail references, such as
     * {@code (x?)*}, push nothing and are allowed; the recognizer's expansion skips them when they
     * come round again.
     */
    private static void refuseLeftRecursion(Grammar g) {
        int n = g.ruleCount();
        boolean[] nullable = new boolean[n];
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int r = 0; r < n; r++) {
                if (!nullable[r] && anyAltNullable(g, r, nullable)) {
                    nullable[r] = true;
                    changed = true;
                }
            }
        }
        List<List<Integer>> leftmost = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            List<Integer> refs = new ArrayList<>();
            for (int start : g.ruleAlts[r]) {
                for (int pc = start; g.kind[pc] == Grammar.REF; pc++) {
                    refs.add(pc);
                    if (!nullable[g.arg[pc]]) {
                        break;
                    }
                }
            }
            leftmost.add(refs);
        }
        for (int r = 0; r < n; r++) {
            for (int pc : leftmost.get(r)) {
                if (g.kind[pc + 1] != Grammar.END) { // a growing edge r -> s: is r reachable back from s?
                    int[] path = path(g, leftmost, g.arg[pc], r);
                    if (path != null) {
                        StringBuilder cycle = new StringBuilder(g.ruleNames[r]);
                        for (int x : path) {
                            cycle.append(" -> ").append(g.ruleNames[x]);
                        }
                        throw new GrammarException("left recursion: rule \"" + g.ruleNames[r] + "\" can reach itself "
                                + "without consuming a character (" + cycle + "); rewrite it with repetition or right "
                                + "recursion");
                    }
                }
            }
        }
    }

    /** The rules from {@code from} to {@code to} along leftmost references (breadth first), or null. */
    private static int[] path(Grammar g, List<List<Integer>> leftmost, int from, int to) {
        int[] parent = new int[g.ruleCount()];
        Arrays.fill(parent, -2);
        parent[from] = -1;
        ArrayDeque<Integer> queue = new ArrayDeque<>(List.of(from));
        while (!queue.isEmpty()) {
            int r = queue.poll();
            if (r == to) {
                List<Integer> rules = new ArrayList<>();
                for (int x = r; x >= 0; x = parent[x]) {
                    rules.add(0, x);
                }
                return rules.stream().mapToInt(Integer::intValue).toArray();
            }
            for (int pc : leftmost.get(r)) {
                int s = g.arg[pc];
                if (parent[s] == -2) {
                    parent[s] = r;
                    queue.add(s);
                }
            }
        }
        return null;
    }

    private static boolean anyAltNullable(Grammar g, int r, boolean[] nullable) {
        for (int start : g.ruleAlts[r]) {
            int pc = start;
            while (g.kind[pc] == Grammar.REF && nullable[g.arg[pc]]) {
                pc++;
            }
            if (g.kind[pc] == Grammar.END) {
                return true;
            }
        }
        return false;
    }
}
