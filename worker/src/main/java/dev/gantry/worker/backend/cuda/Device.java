package dev.gantry.worker.backend.cuda;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * What {@link CudaBackend} needs of a GPU: memory, copies, kernel launches. The seam between the
 * backend's host logic and the hardware: {@link DriverDevice} is a real GPU through the CUDA
 * driver API (JCuda); {@link EmulatedDevice} runs the same kernels, compiled for the CPU, on host
 * memory, so every build tests the backend and its kernels without a GPU.
 *
 * <p>Addresses are device pointers as {@code long}s. Calls are issued in order on one stream;
 * copies wait for the work before them.
 */
public interface Device extends AutoCloseable {

    /** What this device is, for logs and errors ("NVIDIA H200 (sm_90)", "CPU emulation"). */
    String name();

    /** {@code bytes} of device memory, 256-byte aligned, contents undefined. */
    long alloc(long bytes);

    void free(long address);

    /** Copies all of {@code src} (host memory) to the device at {@code dst}. */
    void copyToDevice(MemorySegment src, long dst);

    /** Copies {@code dst.byteSize()} bytes from the device at {@code src} into {@code dst}, once prior work is done. */
    void copyToHost(long src, MemorySegment dst);

    /** Sets {@code bytes} bytes at {@code address} to zero. */
    void zero(long address, long bytes);

    /** Launches kernel {@code name} (an {@code extern "C"} kernel of {@code src/main/cuda}). */
    void launch(String name, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args);

    /**
     * A CUDA graph of these launches, each after the one before it, ready to run as one launch by
     * {@link #launchGraph}; the kernels' arguments are taken as they are now (pointers, not the
     * memory they point to, which the replay reads as it is then).
     */
    long createGraph(List<Launch> launches);

    /** Runs a graph of {@link #createGraph} in order with the calls before and after it. */
    void launchGraph(long graph);

    void destroyGraph(long graph);

    /** Device memory free and total, in bytes. */
    long[] memoryInfo();

    @Override
    void close();

    /** One kernel launch, as {@link #launch} takes it; equal when every part is. */
    record Launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {}

    /** A grid or block shape. */
    record Dim3(int x, int y, int z) {
        public static Dim3 of(int x) {
            return new Dim3(x, 1, 1);
        }

        public static Dim3 of(int x, int y) {
            return new Dim3(x, y, 1);
        }
    }
}
