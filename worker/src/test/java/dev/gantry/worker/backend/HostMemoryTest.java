package dev.gantry.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HostMemoryTest {

    private static boolean linux() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
    }

    @Test
    void aLargeBufferIsZeroWritableAndOnAHugePageBoundaryOnLinux() {
        long bytes = 5 * HostMemory.HUGE_PAGE + 12345;
        for (boolean resident : new boolean[] {false, true}) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment m = HostMemory.allocate(bytes, resident, arena);
                assertThat(m.byteSize()).isEqualTo(bytes);
                if (linux() && HostMemory.enabled()) {
                    assertThat(m.address() % HostMemory.HUGE_PAGE).isZero();
                } else {
                    assertThat(m.address() % 64).isZero();
                }
                SplittableRandom random = new SplittableRandom();
                for (int i = 0; i < 1000; i++) { // zero everywhere, the last byte included
                    long at = i == 0 ? bytes - 1 : random.nextLong(bytes);
                    assertThat(m.get(ValueLayout.JAVA_BYTE, at)).isZero();
                }
                m.fill((byte) 7);
                assertThat(m.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 7);
                assertThat(m.get(ValueLayout.JAVA_BYTE, bytes - 1)).isEqualTo((byte) 7);
            }
        }
    }

    @Test
    void manyBuffersComeAndGoWithoutLeakingTheirMappings() {
        assumeTrue(linux(), "the address space is read from /proc/self/status");
        long before = virtualKb();
        for (int i = 0; i < 50; i++) { // 50 x 8 MB: 400 MB of address space if the mappings stayed
            try (Arena arena = Arena.ofConfined()) {
                HostMemory.allocate(3 * HostMemory.HUGE_PAGE + i * 4096L, false, arena).fill((byte) 1);
            }
        }
        assertThat(virtualKb() - before).as("address space kept, kB").isLessThan(100 << 10);
    }

    @Test
    void smallBuffersAndEmptyOnesComeFromTheArena() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = HostMemory.allocate(1000, true, arena);
            assertThat(small.byteSize()).isEqualTo(1000);
            assertThat(small.address() % 64).isZero();
            assertThat(HostMemory.allocate(0, false, arena).byteSize()).isZero();
        }
    }

    @Test
    void theStartupLineNamesThePages() {
        assertThat(HostMemory.describe()).containsAnyOf("2 MB pages", "4 KB pages", "default pages");
    }

    /** VmSize: the process's address space, kB. */
    private static long virtualKb() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmSize:"))
                    .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElseThrow();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
