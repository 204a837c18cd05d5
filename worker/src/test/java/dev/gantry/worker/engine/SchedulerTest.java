package dev.gantry.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.engine.kv.KvCacheManager;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import dev.gantry.worker.testing.TestModels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The scheduler alone, with the real KV-cache manager and exact block counts (vLLM's scheduler
 * tests are the model): the token budget, chunked prefill, the seat limit, preemption of the most
 * recently admitted sequence and its resumption from the prefix cache, prefix hits, and aborts.
 * A step is "run" here by marking its tokens computed and appending one token to each sequence
 * whose prompt is done, as the engine does after the forward pass.
 */
class SchedulerTest {
    private static final int BS = 4;
    private static final int TOKEN = 100; // what every "sampled" token is: not EOS in stories260K

    private static Model model;
    private static Tokenizer tokenizer;
    private long nextId;

    @BeforeAll
    static void load() {
        model = Model.load(TestModels.stories260K());
        tokenizer = model.tokenizer();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private Sequence seq(int promptLength, int firstToken) {
        int[] prompt = new int[promptLength];
        for (int i = 0; i < promptLength; i++) {
            prompt[i] = firstToken + i;
        }
        return seq(prompt);
    }

    private Sequence seq(int[] prompt) {
        long id = nextId++;
        return new Sequence(id, new EngineRequest("r" + id, prompt, SamplingParams.defaults().withMaxTokens(64)), null,
                tokenizer, 256, 8);
    }

    private static EngineConfig config(int maxNumSeqs, int budget, int numBlocks, boolean prefixCaching) {
        return new EngineConfig(maxNumSeqs, budget, BS, numBlocks, 256, 100, prefixCaching);
    }

    /** Schedules a step and runs it; returns what each scheduled sequence got, by id. */
    private static Scheduler.Step step(Scheduler s, KvCacheManager kv) {
        Scheduler.Step step = s.schedule();
        for (int i = 0; i < step.sequences().size(); i++) {
            Sequence seq = step.sequences().get(i);
            seq.setComputed(seq.numComputed() + step.tokens()[i]);
            kv.cacheFullBlocks(seq.id, seq.tokens(), seq.numComputed());
            if (seq.numComputed() == seq.numTokens()) {
                seq.append(TOKEN);
            }
        }
        return step;
    }

    private static List<Long> ids(Scheduler.Step step) {
        List<Long> ids = new ArrayList<>();
        step.sequences().forEach(q -> ids.add(q.id));
        return ids;
    }

    @Test
    void theBudgetGoesToRunningSequencesFirstAndPromptsAreChunked() {
        KvCacheManager kv = new KvCacheManager(64, BS, false);
        Scheduler s = new Scheduler(config(8, 16, 64, false), kv);
        Sequence a = seq(10, 10);
        Sequence b = seq(10, 30);
        Sequence c = seq(10, 50);
        s.add(a);
        s.add(b);
        s.add(c);

        Scheduler.Step first = step(s, kv);
        assertThat(ids(first)).containsExactly(a.id, b.id);
        assertThat(first.tokens()).containsExactly(10, 6); // b's prompt cut at the budget
        assertThat(kv.numBlocksOf(a.id)).isEqualTo(3);
        assertThat(kv.numBlocksOf(b.id)).isEqualTo(2);
        assertThat(kv.usedBlocks()).isEqualTo(5);
        assertThat(s.numWaiting()).isEqualTo(1);

        Scheduler.Step second = step(s, kv);
        assertThat(ids(second)).containsExactly(a.id, b.id, c.id);
        assertThat(second.tokens()).containsExactly(1, 4, 10); // a decodes, b finishes its prompt, c starts
        assertThat(kv.usedBlocks()).isEqualTo(3 + 3 + 3);
        assertThat(a.outputLength()).isEqualTo(2);
        assertThat(b.outputLength()).isEqualTo(1);
        assertThat(c.outputLength()).isEqualTo(1);

        Scheduler.Step third = step(s, kv);
        assertThat(third.tokens()).containsExactly(1, 1, 1);
        assertThat(kv.usedBlocks()).isEqualTo(3 + 3 + 3); // 12, 11 and 11 tokens: three blocks each
    }

    @Test
    void noMoreThanMaxNumSeqsRunAndAFinishedOneMakesRoom() {
        KvCacheManager kv = new KvCacheManager(64, BS, false);
        Scheduler s = new Scheduler(config(2, 64, 64, false), kv);
        Sequence a = seq(3, 10);
        Sequence b = seq(3, 20);
        Sequence c = seq(3, 30);
        s.add(a);
        s.add(b);
        s.add(c);
        assertThat(ids(step(s, kv))).containsExactly(a.id, b.id);
        assertThat(ids(step(s, kv))).containsExactly(a.id, b.id);
        assertThat(s.numWaiting()).isEqualTo(1);

        s.remove(a); // finished
        assertThat(kv.numBlocksOf(a.id)).isZero();
        Scheduler.Step next = step(s, kv);
        assertThat(ids(next)).containsExactly(b.id, c.id);
        assertThat(next.tokens()).containsExactly(1, 3);
    }

    @Test
    void theLastAdmittedIsPreemptedAndResumesFromThePrefixCache() {
        // 6 blocks of 4: two 8-token prompts take 4, and growing past 12 tokens each needs 8.
        KvCacheManager kv = new KvCacheManager(6, BS, true);
        Scheduler s = new Scheduler(config(8, 32, 6, true), kv);
        Sequence a = seq(8, 10);
        Sequence b = seq(8, 30);
        s.add(a);
        s.add(b);
        assertThat(step(s, kv).tokens()).containsExactly(8, 8);
        assertThat(kv.usedBlocks()).isEqualTo(4);

        // Decode until the blocks run out: 9..12 tokens fit in 3 blocks each (6 in all).
        int steps = 0;
        Scheduler.Step st;
        do {
            st = step(s, kv);
            steps++;
        } while (st.preempted() == 0 && steps < 10);
        // a and b both hold 12 tokens after 4 decode steps; the 5th needs a 4th block each: b,
        // admitted last, goes back to the front of the queue with its blocks freed (kept cached).
        assertThat(steps).isEqualTo(5);
        assertThat(st.preempted()).isEqualTo(1);
        assertThat(ids(st)).containsExactly(a.id);
        assertThat(b.status).isEqualTo(Sequence.Status.WAITING);
        assertThat(b.numComputed()).isZero();
        assertThat(b.numTokens()).isEqualTo(13); // its tokens stay: only their K/V are recomputed
        assertThat(kv.numBlocksOf(b.id)).isZero();
        assertThat(kv.numBlocksOf(a.id)).isEqualTo(4);
        assertThat(s.preemptions()).isEqualTo(1);
        assertThat(s.numWaiting()).isEqualTo(1);

        // a finishes: b comes back, its first two full blocks (8 prompt tokens) from the cache.
        s.remove(a);
        Scheduler.Step resumed = step(s, kv);
        assertThat(ids(resumed)).containsExactly(b.id);
        assertThat(resumed.tokens()).containsExactly(13 - 2 * BS);
        assertThat(b.cachedPromptTokens).isZero(); // what it had at its first admission
        assertThat(kv.prefixHitTokens()).isEqualTo(2 * BS);
        assertThat(b.numComputed()).isEqualTo(13);
        assertThat(b.outputLength()).isEqualTo(6);
    }

    @Test
    void aSharedPromptPrefixIsComputedOnce() {
        KvCacheManager kv = new KvCacheManager(32, BS, true);
        Scheduler s = new Scheduler(config(8, 64, 32, true), kv);
        int[] prompt = new int[12];
        Arrays.setAll(prompt, i -> 10 + i);
        Sequence a = seq(prompt);
        s.add(a);
        assertThat(step(s, kv).tokens()).containsExactly(12);

        // The same 12 tokens and 4 more: the three full blocks are reused.
        int[] longer = Arrays.copyOf(prompt, 16);
        Arrays.setAll(longer, i -> 10 + i);
        Sequence b = seq(longer);
        // Exactly the same prompt: its last block is recomputed (its last token needs logits).
        Sequence c = seq(prompt.clone());
        s.add(b);
        s.add(c);
        Scheduler.Step st = step(s, kv);
        assertThat(ids(st)).containsExactly(a.id, b.id, c.id);
        assertThat(st.tokens()).containsExactly(1, 16 - 12, 12 - 8);
        assertThat(b.cachedPromptTokens).isEqualTo(12);
        assertThat(c.cachedPromptTokens).isEqualTo(8);
        // Shared blocks are counted once: a's 4, b's one block of its own, c's one.
        assertThat(kv.usedBlocks()).isEqualTo(4 + 1 + 1);
    }

    @Test
    void anAbortedSequenceGivesBackEveryBlockWhereverItIs() {
        KvCacheManager kv = new KvCacheManager(8, BS, false);
        Scheduler s = new Scheduler(config(1, 64, 8, false), kv);
        Sequence running = seq(6, 10);
        Sequence waiting = seq(6, 20);
        s.add(running);
        s.add(waiting);
        step(s, kv);
        assertThat(kv.usedBlocks()).isEqualTo(2);

        s.remove(waiting); // cancelled while queued
        assertThat(s.numWaiting()).isZero();
        s.remove(running); // cancelled while running
        assertThat(s.numRunning()).isZero();
        assertThat(kv.usedBlocks()).isZero();
        assertThat(s.hasWork()).isFalse();
        assertThat(running.status).isEqualTo(Sequence.Status.FINISHED);
    }

    @Test
    void otherChoicesGoFirstInLineAndShareThePromptsBlocks() {
        KvCacheManager kv = new KvCacheManager(32, BS, true);
        Scheduler s = new Scheduler(config(8, 64, 32, true), kv);
        Sequence queued = seq(5, 40);
        int[] prompt = new int[10];
        Arrays.setAll(prompt, i -> 10 + i);
        Sequence first = seq(prompt);
        s.add(first);
        assertThat(step(s, kv).tokens()).containsExactly(10);
        s.add(queued);
        // The engine releases the request's other choices once the first's prompt is computed:
        // ahead of what queued meanwhile, onto its two full blocks.
        Sequence second = seq(prompt.clone());
        Sequence third = seq(prompt.clone());
        s.addFirst(List.of(second, third));
        Scheduler.Step st = step(s, kv);
        assertThat(ids(st)).containsExactly(first.id, second.id, third.id, queued.id);
        assertThat(st.tokens()).containsExactly(1, 10 - 8, 10 - 8, 5);
        assertThat(second.cachedPromptTokens).isEqualTo(8);
        assertThat(third.cachedPromptTokens).isEqualTo(8);
        // first: 3 blocks (11 tokens); the others share its 2 full blocks and own 1 each; queued owns 2.
        assertThat(kv.usedBlocks()).isEqualTo(3 + 1 + 1 + 2);
        s.remove(first);
        s.remove(second);
        s.remove(third);
        s.remove(queued);
        assertThat(kv.usedBlocks()).isZero();
    }

    @Test
    void aSequenceThatReadsEveryPromptRowTakesNoPrefixHits() {
        KvCacheManager kv = new KvCacheManager(32, BS, true);
        Scheduler s = new Scheduler(config(8, 64, 32, true), kv);
        int[] prompt = new int[12];
        Arrays.setAll(prompt, i -> 10 + i);
        s.add(seq(prompt));
        step(s, kv);
        long id = nextId++;
        Sequence logprobs = new Sequence(id, new EngineRequest("r" + id, prompt.clone(),
                SamplingParams.defaults().withMaxTokens(4)).withLogprobs(-1, 0), null, tokenizer, 256, 8);
        s.add(logprobs);
        Scheduler.Step st = step(s, kv);
        assertThat(st.tokens()).containsExactly(1, 12);
        assertThat(logprobs.cachedPromptTokens).isZero();
    }
}
