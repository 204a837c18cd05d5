package dev.gantry.worker.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native kernels on aarch64, where no JDK of ours runs: {@code src/test/native/check_variants.c}
 * (every variant the CPU runs against the plain C one, on random weights of every quantized type;
 * attention on every variant against its own reference in doubles)
 * cross-compiled with Debian's gcc-aarch64-linux-gnu and run under qemu-user, whose default CPU has
 * the dot product; and the same program on this machine for its x86-64 variants. Also checks that
 * the jar carries the aarch64 library the build cross-compiled. Skipped, saying why, without the
 * cross compiler or qemu ({@code .ci/run} installs both).
 */
class NativeCrossArchIT {
    private static final Path SOURCES = Path.of("src/main/native");
    private static final Path CHECK = Path.of("src/test/native/check_variants.c");

    @TempDir
    Path dir;

    @Test
    void everyVariantOnThisMachineMatchesPlainC() throws Exception {
        assumeTrue(onPath("gcc"), "no gcc");
        Path exe = compile("gcc", "check-x86_64");
        String out = run(List.of(exe.toString()));
        assertThat(out).contains("Q5_K variant 0: reference", "attention dtype 2 variant 0: max difference")
                .doesNotContain("FAILED");
    }

    @Test
    void aarch64VariantsUnderQemuMatchPlainC() throws Exception {
        assumeTrue(System.getProperty("os.arch").matches("amd64|x86_64"), "cross-checks aarch64 from x86-64 only");
        assumeTrue(onPath("aarch64-linux-gnu-gcc"), "no aarch64 cross compiler (Debian: gcc-aarch64-linux-gnu)");
        assumeTrue(onPath("qemu-aarch64"), "no qemu-aarch64 (Debian: qemu-user)");
        Path exe = compile("aarch64-linux-gnu-gcc", "check-aarch64");
        String out = run(List.of("qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", exe.toString()));
        // variant 6: NEON with the dot product, for every type (the K-quants in plain C, bit for bit)
        for (String type : List.of("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K")) {
            assertThat(out).contains(type + " variant 6: max difference");
        }
        for (int dtype = 0; dtype < 3; dtype++) { // f32, f16, q8_0 caches: the generic-vector attention in NEON
            assertThat(out).contains("attention dtype " + dtype + " variant 6: max difference");
        }
        assertThat(out).doesNotContain("FAILED");
        assertThat(NativeCrossArchIT.class.getResource("/dev/gantry/worker/native/linux-aarch64/libgantry_cpu.so"))
                .as("the aarch64 library in the build's classes (and so in the jar)").isNotNull();
    }

    private Path compile(String compiler, String name) throws Exception {
        Path exe = dir.resolve(name);
        List<String> cmd = new ArrayList<>(List.of(compiler, "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                "-fno-math-errno", "-ffp-contract=off", "-I" + SOURCES, "-o", exe.toString(), CHECK.toString()));
        try (var files = Files.list(SOURCES)) {
            files.map(Path::toString).filter(f -> f.matches(".*/gantry_cpu[a-z0-9_]*\\.c")).sorted().forEach(cmd::add);
        }
        cmd.add("-lm");
        run(cmd);
        return exe;
    }

    private static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        // read to the end first (a full pipe would stall the process), then its exit status
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = p.waitFor(300, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        System.out.print(out);
        assertThat(done).as("%s finished within 300 s", cmd.get(0)).isTrue();
        assertThat(p.exitValue()).as("%s exit status; output:%n%s", String.join(" ", cmd), out).isZero();
        return out;
    }

    private static boolean onPath(String command) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, command))) {
                return true;
            }
        }
        return false;
    }
}
