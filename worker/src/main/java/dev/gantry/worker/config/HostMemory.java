package dev.gantry.worker.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * How much host memory the CPU backend's KV cache may take, which lives off the Java heap: the
 * process's memory limit (the container's cgroup limit, else the machine's RAM) less the largest
 * heap the JVM may grow to, the backend's other native memory (packed weights) and a reserve for
 * the JVM's own native memory (classes, compiled code, thread stacks); and no more than the
 * machine has available now (MemAvailable) less the heap not yet committed. The model file is
 * mapped and its pages are cache the kernel can reclaim, so it is not subtracted.
 */
public final class HostMemory {
    /** The JVM's native memory beyond the heap (metaspace, code cache, stacks, direct buffers). */
    static final long JVM_RESERVE = 256L << 20;

    private HostMemory() {}

    /**
     * @param otherNativeBytes native memory the backend already holds (packed weights)
     * @return bytes still free for the KV cache, at least 0
     */
    public static long freeForKvCache(long otherNativeBytes) {
        Runtime rt = Runtime.getRuntime();
        long maxHeap = rt.maxMemory();
        long committedHeap = rt.totalMemory();
        OptionalLong limit = cgroupLimit();
        long total = meminfo("MemTotal:").orElse(Long.MAX_VALUE);
        long cap = Math.min(total, limit.orElse(Long.MAX_VALUE));
        long free = cap - maxHeap - otherNativeBytes - JVM_RESERVE;
        OptionalLong available = meminfo("MemAvailable:");
        if (available.isPresent()) {
            free = Math.min(free, available.getAsLong() - Math.max(0, maxHeap - committedHeap) - JVM_RESERVE);
        }
        return Math.max(0, free);
    }

    /** The cgroup (v2, else v1) memory limit of this process, if one is set. */
    static OptionalLong cgroupLimit() {
        OptionalLong v2 = number(Path.of("/sys/fs/cgroup/memory.max"));
        if (v2.isPresent()) {
            return v2;
        }
        OptionalLong v1 = number(Path.of("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
        // v1 writes a page-rounded Long.MAX_VALUE for "no limit"
        return v1.isPresent() && v1.getAsLong() < (1L << 60) ? v1 : OptionalLong.empty();
    }

    private static OptionalLong number(Path file) {
        try {
            String s = Files.readString(file).strip();
            return s.equals("max") ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(s));
        } catch (IOException | NumberFormatException | SecurityException e) {
            return OptionalLong.empty();
        }
    }

    /** A field of /proc/meminfo in bytes. */
    private static OptionalLong meminfo(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith(field)) {
                    String[] parts = line.substring(field.length()).strip().split("\\s+");
                    return OptionalLong.of(Long.parseLong(parts[0]) * 1024);
                }
            }
        } catch (IOException | NumberFormatException | SecurityException e) {
            // not Linux: no figure
        }
        return OptionalLong.empty();
    }
}
