package dev.gantry.images;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** Runs the few host tools the image build needs (jlink, ldd, git) and fails with their output. */
final class Processes {

    private Processes() {
    }

    /** Runs {@code command} in {@code dir}; returns its standard output, throws on a non-zero exit. */
    static String run(List<String> command, Path dir, String what) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = process.waitFor();
        if (exit != 0) {
            throw new IOException(what + " failed (exit " + exit + "): " + String.join(" ", command) + "\n" + output);
        }
        return output;
    }
}
