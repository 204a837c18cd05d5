package dev.gantry.worker.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * OpenAI's official Python SDK, pinned, in a virtual environment cached outside the repository
 * (made on first use from PyPI), for tests that drive the server as Python applications do.
 */
public final class OpenAiPython {
    public static final String PACKAGE = "openai==3.51.0";

    private OpenAiPython() {}

    /** The venv's python, creating the venv and installing the SDK on first use. */
    public static synchronized Path python() {
        Path venv = TestModels.cacheDir().resolve("openai-venv");
        Path python = venv.resolve("bin/python");
        if (Files.isExecutable(python) && exec(List.of(python.toString(), "-c",
                "import openai, sys; sys.exit(openai.__version__ != '" + PACKAGE.substring(PACKAGE.indexOf("==") + 2) + "')"),
                60).exit() == 0) {
            return python;
        }
        String system = System.getenv().getOrDefault("PYTHON", "python3");
        check(exec(List.of(system, "-m", "venv", venv.toString()), 300), "python3 -m venv " + venv);
        check(exec(List.of(python.toString(), "-m", "pip", "install", "--quiet", PACKAGE), 900), "pip install " + PACKAGE);
        return python;
    }

    /** Runs {@code worker/src/test/python/<script>} with the SDK's python; its standard output. */
    public static String run(String script, String... args) {
        Path path = Path.of(System.getProperty("gantry.repo.root", ".."), "worker/src/test/python", script);
        if (!Files.exists(path)) {
            path = Path.of("src/test/python", script);
        }
        List<String> command = new ArrayList<>(List.of(python().toString(), path.toString()));
        command.addAll(List.of(args));
        Result r = exec(command, 600);
        check(r, script);
        return r.out();
    }

    private record Result(int exit, String out, String err) {}

    private static void check(Result r, String what) {
        if (r.exit() != 0) {
            throw new IllegalStateException(what + " failed with exit code " + r.exit() + ":\n" + r.err());
        }
    }

    private static Result exec(List<String> command, int timeoutSeconds) {
        try {
            Path out = Files.createTempFile("openai-python", ".out");
            Path err = Files.createTempFile("openai-python", ".err");
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
            }
            Result r = new Result(done ? p.exitValue() : -1, Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8) + (done ? "" : "\n(timed out after " + timeoutSeconds + " s)"));
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            return r;
        } catch (IOException e) {
            return new Result(-2, "", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-3, "", "interrupted");
        }
    }
}
