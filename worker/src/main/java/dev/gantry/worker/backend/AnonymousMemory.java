package dev.gantry.worker.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Large zeroed native memory whose pages the kernel supplies on first touch: an anonymous
 * {@code mmap} on Linux, freed with {@code munmap} when its arena closes. A KV cache sized for
 * every request a worker may run then costs resident memory only as far as requests fill it,
 * and allocating it costs no time. Elsewhere (no {@code mmap}), {@link Arena#allocate}, which
 * zeroes every byte up front.
 */
final class AnonymousMemory {
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20; // the same on x86-64 and aarch64 Linux
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;

    static {
        MethodHandle mmap = null;
        MethodHandle munmap = null;
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            Linker linker = Linker.nativeLinker();
            var lookup = linker.defaultLookup();
            var mmapAt = lookup.find("mmap");
            var munmapAt = lookup.find("munmap");
            if (mmapAt.isPresent() && munmapAt.isPresent()) {
                mmap = linker.downcallHandle(mmapAt.get(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(munmapAt.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            }
        }
        MMAP = mmap;
        MUNMAP = munmap;
    }

    private AnonymousMemory() {}

    /** {@code bytes} zeroed bytes, page-aligned where mapped, freed when {@code arena} closes. */
    static MemorySegment allocate(Arena arena, long bytes) {
        if (MMAP == null || bytes == 0) {
            return arena.allocate(bytes, 64);
        }
        MemorySegment at;
        try {
            at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1,
                    0L);
        } catch (Throwable e) {
            throw new IllegalStateException("mmap failed", e);
        }
        if (at.address() == -1L) { // MAP_FAILED
            throw new OutOfMemoryError("cannot map " + bytes + " bytes of anonymous memory for the KV cache");
        }
        return at.reinterpret(bytes, arena, segment -> unmap(segment.address(), bytes));
    }

    private static void unmap(long address, long bytes) {
        try {
            int rc = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
            if (rc != 0) {
                throw new IllegalStateException("munmap of " + bytes + " bytes failed");
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("munmap failed", e);
        }
    }
}
