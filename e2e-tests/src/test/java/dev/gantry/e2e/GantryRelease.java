package dev.gantry.e2e;

import java.util.ArrayList;
import java.util.List;

/**
 * The Helm release of helm/gantry the scenarios run under, installed as the README says, with the
 * images this build made (imported into the node by cluster.sh, so never pulled) and the workers
 * pointed at the in-cluster hub.
 */
final class GantryRelease {
    static final String RELEASE = "gantry";
    static final String NAMESPACE = "gantry-system";
    static final String VERSION = System.getProperty("gantry.project.version", "0.1.0-SNAPSHOT");

    private GantryRelease() {
    }

    /** {@code helm install} (or {@code upgrade --install}) arguments, values included. */
    static List<String> installArgs(String verb, String... more) {
        List<String> args = new ArrayList<>(List.of(verb, RELEASE, Cluster.REPO.resolve("helm/gantry").toString(),
                "-n", NAMESPACE, "--create-namespace",
                "--set", "image.tag=" + VERSION, "--set", "workerImage.tag=" + VERSION,
                "--set", "image.pullPolicy=IfNotPresent", "--set", "workerImage.pullPolicy=IfNotPresent",
                "--set", "operator.hfEndpoint=" + Cluster.HUB_ENDPOINT,
                "--wait", "--timeout", "5m"));
        args.addAll(List.of(more));
        return args;
    }

    static boolean installed(Cluster cluster) {
        return cluster.helm("status", RELEASE, "-n", NAMESPACE).ok();
    }

    /** For a scenario run on its own: the release, installed unless it is there. */
    static void ensureInstalled(Cluster cluster) {
        if (!installed(cluster)) {
            cluster.helm(installArgs("install").toArray(String[]::new)).orThrow();
        }
        if (!cluster.kubectlResult(null, "get", "namespace", Llmd.NAMESPACE).ok()) {
            cluster.kubectl("create", "namespace", Llmd.NAMESPACE);
        }
    }
}
