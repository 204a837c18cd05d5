package dev.gantry.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * The worker image in a real container runtime (podman, through its Docker-compatible API and
 * Testcontainers), run as the operator runs it: read-only root file system with /tmp mounted, the
 * numeric non-root user, no capabilities, the model mounted read-only. It must become ready,
 * answer a completion, export the metric the HPA scales on, and exit 0 on SIGTERM (the entrypoint
 * is the JVM itself, PID 1, with no shell between).
 *
 * <p>Skipped only where podman is not installed; .ci/run installs it (with runc).
 */
class WorkerImageRunIT {
    static final Path MODELS = Path.of(System.getProperty("gantry.shared.models", "../../shared/models"));
    static final String IMAGE = "ghcr.io/gantry-dev/gantry-worker:" + ImageTarballIT.VERSION;

    private static PodmanApi podman;
    private static DockerClient docker;

    @BeforeAll
    static void load() throws Exception {
        Assumptions.assumeTrue(PodmanApi.available(),
                "podman is not installed: no container runtime to run the worker image in (apt-get install podman runc)");
        podman = PodmanApi.start();
        docker = DockerClientFactory.instance().client();
        PodmanApi.load(ImageTarballIT.tarball("gantry-worker"));
        assertThat(docker.listImagesCmd().withImageNameFilter(IMAGE).exec()).as("loaded " + IMAGE).isNotEmpty();
        String refusal = PodmanApi.runtimeRefusal(IMAGE);
        Assumptions.assumeTrue(refusal == null, refusal);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (podman != null) {
            PodmanApi.removeImage(IMAGE);
            podman.close();
        }
    }

    @Test
    void servesAMountedModelAsAPodWould() throws Exception {
        Path model = MODELS.resolve("stories260K.gguf").toAbsolutePath();
        assertThat(model).as("the shared test models beside the repository").isRegularFile();
        try (GenericContainer<?> worker = PodmanApi.podLike(IMAGE)
                .withFileSystemBind(model.getParent().toString(), "/models", BindMode.READ_ONLY)
                .withEnv("GANTRY_MODEL", "/models/stories260K.gguf")
                .withEnv("GANTRY_SERVED_MODEL_NAME", "stories")
                .withExposedPorts(8000)
                .waitingFor(Wait.forHttp("/health/ready").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(2)))) {
            try {
                worker.start();
                servesAndDrains(worker);
            } catch (AssertionError | Exception e) {
                System.err.println("container log:\n" + worker.getLogs());
                throw e;
            }
        }
    }

    private static void servesAndDrains(GenericContainer<?> worker) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        // Testcontainers publishes the port on every host address; requests go to the loopback only.
        URI base = URI.create("http://127.0.0.1:" + worker.getMappedPort(8000));
        HttpResponse<String> ready = http.send(HttpRequest.newBuilder(base.resolve("/health/ready")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(ready.body()).contains("\"state\": \"ready\"").contains("stories");

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

        // SIGTERM, as the kubelet sends it, and the grace period a pod has: a clean drain exits 0.
        docker.stopContainerCmd(worker.getContainerId()).withTimeout(40).exec();
        Long exit = docker.inspectContainerCmd(worker.getContainerId()).exec().getState().getExitCodeLong();
        assertThat(exit).as("exit code after SIGTERM (graceful drain)").isEqualTo(0L);
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
}
