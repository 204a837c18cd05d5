package dev.gantry.worker.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernels of {@code src/main/cuda}, compiled by g++ against {@code emu/cuda_emu.h} into
 * {@code libgantry_cuda_emu.so} (the worker build's {@code build.sh}), run on the CPU: device
 * memory is host memory from {@code aligned_alloc}, a launch runs every block of the grid in
 * turn with its threads as fibers. For tests of {@link CudaBackend} and its kernels; slow by
 * design (a few million thread switches a second).
 */
public final class EmulatedDevice implements Device {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle ALIGNED_ALLOC = libc("aligned_alloc",
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    private static final MethodHandle FREE = libc("free", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    private static final int ERROR_BYTES = 512;

    private final Arena arena = Arena.ofShared();
    private final MethodHandle launch;
    private final List<String> kernels;
    private final Map<Long, List<Launch>> graphs = new HashMap<>();
    private long nextGraph = 1;

    private EmulatedDevice(Path library) {
        SymbolLookup lib = SymbolLookup.libraryLookup(library, arena);
        launch = LINKER.downcallHandle(lib.findOrThrow("gantry_emu_launch"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        MethodHandle list = LINKER.downcallHandle(lib.findOrThrow("gantry_emu_kernels"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            int need = (int) list.invokeExact(MemorySegment.NULL, 0);
            MemorySegment buf = a.allocate(need);
            int ignored = (int) list.invokeExact(buf, need);
            kernels = Arrays.stream(buf.getString(0).split("\n")).filter(s -> !s.isEmpty()).toList();
        } catch (Throwable t) {
            throw new IllegalStateException("cannot list the kernels of " + library, t);
        }
    }

    /**
     * The library the worker build made, at {@code gantry.cuda.emu.library} (tests set it) or
     * {@code worker/target/cuda-emu/libgantry_cuda_emu.so}.
     *
     * @throws IllegalStateException naming the path when it is not there (no g++ at build time)
     */
    public static EmulatedDevice open() {
        Path library = Path.of(System.getProperty("gantry.cuda.emu.library", "target/cuda-emu/libgantry_cuda_emu.so"));
        if (!Files.isRegularFile(library)) {
            throw new IllegalStateException("no CPU build of the CUDA kernels at " + library.toAbsolutePath()
                    + " (worker/src/main/cuda/build.sh makes it with g++)");
        }
        return new EmulatedDevice(library.toAbsolutePath());
    }

    /** The kernels the library holds, by name. */
    public List<String> kernels() {
        return kernels;
    }

    @Override
    public String name() {
        return "CPU emulation";
    }

    @Override
    public long alloc(long bytes) {
        long size = Math.max(256, (bytes + 255) & ~255L);
        try {
            MemorySegment p = (MemorySegment) ALIGNED_ALLOC.invokeExact(256L, size);
            if (p.address() == 0) {
                throw new OutOfMemoryError("emulated device: no " + size + " bytes");
            }
            return p.address();
        } catch (Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void free(long address) {
        try {
            FREE.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void copyToDevice(MemorySegment src, long dst) {
        MemorySegment.ofAddress(dst).reinterpret(src.byteSize()).copyFrom(src);
    }

    @Override
    public void copyToHost(long src, MemorySegment dst) {
        dst.copyFrom(MemorySegment.ofAddress(src).reinterpret(dst.byteSize()));
    }

    @Override
    public void zero(long address, long bytes) {
        MemorySegment.ofAddress(address).reinterpret(bytes).fill((byte) 0);
    }

    @Override
    public void launch(String name, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        try (Arena a = Arena.ofConfined()) {
            List<KernelArgs.Arg> list = args.args();
            MemorySegment values = a.allocate(8L * Math.max(1, list.size()), 8);
            MemorySegment params = a.allocate(ValueLayout.ADDRESS, Math.max(1, list.size()));
            for (int i = 0; i < list.size(); i++) {
                KernelArgs.Arg arg = list.get(i);
                MemorySegment slot = values.asSlice(8L * i, 8);
                if (arg.bytes() == 8) {
                    slot.set(ValueLayout.JAVA_LONG, 0, arg.bits());
                } else {
                    slot.set(ValueLayout.JAVA_INT, 0, (int) arg.bits());
                }
                params.setAtIndex(ValueLayout.ADDRESS, i, slot);
            }
            MemorySegment error = a.allocate(ERROR_BYTES);
            int rc = (int) launch.invokeExact(a.allocateFrom(name), grid.x(), grid.y(), grid.z(), block.x(),
                    block.y(), block.z(), sharedBytes, params, error, ERROR_BYTES);
            if (rc != 0) {
                throw new DeviceException("kernel launch failed: " + error.getString(0));
            }
        } catch (DeviceException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A graph here is its launches, run in turn by {@link #launchGraph}. */
    @Override
    public long createGraph(List<Launch> launches) {
        long id = nextGraph++;
        graphs.put(id, List.copyOf(launches));
        return id;
    }

    @Override
    public void launchGraph(long graph) {
        List<Launch> launches = graphs.get(graph);
        if (launches == null) {
            throw new DeviceException("no graph " + graph + " (destroyed, or never made)");
        }
        for (Launch l : launches) {
            launch(l.kernel(), l.grid(), l.block(), l.sharedBytes(), l.args());
        }
    }

    @Override
    public void destroyGraph(long graph) {
        if (graphs.remove(graph) == null) {
            throw new DeviceException("no graph " + graph + " to destroy");
        }
    }

    @Override
    public long[] memoryInfo() {
        long max = Runtime.getRuntime().maxMemory();
        return new long[] {max, max};
    }

    @Override
    public void close() {
        arena.close();
    }

    private static MethodHandle libc(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), fd);
    }
}
