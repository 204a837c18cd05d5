package dev.gantry.worker.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.backend.cuda.Device.Dim3;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The CPU emulation of CUDA that the kernel tests stand on: warp shuffles and block reductions
 * give CUDA's results, shared memory and barriers order the threads of a block, and a kernel
 * that would hang or misbehave on a GPU is an error here, not a pass.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EmulatorTest {
    private EmulatedDevice device;

    @BeforeAll
    void open() {
        device = EmulatedKernels.open();
    }

    @AfterAll
    void close() {
        device.close();
    }

    private float[] run(String kernel, int floats, int threads, int grid, int shared, float[] in, int n) {
        long out = device.alloc(4L * floats);
        long input = device.alloc(4L * Math.max(1, in == null ? 1 : in.length));
        try {
            KernelArgs args = KernelArgs.of();
            if (in != null) {
                device.copyToDevice(MemorySegment.ofArray(in), input);
                args.ptr(input);
            }
            args.ptr(out);
            if (in != null) {
                args.i32(n);
            }
            device.launch(kernel, Dim3.of(grid), Dim3.of(threads), shared, args);
            float[] result = new float[floats];
            device.copyToHost(out, MemorySegment.ofArray(result));
            return result;
        } finally {
            device.free(out);
            device.free(input);
        }
    }

    @Test
    void shufflesAndBlockSumGiveCudasResults() {
        float[] out = run("selftest_shuffles", 320, 64, 1, 0, null, 0);
        for (int t = 0; t < 64; t++) {
            int lane = t % 32;
            int warpBase = t - lane;
            assertThat(out[t]).as("xor %d", t).isEqualTo(t ^ 1);
            assertThat(out[64 + t]).as("down %d", t).isEqualTo(lane + 3 < 32 ? t + 3 : t);
            assertThat(out[128 + t]).as("up %d", t).isEqualTo(lane >= 5 ? t - 5 : t);
            assertThat(out[192 + t]).as("indexed %d", t).isEqualTo(warpBase + 7);
            assertThat(out[256 + t]).as("block sum %d", t).isEqualTo(63 * 64 / 2);
        }
    }

    @Test
    void warpReductionsGiveTheBitsOfTheirShuffleButterfly() {
        java.util.Random rng = new java.util.Random(7);
        for (int trial = 0; trial < 20; trial++) {
            float[] in = new float[64];
            for (int i = 0; i < in.length; i++) {
                in[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(7) - 3)); // mixed magnitudes: rounding shows
            }
            float[] out = run("selftest_warp_reductions", 64, 64, 1, 0, in, 64);
            for (int t = 0; t < 64; t++) {
                assertThat(out[t]).as("trial %d thread %d", trial, t).isEqualTo(1f);
            }
        }
    }

    @Test
    void sharedMemoryAndBarriersOrderTheThreadsOfEveryBlock() {
        float[] in = new float[50];
        for (int i = 0; i < in.length; i++) {
            in[i] = i * 1.5f;
        }
        float[] out = run("selftest_reverse", 3 * 50, 64, 3, 4 * 50, in, 50);
        for (int b = 0; b < 3; b++) {
            for (int t = 0; t < 50; t++) {
                assertThat(out[b * 50 + t]).isEqualTo(in[49 - t] + b);
            }
        }
    }

    @Test
    void threadsWaitingForEachOtherAtDifferentBarriersAreAnError() {
        assertThatThrownBy(() -> run("selftest_deadlock", 64, 64, 1, 0, null, 0))
                .isInstanceOf(DeviceException.class).hasMessageContaining("deadlock");
    }

    @Test
    void threadsThatReturnEarlyDoNotHoldUpABarrier() {
        float[] out = run("selftest_early_exit", 64, 64, 1, 0, null, 0);
        for (int t = 0; t < 40; t++) {
            assertThat(out[t]).isEqualTo(2f);
        }
    }

    @Test
    void launchShapesCudaRefusesAreRefused() {
        long out = device.alloc(4096);
        try {
            assertThatThrownBy(() -> device.launch("selftest_shuffles", Dim3.of(1), Dim3.of(2048), 0,
                    KernelArgs.of().ptr(out))).isInstanceOf(DeviceException.class).hasMessageContaining("2048 threads");
            assertThatThrownBy(() -> device.launch("no_such_kernel", Dim3.of(1), Dim3.of(32), 0, KernelArgs.of()))
                    .isInstanceOf(DeviceException.class).hasMessageContaining("no such kernel");
        } finally {
            device.free(out);
        }
    }
}
