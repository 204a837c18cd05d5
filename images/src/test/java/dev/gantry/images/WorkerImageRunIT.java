package dev.gantry.images;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The worker image in a real container runtime (podman), run as the operator runs it: read-only
 * root file system with /tmp mounted, the numeric non-root user, no capabilities, the model
 * mounted read-only. It must become ready, answer a completion, export the metric the HPA scales
 * on, and exit 0 on SIGTERM (the entrypoint is the JVM itself, PID 1, with no shell between).
 *
 * <p>Skipped only where podman is not installed; .ci/run installs it (with runc).
 */
class WorkerImageRunIT {
    static final Path MODELS = Path.of(System.getProperty("gantry.shared.models", "../../shared/models"));
    static final String IMAGE = "ghcr.io/gantry-dev/gantry-worker:" + ImageTarballIT.VERSION;
    static final String CONTAINER = "gantry-worker-image-it-" + ProcessHandle.current().pid();

    private static List<String> podman;

    @BeforeAll
    static void load() throws Exception {
        Assumptions.assumeTrue(onPath("podman"),
                "podman is not installed: no container runtime to run the worker image in (apt-get install podman runc)");
        podman = new ArrayList<>(List.of("podman"));
        // crun, podman's default on Debian, refuses hosts whose cgroup v2 hierarchy has controllers
        // next to cgroup v1 ("cgroups in hybrid mode not supported"), as this project's machines
        // have; runc runs there. GANTRY_PODMAN_RUNTIME chooses another.
        String runtime = System.getenv().getOrDefault("GANTRY_PODMAN_RUNTIME", onPath("runc") ? "runc" : "");
        if (!runtime.isBlank()) {
            podman.addAll(List.of("--runtime", runtime));
        }
        Result loaded = run(List.of("load", "-i", ImageTarballIT.tarball("gantry-worker").toString()), 300);
        assertThat(loaded.exit()).as(loaded.output()).isZero();
        assertThat(loaded.output()).contains(IMAGE);
        requireARuntimeThatRunsContainers();
    }

    /**
     * Runs the image's java with {@code -version}. When the container runtime itself refuses to
     * start any container here (no namespaces, cgroups or rlimits allowed to it), the test is
     * skipped with the runtime's own words; any other failure is the image's, and fails.
     */
    private static void requireARuntimeThatRunsContainers() throws Exception {
        Result probe = run(List.of("run", "--rm", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
                "--entrypoint", "/opt/java/openjdk/bin/java", IMAGE, "-version"), 120);
        if (probe.exit() != 0 && RUNTIME_REFUSED.matcher(probe.output()).find()) {
            Assumptions.abort("the container runtime cannot run containers on this machine: " + probe.output().strip());
        }
        assertThat(probe.exit()).as("java -version in the image: " + probe.output()).isZero();
    }

    /** What podman, crun and runc say when the host does not let them create a container at all. */
    static final java.util.regex.Pattern RUNTIME_REFUSED = java.util.regex.Pattern.compile(
            "OCI runtime|OCI permission denied|runc create failed|crun:|cgroups? .*not supported|setrlimit|"
                    + "unshare|newuidmap|user namespaces|cannot set up namespace|mount proc");

    @AfterAll
    static void cleanUp() throws Exception {
        if (podman != null) {
            run(List.of("rm", "-f", "-t", "0", CONTAINER), 60);
            run(List.of("rmi", "-f", IMAGE), 60);
        }
    }

    @Test
    void servesAMountedModelAsAPodWould() throws Exception {
        Path model = MODELS.resolve("stories260K.gguf").toAbsolutePath();
        assertThat(model).as("the shared test models beside the repository").isRegularFile();
        int port = freePort();
        Result started = run(List.of("run", "-d", "--name", CONTAINER,
                "--read-only", "--tmpfs", "/tmp:rw,mode=1777",
                "--user", "185:185", "--cap-drop=ALL", "--security-opt", "no-new-privileges",
                // podman's default limits (nofile 1048576, nproc 4194304) are above what a
                // container may set on some hosts (setrlimit: operation not permitted); these are
                // below any host's and ample for one worker.
                "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
                "-v", model.getParent() + ":/models:ro",
                "-e", "GANTRY_MODEL=/models/stories260K.gguf",
                "-e", "GANTRY_SERVED_MODEL_NAME=stories",
                "-p", "127.0.0.1:" + port + ":8000",
                IMAGE), 120);
        assertThat(started.exit()).as(started.output()).isZero();

        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        URI base = URI.create("http://127.0.0.1:" + port);
        try {
            String ready = awaitReady(http, base.resolve("/health/ready"), Duration.ofSeconds(120));
            assertThat(ready).contains("\"state\": \"ready\"").contains("stories");

            HttpResponse<String> completion = http.send(HttpRequest.newBuilder(base.resolve("/v1/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"stories\",\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(completion.statusCode()).as(completion.body()).isEqualTo(200);
            assertThat(completion.body()).contains("\"completion_tokens\":12").contains("\"model\":\"stories\"");

            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(base.resolve("/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            // The HPA's queue-depth metric, through the custom-metrics adapter.
            assertThat(metrics.body()).contains("vllm:num_requests_waiting");
            // Every worker series the chart's Grafana dashboard and adapter rules query is exported.
            assertThat(exportedNames(metrics.body())).containsAll(chartQueriedNames());

            Result stopped = run(List.of("stop", "-t", "40", CONTAINER), 90);
            assertThat(stopped.exit()).as(stopped.output()).isZero();
            Result exit = run(List.of("inspect", "--format", "{{.State.ExitCode}}", CONTAINER), 30);
            assertThat(exit.output().strip()).as("exit code after SIGTERM (graceful drain)").isEqualTo("0");
        } catch (AssertionError | Exception e) {
            System.err.println("container log:\n" + run(List.of("logs", CONTAINER), 30).output());
            throw e;
        }
    }

    /** Metric names on a Prometheus exposition page. */
    static java.util.Set<String> exportedNames(String page) {
        return page.lines().filter(l -> !l.startsWith("#") && !l.isBlank())
                .map(l -> l.split("[{ ]", 2)[0]).collect(java.util.stream.Collectors.toSet());
    }

    /** The vllm:* names in the chart's dashboard and prometheus-adapter rules. */
    static java.util.Set<String> chartQueriedNames() throws IOException {
        Path files = Path.of(System.getProperty("gantry.repo.root", "..")).resolve("helm/gantry/files");
        java.util.Set<String> names = new java.util.TreeSet<>();
        for (String file : List.of("grafana-dashboard.json", "prometheus-adapter-rules.yaml")) {
            var m = java.util.regex.Pattern.compile("vllm:[a-z0-9_]+").matcher(Files.readString(files.resolve(file)));
            while (m.find()) {
                names.add(m.group());
            }
        }
        assertThat(names).contains("vllm:num_requests_waiting", "vllm:time_to_first_token_seconds_bucket");
        return names;
    }

    private static String awaitReady(HttpClient http, URI ready, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return r.body();
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            Result state = run(List.of("inspect", "--format", "{{.State.Status}}", CONTAINER), 30);
            assertThat(state.output().strip()).as("the container stopped before it was ready").isEqualTo("running");
            Thread.sleep(500);
        }
        throw new AssertionError("not ready within " + timeout + ": " + last);
    }

    record Result(int exit, String output) {
    }

    static Result run(List<String> args, int timeoutSeconds) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(podman);
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

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
