package dev.gantry.worker.engine;

import dev.gantry.worker.engine.kv.KvCacheManager;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Decides, each step, which sequences run and how many of their tokens: a token budget
 * ({@code maxNumBatchedTokens}) is handed out first to running sequences in admission order (a
 * decode token each, or the next chunk of an unfinished prompt), then to waiting ones, which are
 * admitted while there is budget, a free seat ({@code maxNumSeqs}) and KV blocks. There are no
 * phases: a sequence simply has tokens whose K/V are not computed yet.
 *
 * <p>When blocks run out, the most recently admitted running sequence is preempted: its blocks
 * are freed and it goes back to the front of the queue to be recomputed later (its full blocks
 * usually come straight back from the prefix cache). Nothing new is admitted in a step that
 * preempted. Because the cache holds at least one max-length sequence, the oldest sequence
 * always makes progress: no deadlock.
 */
final class Scheduler {
    private final EngineConfig config;
    private final KvCacheManager kv;
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private long preemptions;

    /** One step's work: {@code sequences.get(i)} computes {@code tokens[i]} tokens from its {@code numComputed()}. */
    record Step(List<Sequence> sequences, int[] tokens, int preempted) {
        boolean isEmpty() {
            return sequences.isEmpty();
        }
    }

    Scheduler(EngineConfig config, KvCacheManager kv) {
        this.config = config;
        this.kv = kv;
    }

    void add(Sequence seq) {
        waiting.addLast(seq);
    }

    /** Puts sequences at the front of the queue, in their order (the other choices of a request). */
    void addFirst(List<Sequence> seqs) {
        for (int i = seqs.size() - 1; i >= 0; i--) {
            waiting.addFirst(seqs.get(i));
        }
    }

    int numWaiting() {
        return waiting.size();
    }

    int numRunning() {
        return running.size();
    }

    long preemptions() {
        return preemptions;
    }

    boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    Step schedule() {
        int budget = config.maxNumBatchedTokens();
        List<Sequence> scheduled = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        int preempted = 0;

        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence seq = running.get(i);
            int n = Math.min(seq.uncomputed(), budget);
            boolean selfPreempted = false;
            while (!kv.allocate(seq.id, seq.numComputed() + n)) {
                Sequence victim = running.removeLast();
                preempt(victim);
                preempted++;
                if (victim == seq) {
                    selfPreempted = true;
                    break;
                }
            }
            if (selfPreempted) {
                break;
            }
            scheduled.add(seq);
            counts.add(n);
            budget -= n;
        }

        while (preempted == 0 && budget > 0 && !waiting.isEmpty() && running.size() < config.maxNumSeqs()) {
            Sequence seq = waiting.peekFirst();
            if (seq.numComputed() == 0) {
                int cached = seq.usesPrefixCache() ? kv.acquireCachedPrefix(seq.id, seq.tokens(), seq.numTokens()) : 0;
                seq.setComputed(cached);
                if (seq.cachedPromptTokens < 0) {
                    seq.cachedPromptTokens = Math.min(cached, seq.promptLength);
                }
            }
            int n = Math.min(seq.uncomputed(), budget);
            if (!kv.allocate(seq.id, seq.numComputed() + n)) {
                // Give back the prefix blocks it took; it stays first in line.
                kv.free(seq.id);
                seq.setComputed(0);
                break;
            }
            waiting.pollFirst();
            seq.status = Sequence.Status.RUNNING;
            running.add(seq);
            scheduled.add(seq);
            counts.add(n);
            budget -= n;
        }
        return new Step(scheduled, counts.stream().mapToInt(Integer::intValue).toArray(), preempted);
    }

    private void preempt(Sequence seq) {
        kv.free(seq.id);
        seq.setComputed(0);
        seq.status = Sequence.Status.WAITING;
        waiting.addFirst(seq);
        preemptions++;
    }

    /** Takes a sequence out wherever it is (finished or cancelled) and frees its blocks. */
    void remove(Sequence seq) {
        if (!running.remove(seq)) {
            waiting.remove(seq);
        }
        kv.free(seq.id);
        seq.status = Sequence.Status.FINISHED;
    }

    /** Every sequence still held, running first. */
    List<Sequence> all() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        return all;
    }
}
