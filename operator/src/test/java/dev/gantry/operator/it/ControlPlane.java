package dev.gantry.operator.it;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubeapitest.Utils;
import io.fabric8.kubeapitest.binary.OSInfo;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A real Kubernetes control plane for one test class: etcd and kube-apiserver through
 * io.fabric8:kube-api-test, then (see {@link #startControllers}) kube-controller-manager and
 * kube-scheduler as processes against it, all from the binaries .ci/kube-binaries.sh builds. No kubelet: see
 * {@link FakeKubelet}.
 *
 * <p>Process output goes to {@code target/it-logs/<name>/}, where a failed test's cause usually is.
 */
public final class ControlPlane implements AutoCloseable {
    /** The version .ci/kube-binaries.sh builds; kube-api-test looks it up as k8s/1.34.4-linux-amd64/. */
    public static final String KUBE_VERSION = "1.34.4";

    /**
     * Controllers the operator's behaviour depends on. Deliberately not the HPA controller (it would
     * fight the tests over replicas and rewrite the HPA's status, as it finds no metrics server) nor
     * the node lifecycle controller (it would taint the fake node, which has no kubelet heartbeat).
     */
    private static final String CONTROLLERS = "deployment,replicaset,garbagecollector,namespace";

    private final KubeAPIServer apiServer;
    private final KubernetesClient client;
    private final List<Process> processes = new ArrayList<>();
    private final Thread killer = new Thread(this::stopAll, "control-plane-killer");
    private boolean stopped;

    private final Path binaries;
    /** Where the components' output and the kubeconfig they share go. */
    private final Path logs;
    private final Path kubeconfig;

    private ControlPlane(KubeAPIServer apiServer, KubernetesClient client, Path binaries, Path logs) {
        this.apiServer = apiServer;
        this.client = client;
        this.binaries = binaries;
        this.logs = logs;
        this.kubeconfig = logs.resolve("kubeconfig");
    }

    /**
     * The API server alone: enough for what only admission and validation decide, and the first
     * step of a full control plane (see {@link #startControllers}).
     */
    public static ControlPlane apiServerOnly(String name) {
        Path testDir = kubeApiTestDir();
        Path binaries = binaries(testDir);
        KubeAPIServer apiServer = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(testDir.toString())
                .withApiServerVersion(KUBE_VERSION)
                // In code: kube-api-test reads KUBE_API_TEST_OFFLINE_MODE with a cast that fails for
                // any value, and without offline mode it would try to download (no network in CI).
                .withOfflineMode(true)
                .build());
        apiServer.start();
        try {
            String kubeconfig = apiServer.getKubeConfigYaml();
            Path logs = Files.createDirectories(Path.of("target", "it-logs", name));
            Path kubeconfigFile = logs.resolve("kubeconfig");
            Files.writeString(kubeconfigFile, kubeconfig);
            KubernetesClient client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig)).build();
            ControlPlane plane = new ControlPlane(apiServer, client, binaries, logs);
            Runtime.getRuntime().addShutdownHook(plane.killer);
            return plane;
        } catch (IOException | RuntimeException e) {
            apiServer.stop();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    /**
     * Starts kube-controller-manager and kube-scheduler. Install CRDs before: the garbage collector
     * discovers resource types at start and then only every 30s, and it only collects the dependents
     * of an owner whose type it watches.
     */
    public void startControllers() {
        try {
            startComponent(binaries.resolve("kube-controller-manager"), "--controllers", CONTROLLERS);
            startComponent(binaries.resolve("kube-scheduler"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public KubernetesClient client() {
        return client;
    }

    /**
     * Runs the real kubectl against this control plane, for what users do with it (kubectl scale
     * patches the scale subresource, which no fabric8 call does the same way). Returns its output.
     */
    public String kubectl(String... args) {
        List<String> command = new ArrayList<>(List.of(binaries.resolve("kubectl").toString(),
                "--kubeconfig", kubeconfig.toString(), "--request-timeout=20s"));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (process.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", args) + " failed: " + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Starts a component with a kubeconfig for the test API server (its client certificate is in
     * system:masters) and waits for its /healthz, so a test never runs against a half-started one.
     */
    private void startComponent(Path binary, String... extra) throws IOException {
        int port = freePort();
        List<String> command = new ArrayList<>(List.of(binary.toString(),
                "--kubeconfig", kubeconfig.toString(),
                "--authentication-kubeconfig", kubeconfig.toString(),
                "--authorization-kubeconfig", kubeconfig.toString(),
                "--bind-address", "127.0.0.1", "--secure-port", String.valueOf(port),
                "--leader-elect=false"));
        command.addAll(List.of(extra));
        Path log = logs.resolve(binary.getFileName() + ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(process);
        waitHealthy(binary.getFileName().toString(), process, port, log);
    }

    private static void waitHealthy(String what, Process process, int port, Path log) {
        HttpClient http = HttpClient.newBuilder().sslContext(trustAll()).connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/healthz"))
                .timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(what + " exited with " + process.exitValue() + "; see " + log.toAbsolutePath()
                        + ":\n" + tail(log));
            }
            try {
                if (http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            sleep(250);
        }
        throw new IllegalStateException(what + " not healthy after 60s; see " + log.toAbsolutePath() + ":\n" + tail(log));
    }

    @Override
    public void close() {
        client.close();
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(killer);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down; the hook runs anyway
        }
    }

    /** Also the shutdown hook: child processes outlive a JVM that dies, and would hold ports and CPU. */
    private synchronized void stopAll() {
        if (!stopped) {
            stopped = true;
            killProcesses();
            apiServer.stop();
        }
    }

    private void killProcesses() {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        processes.clear();
    }

    /** Where kube-api-test looks for binaries and keeps its certificates: as .ci/run sets it up. */
    static Path kubeApiTestDir() {
        String env = System.getenv("KUBE_API_TEST_DIR");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String cache = System.getenv("GANTRY_CACHE");
        return cache != null && !cache.isBlank() ? Path.of(cache, "kube-api-test")
                : Path.of(System.getProperty("user.home"), ".cache", "gantry", "kube-api-test");
    }

    /** The binaries' directory, checked up front: kube-api-test's own message names no remedy. */
    static Path binaries(Path testDir) {
        Path dir = testDir.resolve("k8s").resolve(KUBE_VERSION + Utils.platformSuffix(new OSInfo()));
        for (String b : List.of("etcd", "kube-apiserver", "kubectl", "kube-controller-manager", "kube-scheduler")) {
            if (!Files.isExecutable(dir.resolve(b))) {
                throw new IllegalStateException("no executable " + dir.resolve(b) + ": the operator's integration tests "
                        + "need a Kubernetes " + KUBE_VERSION + " control plane there. Run .ci/kube-binaries.sh "
                        + "(with the same KUBE_API_TEST_DIR) first; it builds them once from the Go module proxy.");
            }
        }
        return dir;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * The components' serving certificates are self-signed at start; only whether they answer
     * matters here, on 127.0.0.1, so any certificate is accepted.
     */
    private static SSLContext trustAll() {
        TrustManager accept = new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        try {
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, new TrustManager[] {accept}, null);
            return ssl;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
