package dev.gantry.images;

import java.util.ArrayList;
import java.util.List;

/**
 * One application image: a packaged Quarkus application (its quarkus-app/ folder) and how to
 * start it.
 *
 * @param name the image's name without repository and tag, e.g. gantry-worker
 * @param title the OCI title label
 * @param description the OCI description label
 * @param appDir the quarkus-app/ folder the Maven build left
 * @param jvmFlags flags before {@code -jar}
 * @param port the HTTP port the application listens on
 */
public record ImageSpec(String name, String title, String description, java.nio.file.Path appDir,
        List<String> jvmFlags, int port) {

    /** Where the application lives in the image, as in Quarkus's own container images. */
    public static final String APP_ROOT = "/deployments";
    /** The Java home of both bases: the jlink'd runtime of the scratch base, and the Temurin images'. */
    public static final String JAVA_HOME = "/opt/java/openjdk";
    /**
     * The user the processes run as: numeric, so that the kubelet can check runAsNonRoot without
     * reading /etc/passwd; 185 is the operator's default runAsUser for workers (the user of the
     * UBI OpenJDK images).
     */
    public static final int UID = 185;

    /**
     * Flags of both applications. Headless: no display, and the X11 libraries are not in the
     * image. Netty (under Vert.x) reaches for sun.misc.Unsafe; allowed without warnings.
     */
    static final List<String> COMMON_FLAGS = List.of("-Djava.awt.headless=true", "--sun-misc-unsafe-memory-access=allow");

    /**
     * The worker: the launcher's flags (Vector API, native access for mmap'd models and the
     * off-heap KV cache), port 8000. Its heap is a quarter of the container's memory limit: the
     * model is mapped and the KV cache lives off the heap, sized from the memory the heap leaves
     * (the worker's {@code HostMemory}); -Xmx in JAVA_TOOL_OPTIONS still overrides it.
     */
    public static ImageSpec worker(java.nio.file.Path appDir) {
        return new ImageSpec("gantry-worker", "Gantry worker",
                "OpenAI-compatible inference server for GGUF models (Gantry).", appDir,
                List.of("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                        "-XX:MaxRAMPercentage=25"), 8000);
    }

    /**
     * The operator: Quarkus's default port 8080 (health at /q/health, metrics at /q/metrics); its
     * heap three quarters of the container's memory limit (the JVM's default, 25%, is made for
     * machines that run more than one program).
     */
    public static ImageSpec operator(java.nio.file.Path appDir) {
        return new ImageSpec("gantry-operator", "Gantry operator",
                "Kubernetes operator that reconciles LLMDeployments into autoscaled Gantry workers.", appDir,
                List.of("-XX:MaxRAMPercentage=75"), 8080);
    }

    /** The exec-form entrypoint: the java binary itself, no shell (the image has none). */
    public List<String> entrypoint() {
        List<String> entrypoint = new ArrayList<>();
        entrypoint.add(JAVA_HOME + "/bin/java");
        entrypoint.addAll(jvmFlags);
        entrypoint.addAll(COMMON_FLAGS);
        entrypoint.add("-jar");
        entrypoint.add(APP_ROOT + "/quarkus-run.jar");
        return entrypoint;
    }
}
