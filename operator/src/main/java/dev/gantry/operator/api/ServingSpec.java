package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** How the workers serve the OpenAI-compatible API. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ServingSpec {
    public static final int DEFAULT_PORT = 8000;

    @Min(1)
    @Max(65535)
    @JsonPropertyDescription("The HTTP port of the API, health checks and metrics, on the workers and the Service (default 8000).")
    public Integer port;

    @JsonPropertyDescription("A Secret key holding the API key clients must send as a bearer token; none: no key needed.")
    public SecretKeyRef apiKeySecretRef;

    @JsonPropertyDescription("Cache of whole responses to repeated deterministic requests.")
    public ResponseCacheSpec responseCache;

    /** The port, defaulted; what every builder uses so that they agree. */
    public static int portOf(ServingSpec serving) {
        return serving == null || serving.port == null ? DEFAULT_PORT : serving.port;
    }
}
