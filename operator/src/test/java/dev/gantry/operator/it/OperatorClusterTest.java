package dev.gantry.operator.it;

import static org.awaitility.Awaitility.await;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.StandaloneOperator;
import dev.gantry.operator.api.LLMDeployment;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.processing.dependent.workflow.CRDPresentActivationCondition;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/**
 * Base of the ITs that run the operator: a full control plane for the test class (started by the
 * subclass's @BeforeAll through {@link #startCluster}), the LLMDeployment CRD from crds/, a fake
 * node, the operator in-process, and a fresh namespace per test so tests never see each other's
 * objects.
 */
abstract class OperatorClusterTest {
    static final String NAME = "chat";
    static final String MODEL = "hf://bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q8_0.gguf";

    static ControlPlane plane;
    static KubernetesClient client;
    static FakeKubelet kubelet;
    static Operator operator;
    /** Finished reconciles per LLMDeployment, as JOSDK reports them: how tests tell "reconciled" from "idle". */
    static final Map<ResourceID, AtomicInteger> RECONCILES = new ConcurrentHashMap<>();

    String ns;
    private static final AtomicInteger NAMESPACES = new AtomicInteger();

    static void startCluster(Class<?> testClass) {
        plane = ControlPlane.apiServerOnly(testClass.getSimpleName());
        client = plane.client();
        installCrd(client, repoRoot().resolve("crds/llmdeployments.gantry.dev-v1.yml"));
        plane.startControllers();
        kubelet = new FakeKubelet(client);
        kubelet.registerNode();
        operator = startOperator();
    }

    @AfterAll
    static void stopCluster() {
        if (operator != null) {
            operator.stop();
            operator = null;
        }
        if (plane != null) {
            plane.close();
            plane = null;
        }
    }

    /**
     * A fresh operator, as after a pod restart. JOSDK caches "CRD present?" in a static map for the
     * whole JVM; cleared so each test class's control plane is asked afresh.
     */
    static Operator startOperator() {
        CRDPresentActivationCondition.clearState();
        Operator started = StandaloneOperator.create(client, Fixtures.config(), o -> o.withMetrics(new Metrics() {
            @Override
            public void finishedReconciliation(HasMetadata resource, Map<String, Object> metadata) {
                RECONCILES.computeIfAbsent(ResourceID.fromResource(resource), id -> new AtomicInteger()).incrementAndGet();
            }
        }));
        started.start();
        return started;
    }

    @BeforeEach
    void createNamespace(TestInfo test) {
        String method = test.getTestMethod().map(m -> m.getName()).orElse("test").toLowerCase().replaceAll("[^a-z0-9]", "");
        ns = (method.length() > 40 ? method.substring(0, 40) : method) + "-" + NAMESPACES.incrementAndGet();
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
    }

    static Path repoRoot() {
        return Path.of(System.getProperty("gantry.repo.root", "..")).toAbsolutePath().normalize();
    }

    static void installCrd(KubernetesClient client, Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions().load(in).item();
            installCrd(client, crd);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the CRD " + file + " (is gantry.repo.root right?)", e);
        }
    }

    /** Creates a CRD and waits until the API server serves it. */
    static void installCrd(KubernetesClient client, CustomResourceDefinition crd) {
        client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
        client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions() != null
                        && c.getStatus().getConditions().stream()
                        .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())), 30, TimeUnit.SECONDS);
    }

    /** Polls every 200ms for up to a minute: generous for 2 busy cores, quick when things work. */
    static ConditionFactory eventually() {
        return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions();
    }

    /** An LLMDeployment named {@link #NAME} in this test's namespace, serving {@link #MODEL}. */
    LLMDeployment llmd() {
        LLMDeployment llmd = Fixtures.llmd(MODEL);
        llmd.setMetadata(new ObjectMetaBuilder().withName(NAME).withNamespace(ns).build());
        return llmd;
    }

    LLMDeployment create(LLMDeployment llmd) {
        return client.resource(llmd).create();
    }

    Resource<LLMDeployment> llmdResource() {
        return client.resources(LLMDeployment.class).inNamespace(ns).withName(NAME);
    }

    /**
     * Changes the LLMDeployment as kubectl edit would: read, modify, write back if unchanged since
     * the read. The operator's status writes bump the resourceVersion too, so a conflict is retried.
     */
    LLMDeployment editSpec(UnaryOperator<LLMDeployment> change) {
        for (int attempt = 1; ; attempt++) {
            try {
                return llmdResource().edit(change);
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == 10) {
                    throw e;
                }
            }
        }
    }

    Resource<Deployment> deploymentResource() {
        return client.apps().deployments().inNamespace(ns).withName(NAME);
    }

    Optional<Condition> condition(String type) {
        LLMDeployment llmd = llmdResource().get();
        if (llmd == null || llmd.getStatus() == null) {
            return Optional.empty();
        }
        return llmd.getStatus().conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    /** Reconciles finished for this test's LLMDeployment so far. */
    int reconciles() {
        AtomicInteger n = RECONCILES.get(new ResourceID(NAME, ns));
        return n == null ? 0 : n.get();
    }

    /** Starts the workers through the fake kubelet until the Deployment is Available with all of them ready. */
    void runWorkersUntilAvailable(int replicas) {
        eventually().until(() -> {
            kubelet.sync(ns, NAME);
            Deployment d = deploymentResource().get();
            return d != null && d.getStatus() != null && d.getStatus().getConditions() != null
                    && Integer.valueOf(replicas).equals(d.getStatus().getAvailableReplicas())
                    && Integer.valueOf(replicas).equals(d.getStatus().getUpdatedReplicas())
                    && Integer.valueOf(replicas).equals(d.getStatus().getReplicas())
                    && d.getStatus().getConditions().stream()
                            .anyMatch(c -> "Available".equals(c.getType()) && "True".equals(c.getStatus()));
        });
    }
}
