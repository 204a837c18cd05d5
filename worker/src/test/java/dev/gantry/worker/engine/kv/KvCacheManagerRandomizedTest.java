package dev.gantry.worker.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Drives a {@link KvCacheManager} the way a continuous-batching scheduler would (admit with a
 * prefix lookup, prefill in chunks, decode, preempt, finish), with prompts built from a few
 * shared stems so that hits, sharing and eviction all happen, and checks the block invariants
 * after every operation.
 *
 * <p>A shadow of the KV memory records, for every slot, the token prefix its K/V were computed
 * for; a prefix hit must point at slots computed for exactly the request's own prefix, and a
 * step must only ever write into blocks that nobody else can see.
 */
class KvCacheManagerRandomizedTest {
    private static final int BS = 4;
    private static final int NUM_BLOCKS = 24;
    // Tails and decoded tokens come from a tiny vocabulary so that equal blocks recur after
    // different prefixes: a key that ignored the prefix would then produce wrong hits.
    private static final int TAIL_VOCAB = 3;

    private static final class Request {
        final long id;
        final List<Integer> tokens = new ArrayList<>();
        int computed;
        int target;

        Request(long id) {
            this.id = id;
        }

        int[] tokenArray() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    private final Map<Long, Request> live = new HashMap<>();
    private final int[][][] shadow = new int[NUM_BLOCKS][BS][];
    private long nextId;
    private int hits;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 42, 2024})
    void invariantsHoldUnderRandomScheduling(long seed) {
        Random random = new Random(seed);
        KvCacheManager kv = new KvCacheManager(NUM_BLOCKS, BS, true);
        int[][] stems = new int[4][];
        for (int s = 0; s < stems.length; s++) {
            stems[s] = random.ints(3 * BS + random.nextInt(BS), 0, 50).toArray();
        }
        for (int op = 0; op < 5000; op++) {
            int choice = random.nextInt(10);
            if (choice < 3 && live.size() < 8) {
                admit(kv, random, stems);
            } else if (choice < 9 && !live.isEmpty()) {
                step(kv, random, pick(random));
            } else if (!live.isEmpty()) {
                release(kv, pick(random));
            }
            checkInvariants(kv);
        }
        assertThat(hits).as("the workload must exercise prefix hits").isGreaterThan(50);
        assertThat(kv.evictedBlocks()).as("the workload must exercise eviction").isGreaterThan(50);
        for (Request r : live.values()) {
            kv.free(r.id);
        }
        live.clear();
        checkInvariants(kv);
        assertThat(kv.freeBlocks()).isEqualTo(NUM_BLOCKS);
        assertThat(kv.usedBlocks()).isZero();
    }

    private void release(KvCacheManager kv, Request r) {
        live.remove(r.id);
        kv.free(r.id);
    }

    private Request pick(Random random) {
        List<Request> all = new ArrayList<>(live.values());
        all.sort((a, b) -> Long.compare(a.id, b.id)); // HashMap order must not decide the seed's run
        return all.get(random.nextInt(all.size()));
    }

    private void admit(KvCacheManager kv, Random random, int[][] stems) {
        Request r = new Request(nextId++);
        int[] stem = stems[random.nextInt(stems.length)];
        int keep = random.nextInt(stem.length + 1);
        for (int i = 0; i < keep; i++) {
            r.tokens.add(stem[i]);
        }
        int tail = 1 + random.nextInt(2 * BS);
        for (int i = 0; i < tail; i++) {
            r.tokens.add(random.nextInt(TAIL_VOCAB));
        }
        r.target = r.tokens.size() + random.nextInt(3 * BS);
        int[] prompt = r.tokenArray();
        int hit = kv.acquireCachedPrefix(r.id, prompt, prompt.length);
        assertThat(hit % BS).isZero();
        assertThat(hit).isLessThan(prompt.length).isEqualTo(kv.numBlocksOf(r.id) * BS);
        int[] table = kv.blockTable(r.id);
        for (int pos = 0; pos < hit; pos++) {
            assertThat(shadow[table[pos / BS]][pos % BS])
                    .as("hit slot for position %d", pos)
                    .containsExactly(Arrays.copyOf(prompt, pos + 1));
        }
        hits += hit / BS;
        r.computed = hit;
        live.put(r.id, r);
    }

    /** One scheduler step for a request: a prompt chunk or one decode token, then caching. */
    private void step(KvCacheManager kv, Random random, Request r) {
        if (r.computed == r.tokens.size()) {
            if (r.tokens.size() >= r.target) {
                release(kv, r); // finished
                return;
            }
            r.tokens.add(random.nextInt(TAIL_VOCAB)); // the token sampled by the previous step
        }
        int chunk = Math.min(r.tokens.size() - r.computed, 1 + random.nextInt(2 * BS));
        int end = r.computed + chunk;
        int before = kv.numBlocksOf(r.id);
        int free = kv.freeBlocks();
        if (!kv.allocate(r.id, end)) {
            assertThat(kv.numBlocksOf(r.id)).isEqualTo(before);
            assertThat(kv.freeBlocks()).isEqualTo(free);
            release(kv, r); // preempted; its work is recomputed if it comes back
            return;
        }
        int[] tokens = r.tokenArray();
        int[] table = kv.blockTable(r.id);
        for (int pos = r.computed; pos < end; pos++) {
            int block = table[pos / BS];
            assertThat(kv.pool().refCount(block)).as("written block %d is private", block).isEqualTo(1);
            assertThat(kv.pool().hashOf(block)).as("written block %d is not cached", block).isNull();
            shadow[block][pos % BS] = Arrays.copyOf(tokens, pos + 1);
        }
        r.computed = end;
        kv.cacheFullBlocks(r.id, tokens, r.computed);
    }

    private void checkInvariants(KvCacheManager kv) {
        BlockPool pool = kv.pool();
        int[] references = new int[NUM_BLOCKS];
        long tableBlocks = 0;
        for (Request r : live.values()) {
            int[] table = kv.blockTable(r.id);
            assertThat(table).doesNotHaveDuplicates().hasSize(kv.numBlocksOf(r.id));
            assertThat(table.length).isGreaterThanOrEqualTo((r.computed + BS - 1) / BS);
            for (int b : table) {
                references[b]++;
            }
            tableBlocks += table.length;
        }
        int[] queue = pool.freeQueue();
        assertThat(queue).doesNotHaveDuplicates();
        boolean[] queued = new boolean[NUM_BLOCKS];
        for (int b : queue) {
            queued[b] = true;
        }
        long refSum = 0;
        int inUse = 0;
        int cachedFree = 0;
        int plainFree = 0;
        int hashed = 0;
        for (int b = 0; b < NUM_BLOCKS; b++) {
            int refs = pool.refCount(b);
            assertThat(refs).as("refcount of block %d", b).isEqualTo(references[b]);
            refSum += refs;
            BlockHash hash = pool.hashOf(b);
            if (hash != null) {
                hashed++;
                assertThat(pool.lookup(hash)).isEqualTo(b);
            }
            // exactly one state per block
            boolean isInUse = refs >= 1 && !queued[b];
            boolean isCachedFree = refs == 0 && queued[b] && hash != null;
            boolean isFree = refs == 0 && queued[b] && hash == null;
            assertThat((isInUse ? 1 : 0) + (isCachedFree ? 1 : 0) + (isFree ? 1 : 0))
                    .as("states of block %d", b).isEqualTo(1);
            inUse += isInUse ? 1 : 0;
            cachedFree += isCachedFree ? 1 : 0;
            plainFree += isFree ? 1 : 0;
        }
        assertThat(refSum).isEqualTo(tableBlocks);
        assertThat(kv.usedBlocks()).isEqualTo(inUse);
        assertThat(kv.freeBlocks()).isEqualTo(cachedFree + plainFree).isEqualTo(queue.length);
        assertThat(kv.cachedBlocks()).isEqualTo(hashed);
        assertThat(kv.prefixHitTokens()).isLessThanOrEqualTo(kv.prefixQueryTokens());
    }
}
