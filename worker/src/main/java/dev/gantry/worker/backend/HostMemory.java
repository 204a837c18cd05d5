package dev.gantry.worker.backend;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Large native buffers (the packed weights, the KV cache) on 2 MB pages where Linux gives them:
 * anonymous memory mapped at a 2 MB boundary and advised {@code MADV_HUGEPAGE}, so that transparent
 * huge pages back it even where the system's setting is {@code madvise} (the common default).
 *
 * <p>Why: decode streams every weight once a token. With 4 KB pages a 1B model's weights span
 * 170,000 pages; each new page costs a TLB miss (a two-level walk in a virtual machine) and
 * stops the hardware prefetchers, which do not cross a page. The products of a 1B Q4_0 step ran
 * 15-25% faster on 2 MB pages ({@code docs/native-cpu.md}, "Huge pages").
 *
 * <p>Elsewhere (not Linux, mmap refused, {@code GANTRY_HUGE_PAGES=off} or {@code
 * -Dgantry.huge-pages=off}) the buffer comes from {@link Arena#allocate} as before. Either way the
 * memory is zero and freed when its arena closes.
 */
public final class HostMemory {
    private static final Logger LOG = Logger.getLogger(HostMemory.class);
    /** The size of an x86-64 and (4 KB granule) aarch64 huge page. */
    static final long HUGE_PAGE = 2L << 20;
    /** From Linux's uapi headers; the same on x86-64 and aarch64. */
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MADV_HUGEPAGE = 14;
    private static final Libc LIBC = Libc.load().orElse(null);

    private HostMemory() {
    }

    /**
     * {@code bytes} of zeroed native memory, aligned to 64 bytes at least, on huge pages where
     * possible, freed when {@code arena} closes.
     *
     * @param resident whether every page must be in memory on return (written once), as for a
     *                 cache that must not fail later for want of memory; a buffer about to be
     *                 written whole anyway need not be
     */
    public static MemorySegment allocate(long bytes, boolean resident, Arena arena) {
        if (LIBC == null || bytes < HUGE_PAGE || !enabled()) {
            return arena.allocate(bytes, 64);
        }
        long length = roundUp(bytes, HUGE_PAGE);
        try {
            // Map a huge page more than needed, keep the aligned middle and give back the ends.
            MemorySegment mapped = (MemorySegment) LIBC.mmap.invokeExact(MemorySegment.NULL, length + HUGE_PAGE,
                    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
            long at = mapped.address();
            if (at == -1L) {
                return arena.allocate(bytes, 64);
            }
            long aligned = roundUp(at, HUGE_PAGE);
            unmap(at, aligned - at);
            unmap(aligned + length, at + HUGE_PAGE - aligned);
            int ignored = (int) LIBC.madvise.invokeExact(MemorySegment.ofAddress(aligned), length, MADV_HUGEPAGE);
            MemorySegment memory = MemorySegment.ofAddress(aligned).reinterpret(bytes, arena, s -> unmap(aligned, length));
            if (resident) {
                memory.fill((byte) 0); // already zero: this faults every page in
            }
            return memory;
        } catch (Throwable t) {
            throw new IllegalStateException("mmap of " + bytes + " bytes failed", t);
        }
    }

    /**
     * What the startup log says of the pages large buffers get, e.g. "2 MB pages (transparent huge
     * pages: madvise)" or "4 KB pages (transparent huge pages: never)".
     */
    public static String describe() {
        if (LIBC == null) {
            return "the system's default pages";
        }
        if (!enabled()) {
            return "4 KB pages (GANTRY_HUGE_PAGES=off)";
        }
        String mode = transparentHugePages().orElse("unknown");
        return (mode.equals("never") ? "4 KB pages" : "2 MB pages where the kernel has them")
                + " (transparent huge pages: " + mode + ")";
    }

    static boolean enabled() {
        String setting = System.getenv().getOrDefault("GANTRY_HUGE_PAGES",
                System.getProperty("gantry.huge-pages", "on"));
        return !setting.trim().toLowerCase(Locale.ROOT).matches("off|false|0|no");
    }

    /** The bracketed choice of /sys/kernel/mm/transparent_hugepage/enabled, e.g. "madvise". */
    static Optional<String> transparentHugePages() {
        try {
            String line = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
            int open = line.indexOf('['), close = line.indexOf(']');
            return open >= 0 && close > open ? Optional.of(line.substring(open + 1, close)) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** {@code value} rounded up to a multiple of {@code multiple}. */
    public static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }

    private static void unmap(long address, long length) {
        if (length <= 0) {
            return;
        }
        try {
            int ignored = (int) LIBC.munmap.invokeExact(MemorySegment.ofAddress(address), length);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** mmap, munmap and madvise from the C library, on Linux. */
    private record Libc(MethodHandle mmap, MethodHandle munmap, MethodHandle madvise) {
        static Optional<Libc> load() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
                return Optional.empty();
            }
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                return Optional.of(new Libc(
                        linker.downcallHandle(libc.findOrThrow("mmap"), FunctionDescriptor.of(ValueLayout.ADDRESS,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG)),
                        linker.downcallHandle(libc.findOrThrow("munmap"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG)),
                        linker.downcallHandle(libc.findOrThrow("madvise"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT))));
            } catch (RuntimeException e) {
                LOG.debugf("no mmap from the C library (%s): large buffers on the default pages", e);
                return Optional.empty();
            }
        }
    }
}
