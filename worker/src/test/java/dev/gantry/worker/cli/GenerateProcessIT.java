package dev.gantry.worker.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./gantry generate} as users run it: the launcher and the packaged application's
 * classpath (built by the package phase before failsafe runs), in a process of its own. The
 * in-process GenerateCommandTest cannot see what the launcher's classpath lacks.
 */
class GenerateProcessIT {

    @TempDir
    Path tmp;

    @Test
    void generatesTheGreedyStoryWithNothingElseOnTheConsole() throws Exception {
        Path root = Path.of(System.getProperty("gantry.repo.root", "..")).toAbsolutePath().normalize();
        Path out = tmp.resolve("out.txt");
        Path err = tmp.resolve("err.txt");
        ProcessBuilder pb = new ProcessBuilder(root.resolve("gantry").toString(), "generate", "--model",
                TestModels.stories260K().toString(), "--prompt", "Once upon a time", "--max-tokens", "20",
                "--temperature", "0", "--device", "cpu").directory(root.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).as("gantry generate finished").isTrue();
        String stderr = Files.readString(err);
        assertThat(p.exitValue()).as(stderr).isZero();
        assertThat(Files.readString(out)).startsWith(", there was a little girl named Lily.");
        assertThat(stderr).contains("generated 20 tokens").doesNotContain("Exception", "SLF4J");
    }
}
