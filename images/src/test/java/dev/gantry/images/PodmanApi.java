package dev.gantry.images;

import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Ulimit;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;

/**
 * podman's Docker-compatible API on a Unix socket, for Testcontainers: {@code podman system
 * service} started by the tests (no daemon runs on these machines) at the path the build gives in
 * {@code DOCKER_HOST} (the failsafe configuration), and stopped after them. A socket that already
 * answers (a service or a Docker daemon someone runs there) is used as it is.
 *
 * <p>The service runs containers with runc where it is installed: crun, podman's default on
 * Debian, refuses hosts whose cgroup v2 hierarchy has controllers next to cgroup v1 ("cgroups in
 * hybrid mode not supported"), as this project's machines have. GANTRY_PODMAN_RUNTIME chooses
 * another.
 */
public final class PodmanApi implements AutoCloseable {
    private final Process service; // null: the socket was already served

    private PodmanApi(Process service) {
        this.service = service;
    }

    /** The socket's path, from the failsafe configuration. */
    public static Path socket() {
        return Path.of(System.getProperty("gantry.podman.socket", "/tmp/gantry-podman-it.sock"));
    }

    /** Whether podman is installed: without it the container tests are skipped. */
    public static boolean available() {
        return onPath("podman");
    }

    /** What podman, crun and runc say when the host does not let them create a container at all. */
    public static final java.util.regex.Pattern RUNTIME_REFUSED = java.util.regex.Pattern.compile(
            "OCI runtime|OCI permission denied|runc create failed|crun:|cgroups? .*not supported|setrlimit|"
                    + "unshare|newuidmap|user namespaces|cannot set up namespace|mount proc");

    /** Every message in a failure's chain of causes, for matching {@link #RUNTIME_REFUSED} and for reports. */
    static String causes(Throwable e) {
        StringBuilder s = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            s.append(t.getMessage()).append("; ");
        }
        return s.toString();
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

    /** Starts the service unless the socket answers already; waits until it does. */
    public static PodmanApi start() throws IOException, InterruptedException {
        Path socket = socket();
        if (answers(socket)) {
            return new PodmanApi(null);
        }
        Files.deleteIfExists(socket);
        List<String> command = new ArrayList<>(List.of("podman"));
        String runtime = System.getenv().getOrDefault("GANTRY_PODMAN_RUNTIME",
                onPath("runc") ? "runc" : "");
        if (!runtime.isBlank()) {
            command.addAll(List.of("--runtime", runtime));
        }
        // --time=0: no idle timeout; the service lives exactly as long as the tests.
        command.addAll(List.of("system", "service", "--time=0", "unix://" + socket));
        Path log = Files.createTempFile("podman-service", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!answers(socket)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("podman system service did not start on " + socket + ": "
                        + Files.readString(log).strip());
            }
            Thread.sleep(100);
        }
        return new PodmanApi(p);
    }

    /** Loads an image archive (OCI or docker-archive) into podman through the API. */
    public static void load(Path archive) throws IOException {
        try (InputStream in = Files.newInputStream(archive)) {
            DockerClientFactory.instance().client().loadImageCmd(in).exec();
        }
    }

    /** Removes an image the tests loaded; a failure is reported, not thrown (clean-up). */
    public static void removeImage(String image) {
        try {
            DockerClientFactory.instance().client().removeImageCmd(image).withForce(true).exec();
        } catch (RuntimeException e) {
            System.err.println("could not remove " + image + ": " + e.getMessage());
        }
    }

    /**
     * A container of one of this project's images as the chart's pods run it: read-only root file
     * system with /tmp mounted, the numeric non-root user, no capabilities, no new privileges.
     * podman's default limits (nofile 1048576, nproc 4194304) are above what a container may set
     * on some hosts (setrlimit: operation not permitted); these are below any host's and ample.
     */
    public static GenericContainer<?> podLike(String image) {
        return new GenericContainer<>(DockerImageName.parse(image))
                .withImagePullPolicy(name -> false) // loaded by the test; there is no registry to pull from
                .withTmpFs(Map.of("/tmp", "rw,mode=1777"))
                .withCreateContainerCmdModifier(cmd -> cmd.withUser("185:185").getHostConfig()
                        .withReadonlyRootfs(true)
                        .withCapDrop(Capability.ALL)
                        .withSecurityOpts(List.of("no-new-privileges"))
                        .withUlimits(List.of(new Ulimit("nofile", 4096L, 4096L), new Ulimit("nproc", 4096L, 4096L))));
    }

    /**
     * Runs the image's java with {@code -version}. Returns null when it runs, or the runtime's own
     * words when the host lets it create no container at all (the caller skips); any other failure
     * is the image's, and throws.
     */
    public static String runtimeRefusal(String image) {
        try (GenericContainer<?> probe = podLike(image)
                .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint("/opt/java/openjdk/bin/java").withCmd("-version"))
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofMinutes(2)))) {
            probe.start();
            return null;
        } catch (RuntimeException e) {
            String why = causes(e);
            if (RUNTIME_REFUSED.matcher(why).find()) {
                return "the container runtime cannot run containers on this machine: " + why;
            }
            throw new AssertionError("java -version in " + image + ": " + why, e);
        }
    }

    private static boolean answers(Path socket) {
        if (!Files.exists(socket)) {
            return false;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            return ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() throws InterruptedException, IOException {
        if (service != null) {
            service.destroy(); // SIGTERM: podman's service shuts down cleanly and removes the socket
            if (!service.waitFor(20, TimeUnit.SECONDS)) {
                service.destroyForcibly();
            }
            Files.deleteIfExists(socket());
        }
    }
}
