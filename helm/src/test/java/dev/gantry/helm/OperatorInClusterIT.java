package dev.gantry.helm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.images.PodmanApi;
import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;

/**
 * The chart, installed for real: its rendering applied to a real kube-apiserver
 * (io.fabric8:kube-api-test, binaries from .ci/kube-binaries.sh), then the operator image (from
 * images/) run twice in podman (Testcontainers, against podman's Docker-compatible API), each
 * with the chart's environment and a token of the chart's ServiceAccount, so that the chart's RBAC is all they have. One replica must win the Lease, the
 * leader must reconcile an LLMDeployment into its worker Deployment and Service, and when it dies
 * the other must take over.
 *
 * <p>The image test is skipped only where podman is not installed (.ci/run installs it) or the host
 * lets no container runtime create a container; the dry run needs neither.
 */
class OperatorInClusterIT {
    static final Path OPERATOR_IMAGE = ChartRendering.REPO.resolve("images/target/gantry-operator.tar");
    static final String IMAGE = "ghcr.io/gantry-dev/gantry-operator:" + ChartTest.projectVersion();
    static final String NS = ChartRendering.NAMESPACE;
    static final List<String> CONTAINERS = List.of("gantry-operator-it-a-" + ProcessHandle.current().pid(),
            "gantry-operator-it-b-" + ProcessHandle.current().pid());

    private static KubeAPIServer apiServer;
    private static KubernetesClient admin;
    private static Path kubeDir;
    private static final List<Integer> HTTP_PORTS = new ArrayList<>();

    @BeforeAll
    static void startApiServer() throws Exception {
        assertThat(OPERATOR_IMAGE).as("built by the images module: ./mvnw -pl images package").isRegularFile();
        String binaries = System.getenv().getOrDefault("KUBE_API_TEST_DIR",
                System.getProperty("user.home") + "/.cache/gantry/kube-api-test");
        assertThat(Path.of(binaries, "k8s")).as("kube-apiserver and etcd: run .ci/kube-binaries.sh").isDirectory();
        apiServer = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(binaries).withOfflineMode(true).withApiServerVersion("1.34.4")
                .withUpdateKubeConfig(false).build());
        apiServer.start();
        admin = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(apiServer.getKubeConfigYaml())).build();
        if (!PodmanApi.available()) {
            noContainers = "podman is not installed: cannot run the operator image (apt-get install podman runc)";
            return;
        }
        podman = PodmanApi.start();
        PodmanApi.load(OPERATOR_IMAGE);
        // Where the host lets no runtime create a container at all, the image test is skipped with
        // the runtime's own words; any other failure of the image's java is the image's, and fails.
        noContainers = PodmanApi.runtimeRefusal(IMAGE);
    }

    private static PodmanApi podman;
    /** The operator replicas by name (their host name, so the Lease holder's identity). */
    private static final Map<String, GenericContainer<?>> RUNNING = new java.util.LinkedHashMap<>();

    /** Why the operator image cannot be run here, or null when it can. */
    private static String noContainers;

    @AfterAll
    static void stop() throws Exception {
        if (admin == null) {
            return;
        }
        RUNNING.values().forEach(GenericContainer::stop);
        if (podman != null) {
            PodmanApi.removeImage(IMAGE);
            podman.close();
        }
        admin.close();
        apiServer.stop();
    }

    @Test
    void everyObjectOfTheChartPassesAServerSideDryRun() {
        applyCrds();
        // The Prometheus Operator's ServiceMonitor CRD, as far as its group, kind and version go
        // (its real 1000-line schema is not available offline): the monitors' names, namespaces
        // and API version are still checked by the server.
        admin.resource(new CustomResourceDefinitionBuilder()
                .withNewMetadata().withName("servicemonitors.monitoring.coreos.com").endMetadata()
                .withNewSpec().withGroup("monitoring.coreos.com").withScope("Namespaced")
                .withNewNames().withKind("ServiceMonitor").withListKind("ServiceMonitorList")
                .withPlural("servicemonitors").withSingular("servicemonitor").endNames()
                .addNewVersion().withName("v1").withServed(true).withStorage(true)
                .withNewSchema().withNewOpenAPIV3Schema().withType("object").withXKubernetesPreserveUnknownFields(true)
                .endOpenAPIV3Schema().endSchema().endVersion().endSpec().build()).serverSideApply();
        await0(() -> established("servicemonitors.monitoring.coreos.com"));
        for (HasMetadata object : load(ChartRendering.render(ChartRendering.ALL_ON))) {
            if (object.getMetadata().getNamespace() != null) {
                ensureNamespace(object.getMetadata().getNamespace());
            }
            admin.resource(object).dryRun().serverSideApply();
        }
    }

    @Test
    void twoReplicasElectALeaderThatReconcilesWithTheChartsRbac() throws Exception {
        Assumptions.assumeTrue(noContainers == null, noContainers);
        applyCrds();
        ensureNamespace(NS);
        List<HasMetadata> chart = load(ChartRendering.render(Map.of("replicaCount", 2)));
        chart.forEach(o -> admin.resource(o).forceConflicts().serverSideApply());
        Deployment operator = (Deployment) chart.stream().filter(o -> o.getKind().equals("Deployment")).findFirst().orElseThrow();
        writeServiceAccountKubeconfig(operator.getSpec().getTemplate().getSpec().getServiceAccountName());

        for (String container : CONTAINERS) {
            startOperator(container, operator);
        }
        for (int port : HTTP_PORTS) {
            awaitHealthy(port);
        }
        String leader = awaitLeader(Set.copyOf(CONTAINERS), Duration.ofSeconds(60));

        ensureNamespace("llm");
        String example = Files.readString(ChartRendering.REPO.resolve("manifests/examples/llmdeployment-smollm2.yaml"));
        admin.resource(load(example).getFirst()).inNamespace("llm").serverSideApply();
        Deployment workers = await("the worker Deployment the leader creates",
                () -> admin.apps().deployments().inNamespace("llm").withName("smollm2").get(), Duration.ofSeconds(60));
        assertThat(workers.getSpec().getTemplate().getSpec().getContainers().getFirst().getImage())
                .as("the chart's worker image").isEqualTo("ghcr.io/gantry-dev/gantry-worker:" + ChartTest.projectVersion());
        await("the worker Service", () -> admin.services().inNamespace("llm").withName("smollm2").get(), Duration.ofSeconds(30));

        // The leader dies; the other replica takes the Lease over and goes on reconciling.
        RUNNING.remove(leader).stop();
        String next = awaitLeader(Set.of(other(leader)), Duration.ofSeconds(90));
        admin.apps().deployments().inNamespace("llm").withName("smollm2").delete();
        await("the worker Deployment re-created by the new leader " + next,
                () -> admin.apps().deployments().inNamespace("llm").withName("smollm2").get(), Duration.ofSeconds(60));
    }

    private static void startOperator(String name, Deployment operator) throws Exception {
        int port = freePort();
        HTTP_PORTS.add(port);
        Map<String, String> env = new java.util.LinkedHashMap<>();
        env.put("KUBECONFIG", "/var/run/gantry-kube/config");
        env.put("QUARKUS_HTTP_PORT", Integer.toString(port)); // host networking: each replica on its own port
        // The environment the chart gives the operator (the pod's namespace by hand: no kubelet here).
        for (var e : operator.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv()) {
            env.put(e.getName(), e.getValueFrom() != null ? NS : e.getValue());
        }
        GenericContainer<?> container = PodmanApi.podLike(IMAGE)
                .withNetworkMode("host")
                .withFileSystemBind(kubeDir.toString(), "/var/run/gantry-kube", BindMode.READ_ONLY)
                .withEnv(env)
                .withCreateContainerCmdModifier(cmd -> cmd.withName(name).withHostName(name));
        RUNNING.put(name, container);
        container.start(); // no ports to wait for on the host network: awaitHealthy checks it
    }

    /** A kubeconfig with a token of the chart's ServiceAccount: the operators get the chart's RBAC, no more. */
    private static void writeServiceAccountKubeconfig(String serviceAccount) throws IOException {
        String token = admin.serviceAccounts().inNamespace(NS).withName(serviceAccount)
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build())
                .getStatus().getToken();
        Config config = admin.getConfiguration();
        String kubeconfig = """
                apiVersion: v1
                kind: Config
                clusters:
                  - name: it
                    cluster:
                      server: %s
                      certificate-authority-data: %s
                users:
                  - name: operator
                    user:
                      token: %s
                contexts:
                  - name: it
                    context: {cluster: it, user: operator, namespace: %s}
                current-context: it
                """.formatted(config.getMasterUrl(), caData(config), token, NS);
        kubeDir = Files.createTempDirectory("gantry-kube", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Path file = kubeDir.resolve("config");
        Files.writeString(file, kubeconfig);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    }

    private static String caData(Config config) throws IOException {
        if (config.getCaCertData() != null) {
            return config.getCaCertData();
        }
        return java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of(config.getCaCertFile())));
    }

    private static String awaitLeader(Set<String> candidates, Duration timeout) throws Exception {
        Lease lease = await("a Lease held by one of " + candidates, () -> {
            Lease l = admin.leases().inNamespace(NS).withName("gantry-operator").get();
            return l != null && candidates.contains(l.getSpec().getHolderIdentity()) ? l : null;
        }, timeout);
        return lease.getSpec().getHolderIdentity();
    }

    private static void awaitHealthy(int port) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        await("the operator's /q/health/live on " + port, () -> {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/live"))
                        .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
                return r.statusCode() == 200 ? r.body() : null;
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }, Duration.ofSeconds(60));
    }

    private static <T> T await(String what, Supplier<T> probe, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            T value = probe.get();
            if (value != null) {
                return value;
            }
            TimeUnit.MILLISECONDS.sleep(500);
        }
        StringBuilder logs = new StringBuilder();
        RUNNING.forEach((name, container) -> logs.append("--- ").append(name).append('\n').append(container.getLogs()));
        throw new AssertionError("no " + what + " within " + timeout + "\n" + logs);
    }

    private static void applyCrds() {
        for (HasMetadata crd : load(readChartCrds())) {
            admin.resource(crd).forceConflicts().serverSideApply();
        }
        await0(() -> established("llmdeployments.gantry.dev"));
    }

    /** Whether the API server serves the CRD yet (its status and conditions appear a moment after creation). */
    private static boolean established(String crd) {
        var found = admin.apiextensions().v1().customResourceDefinitions().withName(crd).get();
        return found != null && found.getStatus() != null && found.getStatus().getConditions() != null
                && found.getStatus().getConditions().stream()
                        .anyMatch(c -> c.getType().equals("Established") && c.getStatus().equals("True"));
    }

    private static String readChartCrds() {
        try (var files = Files.list(ChartRendering.CHART.resolve("crds"))) {
            StringBuilder all = new StringBuilder();
            for (Path f : files.sorted().toList()) {
                all.append("---\n").append(Files.readString(f)).append('\n');
            }
            return all.toString();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void await0(Supplier<Boolean> condition) {
        try {
            await("the CRD established", () -> condition.get() ? Boolean.TRUE : null, Duration.ofSeconds(30));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void ensureNamespace(String name) {
        if (admin.namespaces().withName(name).get() == null) {
            admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
        }
    }

    private static List<HasMetadata> load(String yaml) {
        return admin.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items();
    }

    private static String other(String container) {
        return CONTAINERS.get(0).equals(container) ? CONTAINERS.get(1) : CONTAINERS.get(0);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
