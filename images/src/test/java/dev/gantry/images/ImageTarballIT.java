package dev.gantry.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tarballs the package phase built, read as a runtime reads them: an image that starts the
 * JVM with no shell, as a non-root user, on a file system that user cannot change, with the
 * OCI labels a registry shows and the layers split so that a code change moves little.
 */
class ImageTarballIT {
    static final Path IMAGES = Path.of(System.getProperty("gantry.images.dir", "target"));
    static final String VERSION = System.getProperty("gantry.project.version", "0.1.0-SNAPSHOT");

    private static OciArchive worker;
    private static OciArchive operator;

    @BeforeAll
    static void read() throws IOException {
        worker = OciArchive.read(tarball("gantry-worker"));
        operator = OciArchive.read(tarball("gantry-operator"));
    }

    static Path tarball(String name) {
        Path tar = IMAGES.resolve(name + ".tar");
        assertThat(tar).as("built in the package phase (BuildImages); run ./mvnw -pl images package").isRegularFile();
        return tar;
    }

    @Test
    void workerStartsTheServerWithTheLaunchersFlags() {
        JsonNode config = worker.config().path("config");
        assertThat(strings(config.path("Entrypoint"))).containsExactly(
                "/opt/java/openjdk/bin/java",
                "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-XX:MaxRAMPercentage=25", "-Djava.awt.headless=true", "--sun-misc-unsafe-memory-access=allow",
                "-jar", "/deployments/quarkus-run.jar");
        // Arguments of the pod (spec.engine.args) follow the entrypoint; the image adds none.
        assertThat(config.path("Cmd").isMissingNode() || config.path("Cmd").isNull() || config.path("Cmd").isEmpty()).isTrue();
        assertThat(config.path("ExposedPorts").has("8000/tcp")).isTrue();
        assertThat(config.path("WorkingDir").asText()).isEqualTo("/deployments");
    }

    @Test
    void operatorStartsWithoutTheWorkersFlags() {
        JsonNode config = operator.config().path("config");
        assertThat(strings(config.path("Entrypoint"))).startsWith("/opt/java/openjdk/bin/java")
                .endsWith("-jar", "/deployments/quarkus-run.jar")
                .doesNotContain("--add-modules=jdk.incubator.vector");
        assertThat(config.path("ExposedPorts").has("8080/tcp")).isTrue();
    }

    @Test
    void runAsTheNumericNonRootUserTheOperatorExpects() {
        for (OciArchive image : List.of(worker, operator)) {
            assertThat(image.config().path("config").path("User").asText()).isEqualTo("185:185");
            String passwd = "etc/passwd";
            assertThat(image.fileSystem()).containsKey(passwd);
        }
    }

    @Test
    void labelsNameTheSourceVersionAndRevision() {
        for (OciArchive image : List.of(worker, operator)) {
            JsonNode labels = image.config().path("config").path("Labels");
            assertThat(labels.path("org.opencontainers.image.source").asText()).startsWith("https://");
            assertThat(labels.path("org.opencontainers.image.version").asText()).isEqualTo(VERSION);
            // A commit id (possibly -dirty), or "unknown" when built outside git.
            assertThat(labels.path("org.opencontainers.image.revision").asText()).matches("[0-9a-f]{40}(-dirty)?|unknown");
            assertThat(labels.path("org.opencontainers.image.title").asText()).startsWith("Gantry ");
        }
    }

    @Test
    void noShellAndARuntimeThatCanStart() {
        Map<String, OciArchive.Entry> fs = worker.fileSystem();
        assertThat(fs).doesNotContainKeys("bin/sh", "usr/bin/sh", "bin/bash", "bin/busybox");
        assertThat(fs.get("opt/java/openjdk/bin/java").executableByAll()).isTrue();
        assertThat(fs.get("opt/java/openjdk/lib/jspawnhelper").executableByAll()).isTrue();
        assertThat(fs).containsKeys("opt/java/openjdk/lib/server/libjvm.so", "opt/java/openjdk/lib/server/classes.jsa",
                "deployments/quarkus-run.jar", "deployments/lib/main", "deployments/quarkus/quarkus-application.dat");
        // The dynamic loader the java binary names, and the C library, from the system layer.
        assertThat(fs.keySet()).anyMatch(p -> p.matches("lib64/ld-linux-x86-64\\.so\\.2|lib/ld-linux-aarch64\\.so\\.1"));
        assertThat(fs.keySet()).anyMatch(p -> p.matches("lib/.*/libc\\.so\\.6"));
        // Headless: the desktop natives that would need X11 and ALSA are not there.
        assertThat(fs).doesNotContainKeys("opt/java/openjdk/lib/libawt_xawt.so", "opt/java/openjdk/lib/libjsound.so");
    }

    @Test
    void nothingIsWritableByTheApplicationUserButTmp() {
        List<String> writable = new ArrayList<>();
        for (OciArchive image : List.of(worker, operator)) {
            for (OciArchive.Entry e : image.fileSystem().values()) {
                assertThat(e.uid()).as(e.path()).isZero();
                if (e.writableByGroupOrOthers()) {
                    writable.add(e.path());
                }
            }
        }
        assertThat(writable).containsOnly("tmp");
    }

    @Test
    void layersSplitRuntimeDependenciesAndCode() {
        List<String> workerLayers = worker.layers().stream().map(OciArchive.Layer::digest).toList();
        List<String> operatorLayers = operator.layers().stream().map(OciArchive.Layer::digest).toList();
        // system, java runtime, dependencies, quarkus, application.
        assertThat(workerLayers).hasSize(5);
        assertThat(operatorLayers).hasSize(5);
        // The two images share the system and runtime layers byte for byte: pulled once per node.
        assertThat(operatorLayers.subList(0, 2)).isEqualTo(workerLayers.subList(0, 2));
        assertThat(worker.layers().get(1).entries()).containsKey("opt/java/openjdk/bin/java");
        assertThat(worker.layers().get(2).entries().keySet()).allMatch(p -> p.startsWith("deployments/lib") || p.equals("deployments"));
        assertThat(worker.layers().get(3).entries().keySet()).allMatch(p -> p.startsWith("deployments/quarkus/") || p.equals("deployments/quarkus")
                || p.equals("deployments"));
        assertThat(worker.layers().get(4).entries().keySet()).allMatch(p -> p.startsWith("deployments/app")
                || p.equals("deployments/quarkus-run.jar") || p.equals("deployments"));
        assertThat(worker.layers().get(4).entries().keySet()).anyMatch(p -> p.matches("deployments/app/gantry-worker.*\\.jar"));
    }

    @Test
    void reproducibleFileTimesAndAModestSize() throws IOException {
        // Fixed file times (and a creation time from the commit, not the clock): rebuilding one
        // commit gives the same layer digests, so registries and nodes keep what they have.
        for (OciArchive image : List.of(worker, operator)) {
            assertThat(image.fileSystem().values()).allMatch(e -> e.mtimeSeconds() == 1, "file time 1 s after the epoch");
        }
        assertThat(Files.size(IMAGES.resolve("gantry-worker.tar"))).isLessThan(150L << 20);
        assertThat(Files.size(IMAGES.resolve("gantry-operator.tar"))).isLessThan(150L << 20);
    }

    private static List<String> strings(JsonNode array) {
        List<String> list = new ArrayList<>();
        array.forEach(n -> list.add(n.asText()));
        return list;
    }
}
