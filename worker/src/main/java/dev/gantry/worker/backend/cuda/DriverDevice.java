package dev.gantry.worker.backend.cuda;

import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.CudaException;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUDA_KERNEL_NODE_PARAMS;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUgraphNode;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * A real NVIDIA GPU through the CUDA driver API (JCuda, which needs only the driver's {@code
 * libcuda.so.1}, no toolkit): the device's primary context, the kernel modules of {@link
 * KernelImages} loaded with {@code cuModuleLoadData}, launches on the default stream.
 */
public final class DriverDevice implements Device {
    private static final int DEFAULT_SHARED_LIMIT = 48 * 1024;
    private static final long COPY_CHUNK = 1L << 30;

    private final CUdevice device;
    private final CUcontext context;
    private final String name;
    private final List<CUmodule> modules = new ArrayList<>();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<String, Integer> sharedLimit = new HashMap<>();
    private final Map<Long, CUgraphExec> graphs = new HashMap<>();
    private long nextGraph = 1;
    private final int major;
    private final int minor;
    /** Threads on which the context is current: a driver call needs it on the calling thread. */
    private final ThreadLocal<Boolean> bound = ThreadLocal.withInitial(() -> false);

    private DriverDevice(int ordinal) {
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuInit(0);
        int[] count = {0};
        JCudaDriver.cuDeviceGetCount(count);
        if (ordinal >= count[0]) {
            throw new CudaUnavailableException("no CUDA device " + ordinal + " (the driver sees " + count[0] + ")");
        }
        device = new CUdevice();
        JCudaDriver.cuDeviceGet(device, ordinal);
        context = new CUcontext();
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        JCudaDriver.cuCtxSetCurrent(context);
        bound.set(true);
        int[] v = {0};
        JCudaDriver.cuDeviceGetAttribute(v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
        major = v[0];
        JCudaDriver.cuDeviceGetAttribute(v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        minor = v[0];
        byte[] raw = new byte[256];
        JCudaDriver.cuDeviceGetName(raw, raw.length, device);
        int end = 0;
        while (end < raw.length && raw[end] != 0) {
            end++;
        }
        name = new String(raw, 0, end, StandardCharsets.UTF_8) + " (sm_" + major + minor + ")";
        if (major < 8) {
            throw new CudaUnavailableException(name + " is older than sm_80, the oldest GPU the kernels are built for");
        }
        for (String module : KernelImages.modules()) {
            KernelImages.Image image = KernelImages.image(module, major, minor);
            CUmodule m = new CUmodule();
            JCudaDriver.cuModuleLoadData(m, image.data());
            modules.add(m);
        }
    }

    /**
     * The GPU of this ordinal, its context current on the calling thread.
     *
     * @throws CudaUnavailableException saying why when there is no driver, no such GPU, or no
     *     kernels in the jar
     */
    public static DriverDevice open(int ordinal) {
        if (KernelImages.modules().isEmpty()) {
            throw new CudaUnavailableException("the worker was built without CUDA kernels (no nvcc at build time)");
        }
        try {
            return new DriverDevice(ordinal);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            // JCuda's message holds every path it tried, stack traces and all: its first line says enough.
            String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            throw new CudaUnavailableException("no CUDA driver (libcuda.so.1) here: " + first);
        } catch (CudaException e) {
            throw new CudaUnavailableException("the CUDA driver refused: " + e.getMessage());
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long alloc(long bytes) {
        bind();
        Address p = new Address();
        JCudaDriver.cuMemAlloc(p, Math.max(256, bytes));
        return p.address();
    }

    @Override
    public void free(long address) {
        bind();
        JCudaDriver.cuMemFree(at(address));
    }

    @Override
    public void copyToDevice(MemorySegment src, long dst) {
        bind();
        for (long at = 0; at < src.byteSize(); at += COPY_CHUNK) { // a ByteBuffer holds under 2 GiB
            MemorySegment part = src.asSlice(at, Math.min(COPY_CHUNK, src.byteSize() - at));
            JCudaDriver.cuMemcpyHtoD(at(dst + at), host(part), part.byteSize());
        }
    }

    @Override
    public void copyToHost(long src, MemorySegment dst) {
        bind();
        for (long at = 0; at < dst.byteSize(); at += COPY_CHUNK) {
            MemorySegment part = dst.asSlice(at, Math.min(COPY_CHUNK, dst.byteSize() - at));
            JCudaDriver.cuMemcpyDtoH(host(part), at(src + at), part.byteSize());
        }
    }

    @Override
    public void zero(long address, long bytes) {
        bind();
        JCudaDriver.cuMemsetD8(at(address), (byte) 0, bytes);
    }

    @Override
    public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        bind();
        CUfunction f = function(kernel, sharedBytes);
        JCudaDriver.cuLaunchKernel(f, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(), sharedBytes, null,
                params(args), null);
    }

    /**
     * A graph of kernel nodes, each depending on the one before (the order of the default
     * stream), instantiated at once; the driver copies each node's argument values here.
     */
    @Override
    public long createGraph(List<Launch> launches) {
        bind();
        CUgraph graph = new CUgraph();
        JCudaDriver.cuGraphCreate(graph, 0);
        try {
            CUgraphNode previous = null;
            for (Launch l : launches) {
                CUDA_KERNEL_NODE_PARAMS p = new CUDA_KERNEL_NODE_PARAMS();
                p.func = function(l.kernel(), l.sharedBytes());
                p.gridDimX = l.grid().x();
                p.gridDimY = l.grid().y();
                p.gridDimZ = l.grid().z();
                p.blockDimX = l.block().x();
                p.blockDimY = l.block().y();
                p.blockDimZ = l.block().z();
                p.sharedMemBytes = l.sharedBytes();
                p.kernelParams = params(l.args());
                CUgraphNode node = new CUgraphNode();
                CUgraphNode[] deps = previous == null ? new CUgraphNode[0] : new CUgraphNode[] {previous};
                JCudaDriver.cuGraphAddKernelNode(node, graph, deps, deps.length, p);
                previous = node;
            }
            CUgraphExec exec = new CUgraphExec();
            JCudaDriver.cuGraphInstantiate(exec, graph, 0);
            long id = nextGraph++;
            graphs.put(id, exec);
            return id;
        } finally {
            JCudaDriver.cuGraphDestroy(graph); // the executable graph keeps what it needs
        }
    }

    /** Runs the graph on the default stream, after the work before it and before what follows. */
    @Override
    public void launchGraph(long graph) {
        bind();
        CUgraphExec exec = graphs.get(graph);
        if (exec == null) {
            throw new DeviceException("no graph " + graph + " (destroyed, or never made)");
        }
        JCudaDriver.cuGraphLaunch(exec, null);
    }

    @Override
    public void destroyGraph(long graph) {
        bind();
        CUgraphExec exec = graphs.remove(graph);
        if (exec != null) {
            JCudaDriver.cuGraphExecDestroy(exec);
        }
    }

    /** cuLaunchKernel's argument array: a pointer to each argument's bytes. */
    private static Pointer params(KernelArgs args) {
        List<KernelArgs.Arg> list = args.args();
        NativePointerObject[] params = new NativePointerObject[list.size()];
        for (int i = 0; i < params.length; i++) {
            KernelArgs.Arg a = list.get(i);
            params[i] = a.bytes() == 8 ? Pointer.to(new long[] {a.bits()}) : Pointer.to(new int[] {(int) a.bits()});
        }
        return Pointer.to(params);
    }

    /** Waits for all work issued so far; a kernel's fault surfaces here as an exception. */
    public void synchronize() {
        bind();
        JCudaDriver.cuCtxSynchronize();
    }

    @Override
    public long[] memoryInfo() {
        bind();
        long[] free = {0};
        long[] total = {0};
        JCudaDriver.cuMemGetInfo(free, total);
        return new long[] {free[0], total[0]};
    }

    @Override
    public void close() {
        bind();
        for (CUgraphExec exec : graphs.values()) {
            JCudaDriver.cuGraphExecDestroy(exec);
        }
        graphs.clear();
        for (CUmodule m : modules) {
            JCudaDriver.cuModuleUnload(m);
        }
        modules.clear();
        functions.clear();
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }

    /**
     * Makes the device's context current on the calling thread, once per thread: the model loads on
     * one thread and the engine's step loop computes on another.
     */
    private void bind() {
        if (!bound.get()) {
            JCudaDriver.cuCtxSetCurrent(context);
            bound.set(true);
        }
    }

    /** The kernel, allowed {@code sharedBytes} of dynamic shared memory (above 48 KiB it must ask). */
    private CUfunction function(String kernel, int sharedBytes) {
        CUfunction f = function(kernel);
        if (sharedBytes > DEFAULT_SHARED_LIMIT && sharedLimit.getOrDefault(kernel, DEFAULT_SHARED_LIMIT) < sharedBytes) {
            JCudaDriver.cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
            sharedLimit.put(kernel, sharedBytes);
        }
        return f;
    }

    private CUfunction function(String kernel) {
        CUfunction f = functions.get(kernel);
        if (f != null) {
            return f;
        }
        for (CUmodule m : modules) {
            CUfunction candidate = new CUfunction();
            try {
                JCudaDriver.cuModuleGetFunction(candidate, m, kernel);
                functions.put(kernel, candidate);
                return candidate;
            } catch (CudaException notInThisModule) {
                // try the next module
            }
        }
        throw new DeviceException("no kernel " + kernel + " in the worker's CUDA modules");
    }

    private static CUdeviceptr at(long address) {
        return (CUdeviceptr) new CUdeviceptr().withByteOffset(address);
    }

    /** A host pointer JCuda accepts for a native segment (its address) or a heap one (its array). */
    private static Pointer host(MemorySegment s) {
        if (s.isNative()) {
            return s.byteSize() == 0 ? new Pointer() : Pointer.to(s.asByteBuffer());
        }
        Object base = s.heapBase().orElseThrow();
        long offset = s.address(); // byte offset into the array
        Pointer p = switch (base) {
            case float[] a -> Pointer.to(a);
            case int[] a -> Pointer.to(a);
            case byte[] a -> Pointer.to(a);
            case long[] a -> Pointer.to(a);
            case short[] a -> Pointer.to(a);
            default -> throw new IllegalArgumentException("no copies from a " + base.getClass().getSimpleName());
        };
        return offset == 0 ? p : p.withByteOffset(offset);
    }

    /** A CUdeviceptr whose address cuMemAlloc fills in, readable as a long. */
    private static final class Address extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }
}
