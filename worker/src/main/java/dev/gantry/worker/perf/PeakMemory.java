package dev.gantry.worker.perf;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak memory of this process. RSS is the kernel's high-water mark ({@code VmHWM}), which counts
 * the pages of the memory-mapped model that were read as well as the heap and native memory, as
 * it does for llama.cpp, which maps its model too. Heap is the sum of each heap pool's peak, an
 * upper bound of the peak of the whole heap.
 */
public final class PeakMemory {
    private PeakMemory() {}

    /** Peak resident set size in MiB, or -1 where /proc is not there (not Linux). */
    public static double peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Not Linux, or a format we do not know: reported as unknown.
        }
        return -1;
    }

    /** Peak heap use in MiB. */
    public static double peakHeapMb() {
        long bytes = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                bytes += pool.getPeakUsage().getUsed();
            }
        }
        return bytes / (1024.0 * 1024.0);
    }
}
