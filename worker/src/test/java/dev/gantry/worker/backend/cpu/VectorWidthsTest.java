package dev.gantry.worker.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernels must be right at every vector width, not only this CPU's: 128 bits (NEON, SSE; a
 * byte vector then feeds two float vectors), 256 (AVX2) and 512 (AVX-512). The width is fixed
 * per JVM, so each other width runs the whole backend contract in a child JVM ({@link
 * VectorWidthCheck}); a width the CPU lacks is emulated by the JDK, slowly but exactly.
 */
class VectorWidthsTest {

    @ParameterizedTest(name = "{0} bits")
    @ValueSource(ints = {128, 256, 512})
    void backendContractHoldsAtWidth(int bits) throws IOException, InterruptedException {
        assumeTrue(bits / 32 != VectorBackend.vectorLanes(), "this JVM's width, covered by VectorBackendTest");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "--add-modules=jdk.incubator.vector",
                "-Dgantry.vector.bits=" + bits, "-cp", System.getProperty("java.class.path"),
                VectorWidthCheck.class.getName())).redirectErrorStream(true).start();
        boolean exited = p.waitFor(5, TimeUnit.MINUTES);
        if (!exited) {
            p.destroyForcibly();
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(exited).as("child JVM finished").isTrue();
        assertThat(output).contains("lanes=" + bits / 32).contains("failed=0").doesNotContain("cases=0 ");
        assertThat(p.exitValue()).as(output).isZero();
    }
}
