package dev.gantry.worker.model.tokenizer;

import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the words byte-level BPE merges within, chosen by {@code tokenizer.ggml.pre}
 * as llama.cpp chooses. A pre-tokenizer is a sequence of steps; each step splits every piece the
 * previous steps left, keeping both what its pattern matches and the text between matches.
 *
 * <p>The GPT-2 and Llama 3 patterns are hand-written scanners, as in llama.cpp (they are the
 * common ones, and its scanners differ from a regex engine in corner cases that change token ids);
 * the others run as Java regular expressions with Unicode {@code \s}, which is the whitespace set
 * llama.cpp uses.
 */
final class PreTokenizer {
    private static final System.Logger LOG = System.getLogger(PreTokenizer.class.getName());

    private static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    private static final String QWEN2_PATTERN = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private static final Set<String> LLAMA3 = Set.of("llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1",
            "pixtral", "midm-2.0", "lfm2");
    private static final Set<String> LLAMA3_REGEX = Set.of("dbrx", "smaug-bpe");
    private static final Set<String> GPT2 = Set.of("gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
            "jina-v2-de", "a.x-4.0", "mellum", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4",
            "jina-v1-en", "jina-v2-code", "roberta-bpe", "modern-bert");
    private static final Set<String> QWEN2 = Set.of("qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez");
    private static final Set<String> DIGITS_THEN_GPT2 = Set.of("smollm", "starcoder", "refact", "command-r",
            "codeshell", "exaone", "minerva-7b");

    private final String name;
    private final List<Step> steps;
    private final boolean ignoreMerges;
    private final boolean addBosDefault;

    private PreTokenizer(String name, List<Step> steps, boolean ignoreMerges, boolean addBosDefault) {
        this.name = name;
        this.steps = steps;
        this.ignoreMerges = ignoreMerges;
        this.addBosDefault = addBosDefault;
    }

    /**
     * The pre-tokenizer named by {@code tokenizer.ggml.pre}. A missing name means llama.cpp's
     * "default"; a name not known here falls back to GPT-2's pattern with a warning (llama.cpp
     * refuses the model), since most byte-level vocabularies split close to it.
     */
    static PreTokenizer forName(String pre, String source) {
        if (pre == null || pre.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, "{0}: tokenizer.ggml.pre is missing, using the \"default\" "
                    + "pre-tokenizer; tokenization may differ from the model''s training", source);
            pre = "default";
        }
        if (pre.equals("default")) {
            return new PreTokenizer(pre, List.of(regex("[\\p{P}\\$\\+<=>\\^~\\|]+"), PreTokenizer::gpt2,
                    regex("\\p{N}+"), regex("[0-9][0-9][0-9]")), false, false);
        }
        if (LLAMA3.contains(pre)) {
            return new PreTokenizer(pre, List.of(PreTokenizer::llama3), true, true);
        }
        if (LLAMA3_REGEX.contains(pre)) {
            return new PreTokenizer(pre, List.of(PreTokenizer::llama3), false, false);
        }
        if (GPT2.contains(pre)) {
            return new PreTokenizer(pre, List.of(PreTokenizer::gpt2), false, false);
        }
        if (QWEN2.contains(pre)) {
            return new PreTokenizer(pre, List.of(regex(QWEN2_PATTERN)), false, false);
        }
        if (DIGITS_THEN_GPT2.contains(pre)) {
            return new PreTokenizer(pre, List.of(regex("\\p{N}"), PreTokenizer::gpt2), false, false);
        }
        if (pre.equals("falcon")) {
            return new PreTokenizer(pre, List.of(regex("[\\p{P}\\$\\+<=>\\^~\\|`]+"), PreTokenizer::gpt2,
                    regex("[0-9][0-9][0-9]")), false, false);
        }
        LOG.log(System.Logger.Level.WARNING, "{0}: unknown pre-tokenizer \"{1}\" (tokenizer.ggml.pre), splitting "
                + "text with GPT-2''s pattern instead; tokenization may differ from the model''s training", source, pre);
        return new PreTokenizer(pre, List.of(PreTokenizer::gpt2), false, false);
    }

    String name() {
        return name;
    }

    /** Whether a word that is itself a token skips the merges (Llama 3's tokenizer does this). */
    boolean ignoreMerges() {
        return ignoreMerges;
    }

    boolean addBosDefault() {
        return addBosDefault;
    }

    /** The words of {@code text}, as the end offsets of consecutive pieces. */
    IntList split(String text) {
        IntList ends = new IntList(4);
        ends.add(text.length());
        for (Step step : steps) {
            IntList next = new IntList(ends.size() * 2 + 4);
            int start = 0;
            for (int i = 0; i < ends.size(); i++) {
                int end = ends.get(i);
                step.split(text, start, end, next);
                start = end;
            }
            ends = next;
        }
        return ends;
    }

    /** Splits {@code text[start, end)}, adding the end offset of each piece to {@code out}. */
    @FunctionalInterface
    private interface Step {
        void split(String text, int start, int end, IntList out);
    }

    private static Step regex(String pattern) {
        Pattern p = Pattern.compile(pattern, Pattern.UNICODE_CHARACTER_CLASS);
        return (text, start, end, out) -> {
            // a region with opaque bounds sees its piece as the whole input, as llama.cpp's
            // std::regex does: lookahead stops at the piece's end
            Matcher m = p.matcher(text).region(start, end);
            int last = start;
            while (m.find()) {
                if (m.end() == m.start()) {
                    continue;
                }
                if (m.start() > last) {
                    out.add(m.start());
                }
                out.add(m.end());
                last = m.end();
            }
            if (last < end) {
                out.add(end);
            }
        };
    }

    // The scanners below walk code points. Their character classes are llama.cpp's: Unicode
    // letters and numbers, the White_Space set, and "anything else that is assigned".

    private static boolean isLetter(int cp) {
        return cp >= 0 && Character.isLetter(cp);
    }

    private static boolean isNumber(int cp) {
        if (cp < 0) {
            return false;
        }
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    private static boolean isSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /** Assigned and neither a letter, a number nor whitespace: {@code [^\s\p{L}\p{N}]}. */
    private static boolean isOther(int cp) {
        return cp >= 0 && !isSpace(cp) && !isLetter(cp) && !isNumber(cp) && Character.getType(cp) != Character.UNASSIGNED;
    }

    /** A cursor over one piece: code points by char offset, -1 outside the piece. */
    private static final class Scan {
        final String text;
        final int end;

        Scan(String text, int end) {
            this.text = text;
            this.end = end;
        }

        int at(int pos) {
            return pos < end ? text.codePointAt(pos) : -1;
        }

        int next(int pos) {
            return pos + Character.charCount(text.codePointAt(pos));
        }
    }

    /** How many chars a contraction ('s 't 're 've 'm 'll 'd) at {@code pos} takes, or 0. */
    private static int contraction(Scan s, int pos, boolean anyCase) {
        if (s.at(pos) != '\'' || pos + 1 >= s.end) {
            return 0;
        }
        int c1 = fold(s.at(pos + 1), anyCase);
        if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
            return 2;
        }
        if (pos + 2 < s.end) {
            int c2 = fold(s.at(pos + 2), anyCase);
            if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                return 3;
            }
        }
        return 0;
    }

    private static int fold(int cp, boolean anyCase) {
        return anyCase && cp >= 0 ? Character.toLowerCase(cp) : cp;
    }

    /** {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}. */
    private static void gpt2(String text, int start, int end, IntList out) {
        Scan s = new Scan(text, end);
        int pos = start;
        while (pos < end) {
            int cp = s.at(pos);
            int c = contraction(s, pos, false);
            if (c > 0) {
                pos += c;
                out.add(pos);
                continue;
            }
            int body = cp == ' ' ? pos + 1 : pos; // the optional leading space
            int first = s.at(body);
            if (first >= 0 && (isLetter(first) || isNumber(first) || isOther(first))) {
                int kind = isLetter(first) ? 0 : isNumber(first) ? 1 : 2;
                int p = body;
                while (p < end && kindOf(s.at(p)) == kind) {
                    p = s.next(p);
                }
                pos = p;
                out.add(pos);
                continue;
            }
            pos = whitespace(s, pos, out);
        }
    }

    private static int kindOf(int cp) {
        return isLetter(cp) ? 0 : isNumber(cp) ? 1 : isOther(cp) ? 2 : -1;
    }

    /**
     * {@code \s+(?!\S)|\s+} at {@code pos}: a run of whitespace followed by more text leaves its last
     * character to start the next word; a run at the end of the piece is one word. Anything else is
     * a word of one character.
     */
    private static int whitespace(Scan s, int pos, IntList out) {
        int p = pos;
        int last = pos;
        int count = 0;
        while (p < s.end && isSpace(s.at(p))) {
            last = p;
            p = s.next(p);
            count++;
        }
        if (count > 1 && p < s.end) {
            out.add(last);
            return last;
        }
        if (count > 0) {
            out.add(p);
            return p;
        }
        int next = s.next(pos);
        out.add(next);
        return next;
    }

    /**
     * {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
     * |\s*[\r\n]+|\s+(?!\S)|\s+}.
     */
    private static void llama3(String text, int start, int end, IntList out) {
        Scan s = new Scan(text, end);
        int pos = start;
        while (pos < end) {
            int cp = s.at(pos);
            int c = contraction(s, pos, true);
            if (c > 0) {
                pos += c;
                out.add(pos);
                continue;
            }
            int after = s.next(pos);
            if (cp != '\r' && cp != '\n' && !isNumber(cp) && (isLetter(cp) || isLetter(s.at(after)))) {
                int p = after;
                while (p < end && isLetter(s.at(p))) {
                    p = s.next(p);
                }
                pos = p;
                out.add(pos);
                continue;
            }
            if (isNumber(cp)) {
                int digits = 0;
                while (pos < end && isNumber(s.at(pos))) {
                    pos = s.next(pos);
                    if (++digits == 3) {
                        out.add(pos);
                        digits = 0;
                    }
                }
                if (digits > 0) {
                    out.add(pos);
                }
                continue;
            }
            int body = cp == ' ' ? after : pos;
            if (isOther(s.at(body))) {
                int p = body;
                while (p < end && isOther(s.at(p))) {
                    p = s.next(p);
                }
                while (p < end && (s.at(p) == '\r' || s.at(p) == '\n')) {
                    p++;
                }
                pos = p;
                out.add(pos);
                continue;
            }
            int p = pos;
            int lastNewline = -1;
            while (p < end && isSpace(s.at(p))) {
                int w = s.at(p);
                p = s.next(p);
                if (w == '\r' || w == '\n') {
                    lastNewline = p;
                }
            }
            if (lastNewline >= 0) {
                pos = lastNewline;
                out.add(pos);
                continue;
            }
            pos = whitespace(s, pos, out);
        }
    }
}
