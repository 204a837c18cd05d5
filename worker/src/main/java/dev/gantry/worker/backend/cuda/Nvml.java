package dev.gantry.worker.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * NVIDIA's management library ({@code libnvidia-ml.so.1}, part of the driver) through FFM: what
 * the worker exports as GPU metrics, so that autoscaling on GPU utilization needs no DCGM
 * exporter. Present only where the driver is.
 */
public final class Nvml implements GpuMonitor {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final int SUCCESS = 0;
    private static final int NAME_BYTES = 96;

    private final MethodHandle handleByIndex;
    private final MethodHandle utilization;
    private final MethodHandle memory;
    private final MethodHandle power;
    private final MethodHandle name;
    private final MethodHandle uuid;
    private final int count;

    private Nvml(SymbolLookup lib) throws Throwable {
        MethodHandle init = LINKER.downcallHandle(lib.findOrThrow("nvmlInit_v2"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
        check((int) init.invokeExact(), "nvmlInit_v2");
        MethodHandle getCount = LINKER.downcallHandle(lib.findOrThrow("nvmlDeviceGetCount_v2"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        handleByIndex = LINKER.downcallHandle(lib.findOrThrow("nvmlDeviceGetHandleByIndex_v2"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        // nvmlUtilization_t {unsigned gpu, memory}; nvmlMemory_t {unsigned long long total, free, used}
        utilization = twoArgs(lib, "nvmlDeviceGetUtilizationRates");
        memory = twoArgs(lib, "nvmlDeviceGetMemoryInfo");
        power = twoArgs(lib, "nvmlDeviceGetPowerUsage"); // milliwatts
        name = LINKER.downcallHandle(lib.findOrThrow("nvmlDeviceGetName"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        uuid = LINKER.downcallHandle(lib.findOrThrow("nvmlDeviceGetUUID"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            check((int) getCount.invokeExact(n), "nvmlDeviceGetCount_v2");
            count = n.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** NVML where the driver's library loads and initialises, else empty. */
    public static Optional<Nvml> open() {
        try {
            return Optional.of(new Nvml(SymbolLookup.libraryLookup("libnvidia-ml.so.1", Arena.global())));
        } catch (Throwable e) { // no library (IllegalArgumentException), no driver, no GPU: no GPU metrics
            return Optional.empty();
        }
    }

    @Override
    public int count() {
        return count;
    }

    @Override
    public GpuSample sample(int index) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment handle = a.allocate(ValueLayout.ADDRESS);
            check((int) handleByIndex.invokeExact(index, handle), "nvmlDeviceGetHandleByIndex_v2");
            MemorySegment device = handle.get(ValueLayout.ADDRESS, 0);
            MemorySegment util = a.allocate(8, 4);
            check((int) utilization.invokeExact(device, util), "nvmlDeviceGetUtilizationRates");
            MemorySegment mem = a.allocate(24, 8);
            check((int) memory.invokeExact(device, mem), "nvmlDeviceGetMemoryInfo");
            MemorySegment mw = a.allocate(ValueLayout.JAVA_INT);
            int powerRc = (int) power.invokeExact(device, mw); // not every board reports power
            MemorySegment text = a.allocate(NAME_BYTES);
            check((int) name.invokeExact(device, text, NAME_BYTES), "nvmlDeviceGetName");
            String deviceName = text.getString(0);
            check((int) uuid.invokeExact(device, text, NAME_BYTES), "nvmlDeviceGetUUID");
            return new GpuSample(text.getString(0), deviceName, util.get(ValueLayout.JAVA_INT, 0),
                    mem.get(ValueLayout.JAVA_LONG, 16), mem.get(ValueLayout.JAVA_LONG, 0),
                    powerRc == SUCCESS ? Integer.toUnsignedLong(mw.get(ValueLayout.JAVA_INT, 0)) / 1000.0 : Double.NaN);
        } catch (DeviceException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static MethodHandle twoArgs(SymbolLookup lib, String fn) {
        return LINKER.downcallHandle(lib.findOrThrow(fn),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    }

    private static void check(int rc, String call) {
        if (rc != SUCCESS) {
            throw new DeviceException(call + " returned NVML error " + rc);
        }
    }
}
