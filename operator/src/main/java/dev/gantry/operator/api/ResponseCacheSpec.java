package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;

/** The workers' response cache: in memory per worker, or shared in Redis. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ResponseCacheSpec {

    @JsonPropertyDescription("Answer repeated deterministic requests from the cache (worker default: true).")
    public Boolean enabled;

    @Pattern("^([0-9]+(ms|s|m|h|d))+$")
    @JsonPropertyDescription("How long an entry lives, e.g. 10m or 1h30m (worker default: 10m).")
    public String ttl;

    @JsonPropertyDescription("A Secret key holding a redis:// URL: share the cache between workers in Redis.")
    public SecretKeyRef redisUrlSecretRef;
}
