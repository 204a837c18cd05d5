package dev.gantry.images;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The jlink'd runtime holds every JDK module the applications' classes use, as jdeps finds them:
 * a new dependency that needs a module the image lacks fails here, not with a
 * NoClassDefFoundError in a pod.
 */
class RuntimeModulesIT {
    /**
     * Modules jdeps reports that the running applications never load: Vert.x's code generator
     * (annotation processing, at build time) refers to jdk.compiler; Javassist's HotSwapper, used
     * only by development tools, to jdk.attach, jdk.jdi and java.instrument.
     */
    static final Set<String> NEVER_LOADED = Set.of("jdk.compiler", "jdk.attach", "jdk.jdi", "java.instrument");

    static final Path REPO = Path.of(System.getProperty("gantry.repo.root", ".."));

    @ParameterizedTest
    @ValueSource(strings = {"worker", "operator"})
    void runtimeHasEveryModuleTheApplicationUses(String module, @TempDir Path classes) throws Exception {
        Path app = REPO.resolve(module).resolve("target/quarkus-app");
        assertThat(app.resolve("quarkus-run.jar")).as("package the " + module + " first").isRegularFile();
        flatten(app, classes);

        StringWriter out = new StringWriter();
        int exit = ToolProvider.findFirst("jdeps").orElseThrow().run(new PrintWriter(out), new PrintWriter(out),
                "--multi-release", "25", "--ignore-missing-deps", "--print-module-deps", classes.toString());
        assertThat(exit).as(out.toString()).isZero();
        Set<String> used = Arrays.stream(out.toString().strip().split(",")).map(String::strip)
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(used).as("jdeps output").contains("java.base");
        used.removeAll(NEVER_LOADED);

        assertThat(runtimeModules()).containsAll(used);
    }

    /** The modules of the runtime the images carry, as its own java lists them. */
    static Set<String> runtimeModules() throws IOException, InterruptedException {
        Path java = ImageTarballIT.IMAGES.resolve("java-runtime/bin/java");
        assertThat(java).as("linked in the package phase").isExecutable();
        Process p = new ProcessBuilder(java.toString(), "--list-modules").redirectErrorStream(true).start();
        String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(listing).isZero();
        return listing.lines().map(l -> l.split("@")[0].strip()).filter(s -> !s.isEmpty())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /**
     * Unpacks every jar of the application into one folder without module descriptors: jdeps
     * then analyses the classes as the application's class path has them, instead of stopping
     * at the first library whose module-info names a module that is not there.
     */
    private static void flatten(Path app, Path into) throws IOException {
        try (Stream<Path> jars = Files.walk(app)) {
            for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).toList()) {
                try (ZipFile zip = new ZipFile(jar.toFile())) {
                    for (var entry : zip.stream().toList()) {
                        String name = entry.getName();
                        if (entry.isDirectory() || !name.endsWith(".class") || name.endsWith("module-info.class")) {
                            continue;
                        }
                        Path target = into.resolve(name).normalize();
                        if (!target.startsWith(into)) {
                            continue;
                        }
                        Files.createDirectories(target.getParent());
                        try (InputStream in = zip.getInputStream(entry)) {
                            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            }
        }
    }
}
