package dev.gantry.worker.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What nvcc put on the class path (and so into the jar): every {@code .cu} file as PTX for sm_80
 * that a CUDA 13.0 driver loads (ISA 9.0) and as an sm_90 ELF cubin, and together they define
 * every kernel the CPU build has, so the backend launches nothing the GPU lacks. Skipped without
 * nvcc, unless {@code gantry.cuda.required} (CI) makes that a failure.
 */
class KernelImagesTest {
    private static final Path SOURCES = Path.of("src/main/cuda");

    @Test
    void everyKernelFileIsCompiledForTheDevice() throws IOException {
        List<String> modules = KernelImages.modules();
        if (!Boolean.getBoolean("gantry.cuda.required")) {
            assumeTrue(!modules.isEmpty(), "skipped: the worker was built without nvcc, so it has no CUDA kernels");
        }
        List<String> sources;
        try (Stream<Path> files = Files.list(SOURCES)) {
            sources = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu"))
                    .map(n -> n.substring(0, n.length() - 3)).sorted().toList();
        }
        assertThat(modules).containsExactlyInAnyOrderElementsOf(sources);
        assertThat(KernelImages.compiler()).isEqualTo("nvcc 13.0");

        List<String> entries = new ArrayList<>();
        Pattern entry = Pattern.compile("^\\.visible \\.entry (\\w+)\\(", Pattern.MULTILINE);
        for (String module : modules) {
            String ptx = new String(KernelImages.bytes(module + ".sm_80.ptx"), StandardCharsets.UTF_8);
            assertThat(ptx).as(module).contains(".version 9.0").contains(".target sm_80");
            Matcher m = entry.matcher(ptx);
            while (m.find()) {
                entries.add(m.group(1));
            }
            byte[] cubin = KernelImages.bytes(module + ".sm_90.cubin");
            assertThat(cubin).as(module + " cubin").startsWith(0x7f, 'E', 'L', 'F');
            KernelImages.Image onH100 = KernelImages.image(module, 9, 0);
            assertThat(onH100.kind()).isEqualTo("sm_90 cubin");
            KernelImages.Image onA100 = KernelImages.image(module, 8, 0);
            assertThat(onA100.kind()).isEqualTo("sm_80 PTX");
            assertThat(onA100.data()[onA100.data().length - 1]).as("PTX is NUL-terminated").isZero();
        }
        try (EmulatedDevice emulated = EmulatedKernels.open()) {
            List<String> kernels = emulated.kernels().stream().filter(k -> !k.startsWith("selftest_")).toList();
            assertThat(entries).containsExactlyInAnyOrderElementsOf(kernels);
        }
    }
}
