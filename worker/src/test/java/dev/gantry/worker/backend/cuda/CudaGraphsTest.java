package dev.gantry.worker.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Buffer;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.RopeTable;
import dev.gantry.worker.backend.TestTensors;
import dev.gantry.worker.backend.cuda.CudaBackendLaunchTest.Recording;
import dev.gantry.worker.engine.kv.SimpleBlockAllocator;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.llama.ForwardBatch;
import dev.gantry.worker.model.llama.LlamaConfig;
import dev.gantry.worker.model.llama.LlamaForward;
import dev.gantry.worker.testing.TestModels;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * CUDA graphs for decode passes ({@link StepGraphs}), at the device seam, on the kernels' CPU
 * build: a replayed pass gives exactly the logits of the same pass launched kernel by kernel
 * (the same kernels in the same order), is one graph launch and no kernel launch, and a pass
 * whose shape changes (a sequence crossing into a new KV block, a prompt chunk) is never
 * replayed from another's graph.
 */
class CudaGraphsTest {
    static final int BS = 16;
    static final int SEQS = 3;
    static final int STEPS = 14;

    /** What one run of decode steps gave, and what it asked of the device. */
    record Run(List<float[]> logits, List<Integer> launchesPerStep, List<Integer> graphLaunchesPerStep,
            StepGraphs.Stats stats) {}

    @Test
    void replayedDecodeStepsGiveTheEagerLogitsBitForBit() {
        try (Model model = Model.load(TestModels.stories260K())) {
            Run eager = decode(model, EmulatedKernels.open(), false);
            Run graphs = decode(model, EmulatedKernels.open(), true);
            assertReplayedLikeEager(eager, graphs);
        }
    }

    /** What {@link #replayedDecodeStepsGiveTheEagerLogitsBitForBit} checks, on any device. */
    static void assertReplayedLikeEager(Run eager, Run graphs) {
        assertThat(graphs.logits()).hasSameSizeAs(eager.logits());
        for (int i = 0; i < eager.logits().size(); i++) {
            assertThat(graphs.logits().get(i)).as("step %d", i).containsExactly(eager.logits().get(i));
        }
        // Eager: every step launches its kernels; none is a graph.
        assertThat(eager.graphLaunchesPerStep()).containsOnly(0);
        assertThat(eager.stats().captures()).isZero();
        // With graphs: the prefill is never a graph; a decode shape is captured the second
        // time it is seen, and from then on a step is one graph launch and no kernel launch.
        assertThat(graphs.graphLaunchesPerStep().get(0)).as("prefill").isZero();
        assertThat(graphs.launchesPerStep().get(0)).as("prefill").isPositive();
        assertThat(graphs.graphLaunchesPerStep().get(1)).as("first decode step: seen once").isZero();
        for (int step = 2; step < STEPS; step++) {
            if (graphs.graphLaunchesPerStep().get(step) == 1) {
                assertThat(graphs.launchesPerStep().get(step)).as("step %d", step).isZero();
            }
        }
        // The prompts are 6 tokens: after 10 decode steps the sequences cross into their
        // second block, the block tables' stride changes, and that shape is captured anew.
        assertThat(graphs.stats().captures()).isEqualTo(2);
        assertThat(graphs.stats().replays()).isEqualTo(STEPS - 1 - 2 * (StepGraphs.CAPTURE_AFTER - 1));
    }

    /** A prefill of SEQS prompts in one step, then STEPS - 1 decode steps of all of them. */
    static Run decode(Model model, Device on, boolean cudaGraphs) {
        LlamaConfig c = model.config();
        Recording device = new Recording(on);
        try (CudaBackend backend = new CudaBackend(device, cudaGraphs)) {
            backend.prepare(model.weights().all());
            LlamaForward f = new LlamaForward(c, model.weights(), backend, 64, SEQS);
            int blocks = 16;
            try (KvStorage kv = backend.allocateKv(c.layers(), blocks, BS, c.kvDim())) {
                SimpleBlockAllocator alloc = new SimpleBlockAllocator(blocks, BS);
                List<SimpleBlockAllocator.Table> tables = new ArrayList<>();
                int[][] input = new int[SEQS][];
                int[] start = new int[SEQS];
                for (int s = 0; s < SEQS; s++) {
                    tables.add(alloc.newTable());
                    input[s] = new int[] {1, 10 + s, 20 + s, 30 + s, 40 + s, 50 + s};
                }
                List<float[]> logits = new ArrayList<>();
                List<Integer> launches = new ArrayList<>();
                List<Integer> graphLaunches = new ArrayList<>();
                boolean[] want = {true, true, true};
                for (int step = 0; step < STEPS; step++) {
                    int[][] blockTables = new int[SEQS][];
                    for (int s = 0; s < SEQS; s++) {
                        assertThat(tables.get(s).ensureCapacity(start[s] + input[s].length)).isTrue();
                        blockTables[s] = tables.get(s).blocks();
                    }
                    int launchesBefore = device.launches.size();
                    int graphsBefore = device.graphLaunches;
                    float[] out = f.forward(ForwardBatch.of(input, start, blockTables, BS, want), kv);
                    launches.add(device.launches.size() - launchesBefore);
                    graphLaunches.add(device.graphLaunches - graphsBefore);
                    logits.add(out);
                    for (int s = 0; s < SEQS; s++) {
                        start[s] += input[s].length;
                        input[s] = new int[] {argmax(out, s * c.vocabSize(), c.vocabSize())};
                    }
                }
                return new Run(logits, launches, graphLaunches, backend.graphStats());
            }
        }
    }

    @Test
    void aStagingBufferRewrittenWithinAPassRunsWhatWasRecordedFirst() {
        Random rng = new Random(11);
        int rows = 3;
        int heads = 2;
        int headDim = 8;
        float[] x = TestTensors.floats(rng, rows * heads * headDim, 1);
        RopeTable rope = new RopeTable(headDim, false, new float[] {1f, 0.1f, 0.01f, 0.001f});
        int[] first = {0, 1, 2};
        int[] second = {7, 9, 30};
        float[] eager = twoRotations(false, x, rope, first, second);
        float[] recorded = twoRotations(true, x, rope, first, second);
        assertThat(recorded).containsExactly(eager);
    }

    /**
     * Rotates one copy of x at {@code first} and another at {@code second} in one replayable pass:
     * the second rotation's angles overwrite the first's staging buffer while the first launch is
     * held, so the recording must issue it before the copy.
     */
    private static float[] twoRotations(boolean graphs, float[] x, RopeTable rope, int[] first, int[] second) {
        Recording device = new Recording(EmulatedKernels.open());
        try (CudaBackend backend = new CudaBackend(device, graphs)) {
            int n = x.length;
            Buffer a = backend.allocate(n);
            Buffer b = backend.allocate(n);
            backend.upload(x, n, a);
            backend.upload(x, n, b);
            for (int pass = 0; pass < 3; pass++) { // a recorded pass that flushes is never captured
                backend.forwardPass(true, () -> {
                    backend.rope(a, 3, 2, 8, first, rope);
                    backend.rope(b, 3, 2, 8, second, rope);
                });
            }
            assertThat(device.graphsMade).isZero();
            float[] out = new float[2 * n];
            float[] part = new float[n];
            backend.download(a, n, part);
            System.arraycopy(part, 0, out, 0, n);
            backend.download(b, n, part);
            System.arraycopy(part, 0, out, n, n);
            return out;
        }
    }

    @Test
    void theLeastRecentlyUsedGraphsAreDestroyedBeyondTheCap() {
        Recording device = new Recording(EmulatedKernels.open());
        try (CudaBackend backend = new CudaBackend(device, true)) {
            Buffer x = backend.allocate(StepGraphs.MAX_GRAPHS + 8);
            Buffer y = backend.allocate(StepGraphs.MAX_GRAPHS + 8);
            int shapes = StepGraphs.MAX_GRAPHS + 5;
            for (int seen = 0; seen < StepGraphs.CAPTURE_AFTER; seen++) {
                for (int n = 1; n <= shapes; n++) {
                    long len = n;
                    backend.forwardPass(true, () -> backend.add(x, y, len));
                }
            }
            assertThat(device.graphsMade).isEqualTo(shapes);
            assertThat(device.graphsDestroyed).isEqualTo(shapes - StepGraphs.MAX_GRAPHS);
            assertThat(backend.graphStats().graphs()).isEqualTo(StepGraphs.MAX_GRAPHS);
            backend.forwardPass(true, () -> backend.add(x, y, shapes)); // the newest: replayed
            assertThat(device.graphLaunches).isEqualTo(shapes + 1);
        }
        assertThat(device.graphsDestroyed).as("closing the backend destroys the rest").isEqualTo(device.graphsMade);
    }

    private static int argmax(float[] a, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[from + i] > a[from + best]) {
                best = i;
            }
        }
        return best;
    }
}
