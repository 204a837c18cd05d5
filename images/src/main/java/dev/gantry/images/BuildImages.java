package dev.gantry.images;

import com.google.cloud.tools.jib.api.JibContainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds the worker and operator images as OCI tarballs ({@code images/target/gantry-worker.tar},
 * {@code gantry-operator.tar}), which {@code podman load}, {@code docker load}, {@code skopeo copy
 * oci-archive:...} and {@code kind load image-archive} take. Run by Maven in the images module's
 * package phase, with options as {@code --name=value}: repo-root, out, version, base, repository,
 * source, jdk.
 */
public final class BuildImages {

    private BuildImages() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        Path repoRoot = Path.of(require(options, "repo-root")).toAbsolutePath();
        Path out = Files.createDirectories(Path.of(require(options, "out")).toAbsolutePath());
        BuildSettings settings = new BuildSettings(options.getOrDefault("base", "scratch"),
                require(options, "repository"), require(options, "version"), require(options, "source"),
                GitInfo.of(repoRoot), out);

        Path runtime = null;
        Path system = null;
        if (settings.scratch()) {
            long start = System.nanoTime();
            Path jdk = Path.of(options.getOrDefault("jdk", System.getProperty("java.home")));
            runtime = JavaRuntime.link(jdk, out.resolve("java-runtime"));
            Set<Path> libraries = SharedLibraries.of(runtime);
            system = SystemFiles.stage(out.resolve("system-layer"), libraries);
            System.out.printf("gantry-images: Java runtime (%d modules) and %d C libraries in %.1f s%n",
                    JavaRuntime.MODULES.size(), libraries.size(), (System.nanoTime() - start) / 1e9);
        }
        ImageAssembler assembler = new ImageAssembler(settings);
        for (ImageSpec spec : List.of(
                ImageSpec.worker(repoRoot.resolve("worker/target/quarkus-app")),
                ImageSpec.operator(repoRoot.resolve("operator/target/quarkus-app")))) {
            long start = System.nanoTime();
            Path tarball = out.resolve(spec.name() + ".tar");
            JibContainer image = assembler.build(spec, tarball, runtime, system);
            System.out.printf("gantry-images: %s:%s -> %s (%s, %d MiB, %.1f s)%n", spec.name(), settings.version(),
                    repoRoot.relativize(tarball), image.getDigest(), Files.size(tarball) >> 20,
                    (System.nanoTime() - start) / 1e9);
        }
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (!arg.startsWith("--") || eq < 0) {
                throw new IllegalArgumentException("expected --name=value, got " + arg);
            }
            options.put(arg.substring(2, eq), arg.substring(eq + 1));
        }
        return options;
    }

    private static String require(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("missing --" + name + "=...");
        }
        return value;
    }
}
