package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Scenario 1: {@code helm install} of helm/gantry; the operator becomes Ready. */
@Order(1)
@ExtendWith(E2eExtension.class)
class S1HelmInstallIT {
    static Cluster cluster;

    @Test
    void helmInstallBringsTheOperatorUp() {
        if (GantryRelease.installed(cluster)) {
            // A kept cluster from an earlier run: start from nothing, as a new user would.
            cluster.helm("uninstall", GantryRelease.RELEASE, "-n", GantryRelease.NAMESPACE, "--wait").orThrow();
        }
        Shell.Result install = cluster.helm(GantryRelease.installArgs("install").toArray(String[]::new));
        assertThat(install.exit()).as(install.err()).isZero();
        assertThat(install.out()).contains("STATUS: deployed");

        JsonNode operator = Llmd.json(cluster.kubectl("get", "deployment", "-n", GantryRelease.NAMESPACE,
                "-l", "app.kubernetes.io/instance=" + GantryRelease.RELEASE, "-o", "json")).path("items").path(0);
        assertThat(operator.path("status").path("readyReplicas").asInt()).as("operator ready replicas").isEqualTo(1);
        assertThat(operator.path("spec").path("template").path("spec").path("containers").path(0).path("image").asText())
                .isEqualTo("ghcr.io/gantry-dev/gantry-operator:" + GantryRelease.VERSION);
        assertThat(cluster.kubectl("get", "crd", "llmdeployments.gantry.dev", "-o",
                "jsonpath={.status.conditions[?(@.type==\"Established\")].status}")).isEqualTo("True");
        // The operator's own health, as its readiness probe sees it.
        String operatorPod = cluster.kubectl("get", "pods", "-n", GantryRelease.NAMESPACE, "-l",
                "app.kubernetes.io/instance=" + GantryRelease.RELEASE, "-o", "jsonpath={.items[0].metadata.name}");
        assertThat(cluster.kubectl("logs", "-n", GantryRelease.NAMESPACE, operatorPod)).contains("started");

        GantryRelease.ensureInstalled(cluster); // the workloads' namespace
    }
}
