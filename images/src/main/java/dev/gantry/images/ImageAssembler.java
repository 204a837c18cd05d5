package dev.gantry.images;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FilePermissions;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import com.google.cloud.tools.jib.api.buildplan.Port;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Builds one application image into an OCI tarball with Jib core: no Docker daemon, and no
 * registry when the base is scratch.
 *
 * <p>Layers, from the bottom: the system files (scratch only: /etc/passwd for the non-root user,
 * a /tmp, the C library), the Java runtime (scratch only), then the application split as it
 * changes: third-party jars (lib/), Quarkus's generated classes (quarkus/), and the project's own
 * code (app/ and quarkus-run.jar). A code change rebuilds and pushes only the last, small layers.
 * Files belong to root and are not writable by the user the application runs as.
 */
public final class ImageAssembler {
    /** Fixed file times: the same inputs give the same layer digests (reproducible builds). */
    private static final Instant FILE_TIME = Instant.EPOCH.plusSeconds(1);

    private final BuildSettings settings;

    public ImageAssembler(BuildSettings settings) {
        this.settings = settings;
    }

    /** Builds {@code spec} into {@code tarball}; the result has the image digest and id. */
    public JibContainer build(ImageSpec spec, Path tarball, Path runtime, Path systemFiles) throws Exception {
        if (!Files.isRegularFile(spec.appDir().resolve("quarkus-run.jar"))) {
            throw new IOException("no " + spec.appDir().resolve("quarkus-run.jar") + ": package " + spec.name() + " first");
        }
        JibContainerBuilder image;
        if (settings.scratch()) {
            image = Jib.fromScratch()
                    .addFileEntriesLayer(rootLayer("system", systemFiles))
                    .addFileEntriesLayer(layer("java-runtime", runtime, ImageSpec.JAVA_HOME));
        } else {
            image = Jib.from(settings.base());
        }
        image.setFormat(ImageFormat.OCI)
                .addFileEntriesLayer(layer("dependencies", spec.appDir().resolve("lib"), ImageSpec.APP_ROOT + "/lib"))
                .addFileEntriesLayer(layer("quarkus", spec.appDir().resolve("quarkus"), ImageSpec.APP_ROOT + "/quarkus"))
                .addFileEntriesLayer(applicationLayer(spec))
                .setEntrypoint(spec.entrypoint())
                .setProgramArguments(java.util.List.of())
                .setEnvironment(environment())
                .setExposedPorts(Set.of(Port.tcp(spec.port())))
                .setLabels(labels(spec))
                .setUser(ImageSpec.UID + ":" + ImageSpec.UID)
                .setWorkingDirectory(AbsoluteUnixPath.get(ImageSpec.APP_ROOT))
                .setCreationTime(settings.git().commitTime());

        String reference = settings.repository() + "/" + spec.name() + ":" + settings.version();
        Files.deleteIfExists(tarball);
        Containerizer to = Containerizer.to(TarImage.at(tarball).named(reference))
                .setApplicationLayersCache(settings.out().resolve("jib-cache"))
                .setToolName("gantry-images")
                // Offline unless a base image has to be pulled: then nothing reaches for the network.
                .setOfflineMode(settings.scratch())
                .addEventHandler(LogEvent.class, event -> {
                    if (event.getLevel().compareTo(LogEvent.Level.WARN) <= 0) {
                        System.err.println("jib: " + event.getMessage());
                    }
                });
        return image.containerize(to);
    }

    private Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        if (settings.scratch()) {
            env.put("JAVA_HOME", ImageSpec.JAVA_HOME);
            env.put("PATH", ImageSpec.JAVA_HOME + "/bin");
        }
        return env;
    }

    private Map<String, String> labels(ImageSpec spec) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("org.opencontainers.image.title", spec.title());
        labels.put("org.opencontainers.image.description", spec.description());
        labels.put("org.opencontainers.image.source", settings.source());
        labels.put("org.opencontainers.image.version", settings.version());
        labels.put("org.opencontainers.image.revision", settings.git().revision());
        labels.put("org.opencontainers.image.created", settings.git().commitTime().toString());
        labels.put("org.opencontainers.image.base.name", settings.scratch() ? "scratch" : settings.base());
        return labels;
    }

    /** quarkus-run.jar and app/: the project's own code, the layer that changes with every commit. */
    private static FileEntriesLayer applicationLayer(ImageSpec spec) throws IOException {
        FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName("application");
        layer.addEntry(spec.appDir().resolve("quarkus-run.jar"), AbsoluteUnixPath.get(ImageSpec.APP_ROOT + "/quarkus-run.jar"),
                FilePermissions.DEFAULT_FILE_PERMISSIONS, FILE_TIME);
        addTree(layer, spec.appDir().resolve("app"), ImageSpec.APP_ROOT + "/app");
        return layer.build();
    }

    /** A layer of top-level folders (etc/, lib/, tmp/...): Jib takes no entry for "/" itself. */
    private static FileEntriesLayer rootLayer(String name, Path source) throws IOException {
        FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName(name);
        try (var top = Files.list(source)) {
            for (Path child : top.sorted().toList()) {
                addTree(layer, child, "/" + child.getFileName());
            }
        }
        return layer.build();
    }

    private static FileEntriesLayer layer(String name, Path source, String target) throws IOException {
        FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName(name);
        addTree(layer, source, target);
        return layer.build();
    }

    /**
     * Adds a folder with each file's own permission bits (the runtime's binaries stay executable,
     * /tmp stays writable), without write bits for anyone but the owner (root), and fixed times.
     */
    private static void addTree(FileEntriesLayer.Builder layer, Path source, String target) throws IOException {
        if (!Files.isDirectory(source)) {
            throw new IOException("missing " + source);
        }
        layer.addEntryRecursive(source, AbsoluteUnixPath.get(target),
                (file, inContainer) -> permissionsOf(file), (file, inContainer) -> FILE_TIME);
    }

    static FilePermissions permissionsOf(Path file) {
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
            // A world-writable folder stays so (/tmp of the system layer); nothing else is writable but by root.
            boolean worldWritableDir = Files.isDirectory(file) && permissions.contains(PosixFilePermission.OTHERS_WRITE);
            if (!worldWritableDir) {
                permissions.remove(PosixFilePermission.GROUP_WRITE);
                permissions.remove(PosixFilePermission.OTHERS_WRITE);
            }
            return FilePermissions.fromPosixFilePermissions(permissions);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
