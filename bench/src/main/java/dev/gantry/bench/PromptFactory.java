package dev.gantry.bench;

import java.util.SplittableRandom;

/**
 * Makes the synthetic prompts: random common English words, a fixed number per prompt,
 * deterministic for a seed and a request number.
 *
 * <p>Every prompt starts with its request number, so no two prompts of a run share even their
 * first token: a server's prefix cache or response cache cannot make later requests cheaper
 * than the first. Lengths are counted in words, not tokens; the words below are short and
 * frequent, which most tokenizers (SentencePiece, byte-level BPE) encode as one token each, so
 * a prompt of L words is about L tokens (chat templates add their own few tokens on top).
 */
public final class PromptFactory {

    /** Short, frequent words; one token each in the common Llama, Mistral, Qwen and SmolLM vocabularies. */
    private static final String[] WORDS = ("""
            the of and to in is was for on that with as by at from his it an were are which this be
            or has had not but its they new after who first also one two have their been more other
            she time all her into would about there can over most some many only year then when he
            we you what out up so no them may these your our than like made any just did will
            could should how long old day way man world life work part place back same well down
            each good great small large high low early late city home house water food light dark
            night morning river road tree stone book door hand head eye face body mind heart story
            game music song word name idea plan line point side end start open close fast slow warm
            cold red blue green white black gold short deep wide clear free full true real best
            left right north south east west under near far away again always never often still
            here now today soon very much even last next few less own such both every through
            during before while where why because if though until since between among around
            above below across along behind beyond inside outside without within against toward
            make take give find keep tell ask call come go see know think look want use try turn
            help show hear play run move live bring write read sit stand lose pay meet learn grow
            walk talk watch follow stop speak build stay fall cut reach hold send spend rise
            """).strip().split("\\s+");

    private final long seed;

    /** @param seed the run's seed: the same seed makes the same prompts for the same request numbers */
    public PromptFactory(long seed) {
        this.seed = seed;
    }

    /**
     * The prompt for request {@code requestNumber}: its number, then words up to {@code words}
     * words in all. Depends only on the seed and the number, not on which thread asks or when.
     */
    public String prompt(long requestNumber, int words) {
        if (words < 1) {
            throw new IllegalArgumentException("a prompt needs at least one word, got " + words);
        }
        // Golden-ratio stride keeps the streams of neighbouring request numbers unrelated.
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + requestNumber);
        StringBuilder text = new StringBuilder(words * 7).append(requestNumber).append(':');
        appendWords(text, random, words - 1);
        return text.toString();
    }

    /**
     * The shared system prompt of prefix group {@code group}: {@code words} words that depend only
     * on the seed and the group, never on a request number, so every request of a group starts
     * with the same text and a prefix cache can serve it.
     */
    public String prefix(int group, int words) {
        if (words < 1) {
            throw new IllegalArgumentException("a prefix needs at least one word, got " + words);
        }
        // A stream apart from the prompts' (whose numbers are >= 0): negative "request numbers".
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L - 1 - group);
        StringBuilder text = new StringBuilder(words * 7).append("S").append(group).append(':');
        appendWords(text, random, words - 1);
        return text.toString();
    }

    /** Appends {@code count} random words, each after a space. */
    static void appendWords(StringBuilder text, SplittableRandom random, int count) {
        for (int i = 0; i < count; i++) {
            text.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
        }
    }

    /** How many words the list has; for tests. */
    static int vocabularySize() {
        return WORDS.length;
    }
}
