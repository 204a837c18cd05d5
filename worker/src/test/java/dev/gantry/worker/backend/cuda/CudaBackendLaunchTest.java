package dev.gantry.worker.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Buffer;
import dev.gantry.worker.backend.TestTensors;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The host side's choices, seen at the device seam: which kernel a call launches, in what
 * shape, and what crosses to the device (weights once, small arrays per call). The device
 * under the recording is the emulation, so the launches also run.
 */
class CudaBackendLaunchTest {

    /** A device that notes every launch and host-to-device copy, passing them on. */
    static final class Recording implements Device {
        final Device inner;
        final List<String> launches = new ArrayList<>();
        long copiedBytes;
        int copies;
        int graphsMade;
        int graphLaunches;
        int graphsDestroyed;

        Recording(Device inner) {
            this.inner = inner;
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public long alloc(long bytes) {
            return inner.alloc(bytes);
        }

        @Override
        public void free(long address) {
            inner.free(address);
        }

        @Override
        public void copyToDevice(MemorySegment src, long dst) {
            copiedBytes += src.byteSize();
            copies++;
            inner.copyToDevice(src, dst);
        }

        @Override
        public void copyToHost(long src, MemorySegment dst) {
            inner.copyToHost(src, dst);
        }

        @Override
        public void zero(long address, long bytes) {
            inner.zero(address, bytes);
        }

        @Override
        public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
            launches.add(kernel + " " + grid.x() + "x" + grid.y() + " " + block.x());
            inner.launch(kernel, grid, block, sharedBytes, args);
        }

        @Override
        public long createGraph(List<Launch> graph) {
            graphsMade++;
            return inner.createGraph(graph);
        }

        @Override
        public void launchGraph(long graph) {
            graphLaunches++;
            inner.launchGraph(graph);
        }

        @Override
        public void destroyGraph(long graph) {
            graphsDestroyed++;
            inner.destroyGraph(graph);
        }

        @Override
        public long[] memoryInfo() {
            return inner.memoryInfo();
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void decodeBatchesTakeTheGemvAndLargerOnesTheTensorCoreGemm() {
        Recording device = new Recording(EmulatedKernels.open());
        try (Arena arena = Arena.ofConfined(); CudaBackend backend = new CudaBackend(device)) {
            Random rng = new Random(5);
            Weight w = TestTensors.weight(arena, rng, GgmlType.Q4_K, 130, 256, "w");
            backend.prepare(List.of(w));
            long afterPrepare = device.copiedBytes;
            assertThat(afterPrepare).isEqualTo(w.data().byteSize());
            backend.prepare(List.of(w)); // again: nothing more is copied
            assertThat(device.copiedBytes).isEqualTo(afterPrepare);

            Buffer x = backend.allocate(70L * 256);
            Buffer out = backend.allocate(70L * 130);
            device.launches.clear();
            backend.matmul(w, null, x, 8, out);
            assertThat(device.launches).containsExactly("gemv_q4_k 33x1 128"); // one warp per output, 8 rows in one pass
            device.launches.clear();
            backend.matmul(w, null, x, 9, out);
            assertThat(device.launches).containsExactly("gemm_q4_k 3x1 128"); // 64x64 tiles
            device.launches.clear();
            backend.matmul(w, null, x, 70, out);
            assertThat(device.launches).containsExactly("gemm_q4_k 3x2 128");
            assertThat(backend.matmulOperandRounding(8)).isZero();
            assertThat(backend.matmulOperandRounding(9)).isEqualTo(0x1p-11);
        }
    }
}
