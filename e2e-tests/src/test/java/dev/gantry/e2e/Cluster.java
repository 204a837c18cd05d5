package dev.gantry.e2e;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The e2e node, as {@code e2e-tests/cluster.sh} makes it: reused when one is up, else brought up
 * for this run and taken down at its end ({@code -Dgantry.e2e.keep=true} leaves it up).
 */
final class Cluster implements AutoCloseable {
    static final Path REPO = Path.of(System.getProperty("gantry.repo.root", "..")).toAbsolutePath().normalize();
    static final Path OUT = Path.of(System.getProperty("gantry.e2e.out", "target/e2e")).toAbsolutePath();
    static final Path SCRIPT = REPO.resolve("e2e-tests/cluster.sh");
    /** Where the in-cluster hub serves models from ({owner}/{repo}/{file}); cluster.sh's default. */
    static final Path HUB_DIR = cacheDir().resolve("e2e/hub");
    /** The workers' HF_ENDPOINT: the hub's Service. */
    static final String HUB_ENDPOINT = "http://hub.gantry-e2e.svc";

    private static Cluster instance;

    final Path kubeconfig;
    final Path kubectl;
    final Path helm;
    /** host:port on the loopback where the ingress controller's HTTP entrypoint answers. */
    final String ingress;
    private final boolean broughtUp;
    private final KubernetesClient client;

    private Cluster(Map<String, String> endpoints, boolean broughtUp) {
        this.kubeconfig = Path.of(endpoints.get("KUBECONFIG"));
        this.kubectl = Path.of(endpoints.get("KUBECTL"));
        this.helm = Path.of(endpoints.get("HELM"));
        this.ingress = endpoints.get("INGRESS");
        this.broughtUp = broughtUp;
        try {
            this.client = new KubernetesClientBuilder()
                    .withConfig(Config.fromKubeconfig(null, Files.readString(kubeconfig), kubeconfig.toString()))
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The cluster, brought up on first use. */
    static synchronized Cluster get() {
        if (instance == null) {
            Shell.Result status = Shell.run(Duration.ofSeconds(60), Map.of(), null, List.of(SCRIPT.toString(), "status"));
            boolean up = !status.ok();
            Shell.Result r = status;
            if (up) {
                System.out.println("e2e: no cluster is up; bringing one up with " + SCRIPT + " up");
                try {
                    Files.createDirectories(OUT);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                r = Shell.run(Duration.ofMinutes(45), Map.of(), null, List.of(SCRIPT.toString(), "up"), System.out);
                if (!r.ok()) {
                    // Leave nothing half made behind; the logs are in the output above.
                    Shell.run(Duration.ofMinutes(5), Map.of(), null, List.of(SCRIPT.toString(), "down"), System.out);
                    r.orThrow();
                }
            } else {
                System.out.println("e2e: reusing the cluster that is up");
                // A cluster made before the last image build: bring the images up to date.
                Shell.run(Duration.ofMinutes(5), Map.of(), null, List.of(SCRIPT.toString(), "import",
                        REPO.resolve("images/target/gantry-worker.tar").toString(),
                        REPO.resolve("images/target/gantry-operator.tar").toString()), System.out).orThrow();
            }
            instance = new Cluster(endpoints(r.out()), up);
        }
        return instance;
    }

    static Map<String, String> endpoints(String out) {
        Map<String, String> m = new HashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && line.substring(0, eq).matches("[A-Z]+")) {
                m.put(line.substring(0, eq), line.substring(eq + 1).trim());
            }
        }
        for (String key : List.of("KUBECONFIG", "KUBECTL", "HELM", "INGRESS")) {
            if (!m.containsKey(key)) {
                throw new IllegalStateException("cluster.sh printed no " + key + "= line:\n" + out);
            }
        }
        return m;
    }

    KubernetesClient client() {
        return client;
    }

    /** kubectl with this cluster's kubeconfig; fails with its output unless it exits 0. */
    String kubectl(String... args) {
        return kubectlResult(null, args).orThrow();
    }

    /** kubectl, fed {@code stdin}, whatever its exit code. */
    Shell.Result kubectlResult(String stdin, String... args) {
        List<String> cmd = new ArrayList<>(List.of(kubectl.toString(), "--kubeconfig", kubeconfig.toString()));
        cmd.addAll(List.of(args));
        return Shell.run(Duration.ofMinutes(5), Map.of(), stdin, cmd);
    }

    /** ctr against the node's containerd (its socket in the cluster's state folder), namespace k8s.io. */
    String ctr(String... args) {
        Path socket = kubeconfig.getParent().resolve("run/containerd.sock");
        List<String> cmd = new ArrayList<>(List.of("ctr", "--address", socket.toString(), "-n", "k8s.io"));
        cmd.addAll(List.of(args));
        return Shell.run(Duration.ofMinutes(1), Map.of(), null, cmd).orThrow();
    }

    /** helm with this cluster's kubeconfig. */
    Shell.Result helm(String... args) {
        List<String> cmd = new ArrayList<>(List.of(helm.toString(), "--kubeconfig", kubeconfig.toString()));
        cmd.addAll(List.of(args));
        return Shell.run(Duration.ofMinutes(10), Map.of(), null, cmd);
    }

    static Path cacheDir() {
        String env = System.getenv("GANTRY_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "gantry");
    }

    @Override
    public void close() {
        client.close();
        if (broughtUp && !Boolean.getBoolean("gantry.e2e.keep")) {
            System.out.println("e2e: taking down the cluster this run brought up");
            Shell.run(Duration.ofMinutes(5), Map.of(), null, List.of(SCRIPT.toString(), "down"), System.out);
        }
    }
}
