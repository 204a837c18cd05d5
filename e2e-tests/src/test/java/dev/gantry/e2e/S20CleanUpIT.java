package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The last scenario: deleting an LLMDeployment removes every object it owned; {@code helm uninstall}
 * leaves no operator, RBAC or webhook behind, and keeps the CRD, as Helm does.
 */
@Order(20)
@ExtendWith(E2eExtension.class)
class S20CleanUpIT {
    static Cluster cluster;
    static final String OWNED = "deployment,replicaset,pod,service,ingress,hpa,pdb";

    @Test
    @Order(1)
    void deletingAnLlmDeploymentRemovesWhatItOwned() {
        for (String name : List.of(S10FaultsIT.NAME, S9AutoscalingIT.NAME, S5RedisResponseCacheIT.NAME, S2ApplySmolLm2IT.NAME)) {
            if (!cluster.kubectlResult(null, "get", "llmd", name, "-n", Llmd.NAMESPACE).ok()) {
                continue;
            }
            assertThat(owned(name)).as("objects of " + name + " before").isNotBlank();
            cluster.kubectl("delete", "llmd", name, "-n", Llmd.NAMESPACE, "--wait", "--timeout", "120s");
            Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
            while (!owned(name).isBlank() && Instant.now().isBefore(deadline)) {
                Llmd.sleep(Duration.ofSeconds(1));
            }
            assertThat(owned(name)).as("objects of " + name + " left after deleting it").isBlank();
        }
    }

    @Test
    @Order(2)
    void helmUninstallLeavesNoOperatorRbacOrWebhook() {
        GantryRelease.ensureInstalled(cluster);
        Shell.Result r = cluster.helm("uninstall", GantryRelease.RELEASE, "-n", GantryRelease.NAMESPACE, "--wait",
                "--timeout", "3m");
        assertThat(r.exit()).as(r.err()).isZero();
        String selector = "app.kubernetes.io/instance=" + GantryRelease.RELEASE;
        // helm waits for what it deleted; the operator's pod then stops on its own, within its grace period.
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (!cluster.kubectl("get", "pod", "-n", GantryRelease.NAMESPACE, "-l", selector, "-o", "name").isBlank()
                && Instant.now().isBefore(deadline)) {
            Llmd.sleep(Duration.ofSeconds(1));
        }
        assertThat(cluster.kubectl("get", "deployment,pod,serviceaccount,role,rolebinding,service,configmap,lease",
                "-n", GantryRelease.NAMESPACE, "-l", selector, "-o", "name")).isBlank();
        assertThat(cluster.kubectl("get", "clusterrole,clusterrolebinding,validatingwebhookconfiguration,"
                + "mutatingwebhookconfiguration,apiservice", "-l", selector, "-o", "name")).isBlank();
        // The node's own metrics stack (cluster/metrics.yaml) names its roles gantry-e2e:*; they are not the chart's.
        assertThat(cluster.kubectl("get", "clusterrole,clusterrolebinding", "-o", "name").lines()
                .filter(l -> l.contains("gantry") && !l.contains("/gantry-e2e:"))).isEmpty();
        assertThat(cluster.kubectl("get", "validatingwebhookconfiguration,mutatingwebhookconfiguration", "-o", "name"))
                .doesNotContain("gantry");
        assertThat(cluster.kubectlResult(null, "get", "crd", "llmdeployments.gantry.dev").ok())
                .as("the CRD stays, as Helm keeps CRDs").isTrue();
    }

    private String owned(String name) {
        return cluster.kubectl("get", OWNED, "-n", Llmd.NAMESPACE, "-l", "app.kubernetes.io/instance=" + name,
                "-o", "name").trim();
    }
}
