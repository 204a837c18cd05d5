package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.Map;

/** Exposes the workers' Service outside the cluster through a networking.k8s.io/v1 Ingress. */
@JsonInclude(JsonInclude.Include.NON_NULL)
// A certificate is for a host name; an Ingress TLS entry without hosts would claim every host.
@ValidationRule(value = "!has(self.tls) || has(self.host)",
        message = "tls needs a host: the certificate is served for that host name", reason = "FieldValueRequired")
public class IngressSpec {
    /** The path an Ingress without a path routes: everything. */
    public static final String DEFAULT_PATH = "/";

    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    @JsonPropertyDescription("The host name clients use (an Ingress rule's host); none: any host the ingress "
            + "controller serves. With a host, status.url is http(s)://host/path.")
    public String host;

    @Default(DEFAULT_PATH)
    @Pattern("^/.*$")
    @JsonPropertyDescription("The path prefix routed to the workers (pathType Prefix; default /). The workers "
            + "serve /v1/... themselves: a path other than / needs an ingress controller that strips it.")
    public String path;

    @JsonPropertyDescription("The IngressClass that serves this Ingress (spec.ingressClassName); none: the "
            + "cluster's default class.")
    public String className;

    @JsonPropertyDescription("Annotations of the Ingress, for the ingress controller (timeouts, body size, ...).")
    public Map<String, String> annotations;

    @JsonPropertyDescription("TLS for the host, with the certificate in a Secret.")
    public Tls tls;

    /** The path, defaulted; what the builder and the status URL both use. */
    public static String pathOf(IngressSpec ingress) {
        return ingress == null || ingress.path == null || ingress.path.isBlank() ? DEFAULT_PATH : ingress.path;
    }

    /** TLS termination at the ingress controller. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Tls {
        @Required
        @JsonPropertyDescription("A kubernetes.io/tls Secret in the LLMDeployment's namespace holding the host's "
                + "certificate and key.")
        public String secretName;

        public Tls() {
        }

        public Tls(String secretName) {
            this.secretName = secretName;
        }
    }
}
