package dev.gantry.operator.desired;

import dev.gantry.operator.api.IngressSpec;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.ServingSpec;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPath;
import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPathBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressTLS;
import io.fabric8.kubernetes.api.model.networking.v1.IngressTLSBuilder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;

/**
 * The Ingress of spec.ingress: one rule (for the host, or any host), one Prefix path to the
 * workers' Service, TLS for the host when a certificate Secret is named.
 */
public final class WorkerIngress {

    private WorkerIngress() {
    }

    /** Whether an Ingress belongs to this LLMDeployment (the dependent's precondition). */
    public static boolean wanted(LLMDeployment llmd) {
        return llmd.getSpec().ingress != null;
    }

    public static Ingress of(LLMDeployment llmd) {
        IngressSpec ingress = llmd.getSpec().ingress;
        if (ingress == null) {
            throw new IllegalStateException("no ingress in the spec of " + llmd.getMetadata().getName());
        }
        ObjectMeta metadata = WorkerLabels.metadata(llmd);
        // A map even when empty (a mutable copy): JOSDK adds its previous-version annotation to the
        // desired object on create, and a null map made that throw (seen on the e2e node).
        metadata.setAnnotations(ingress.annotations == null ? new LinkedHashMap<>() : new LinkedHashMap<>(ingress.annotations));
        HTTPIngressPath path = new HTTPIngressPathBuilder()
                .withPath(IngressSpec.pathOf(ingress))
                .withPathType("Prefix")
                .withNewBackend()
                .withNewService()
                .withName(llmd.getMetadata().getName())
                // By number: every ingress controller resolves it, not all of them a port name.
                .withNewPort().withNumber(ServingSpec.portOf(llmd.getSpec().serving)).endPort()
                .endService()
                .endBackend()
                .build();
        return new IngressBuilder()
                .withMetadata(metadata)
                .withNewSpec()
                .withIngressClassName(blankToNull(ingress.className))
                .addNewRule()
                .withHost(blankToNull(ingress.host))
                .withNewHttp().withPaths(path).endHttp()
                .endRule()
                .withTls(tls(ingress))
                .endSpec()
                .build();
    }

    /**
     * {@code http(s)://host/path} when the Ingress names a host; empty without an Ingress or a
     * host (an Ingress for any host has no one address to give).
     */
    public static Optional<String> url(LLMDeployment llmd) {
        IngressSpec ingress = llmd.getSpec().ingress;
        if (ingress == null || blankToNull(ingress.host) == null) {
            return Optional.empty();
        }
        return Optional.of((tls(ingress) == null ? "http://" : "https://") + ingress.host + IngressSpec.pathOf(ingress));
    }

    private static List<IngressTLS> tls(IngressSpec ingress) {
        if (ingress.tls == null || blankToNull(ingress.tls.secretName) == null || blankToNull(ingress.host) == null) {
            return null;
        }
        return List.of(new IngressTLSBuilder().withHosts(ingress.host).withSecretName(ingress.tls.secretName).build());
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
