package dev.gantry.helm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * podman as the tests run it: under runc where it is installed, because crun (podman's default on
 * Debian) refuses hosts with cgroup v1 and v2 controllers side by side ("cgroups in hybrid mode
 * not supported"); GANTRY_PODMAN_RUNTIME chooses another.
 */
final class Podman {

    record Result(int exit, String output) {
    }

    private Podman() {
    }

    /** What podman, crun and runc say when the host does not let them create a container at all. */
    static final java.util.regex.Pattern RUNTIME_REFUSED = java.util.regex.Pattern.compile(
            "OCI runtime|OCI permission denied|runc create failed|crun:|cgroups? .*not supported|setrlimit|"
                    + "unshare|newuidmap|user namespaces|cannot set up namespace|mount proc");

    static boolean available() {
        return onPath("podman");
    }

    static Result run(List<String> args, int timeoutSeconds) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("podman"));
        String runtime = System.getenv().getOrDefault("GANTRY_PODMAN_RUNTIME", onPath("runc") ? "runc" : "");
        if (!runtime.isBlank()) {
            command.addAll(List.of("--runtime", runtime));
        }
        command.addAll(args);
        Path log = Files.createTempFile("podman", ".log");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + command + "\n" + Files.readString(log));
            }
            return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : (path + ":/usr/sbin:/sbin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
