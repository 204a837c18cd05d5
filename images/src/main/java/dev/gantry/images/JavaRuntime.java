package dev.gantry.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The Java runtime layer of the scratch-based images: a jlink'd JDK 25 holding only the modules
 * the worker and the operator use. Both images get the same runtime, so the layer (by far the
 * largest) has one digest and a node that pulled one image has it for the other.
 */
public final class JavaRuntime {

    /**
     * The modules of the runtime. {@code RuntimeModulesIT} checks with jdeps that every module the
     * two applications' classes refer to is here (or is known to be needed only by development
     * tools). Beyond those found by jdeps: jdk.crypto.ec (TLS with EC keys: kube-apiserver
     * certificates), jdk.naming.dns (Netty's DNS resolver reads the name servers through JNDI),
     * jdk.zipfs (Quarkus opens jars as file systems), jdk.jfr and jdk.management (flight
     * recordings and JMX of a running pod, the usual way to see into a JVM without a shell).
     */
    public static final List<String> MODULES = List.of(
            "java.base", "java.desktop", "java.logging", "java.management", "java.naming", "java.net.http",
            "java.rmi", "java.sql", "jdk.crypto.ec", "jdk.incubator.vector", "jdk.jfr", "jdk.management",
            "jdk.naming.dns", "jdk.unsupported", "jdk.zipfs");

    /**
     * Native libraries of java.desktop that only a display or a sound card uses. They are removed:
     * they link against X11 and ALSA, which a headless server image does not carry, and the JVM
     * loads them only when asked to open a window or a sound line (the images run headless).
     */
    static final List<String> DESKTOP_ONLY_LIBRARIES = List.of(
            "libawt_xawt.so", "libjawt.so", "libjsound.so", "libsplashscreen.so");

    private JavaRuntime() {
    }

    /**
     * Links the runtime into {@code output} with the jlink of {@code jdk}. Reuses an earlier one
     * when the JDK's release file and the module list are unchanged: jlink with the class-data
     * archives takes tens of seconds on a small machine.
     */
    public static Path link(Path jdk, Path output) throws IOException, InterruptedException {
        Path stamp = output.resolveSibling(output.getFileName() + ".stamp");
        String want = Files.readString(jdk.resolve("release")) + "\nmodules=" + String.join(",", MODULES)
                + "\nremoved=" + String.join(",", DESKTOP_ONLY_LIBRARIES) + "\n";
        if (Files.isDirectory(output) && Files.exists(stamp) && Files.readString(stamp).equals(want)) {
            return output;
        }
        deleteRecursively(output);
        Files.deleteIfExists(stamp);
        Files.createDirectories(output.getParent());
        List<String> command = new ArrayList<>(List.of(
                jdk.resolve("bin/jlink").toString(),
                "--add-modules", String.join(",", MODULES),
                "--strip-debug", "--no-man-pages", "--no-header-files",
                "--compress=zip-6",
                // The JDK's default class-data archives, built for exactly these modules: the JVM
                // maps them at start instead of parsing the JDK's classes again.
                "--generate-cds-archive",
                "--output", output.toString()));
        Processes.run(command, output.getParent(), "jlink");
        for (String library : DESKTOP_ONLY_LIBRARIES) {
            Files.deleteIfExists(output.resolve("lib").resolve(library));
        }
        Files.writeString(stamp, want);
        return output;
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(p);
            }
        }
    }
}
