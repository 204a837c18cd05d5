package dev.gantry.worker.cache;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Cache keys for OpenAI-style requests, and the rule for which requests may be cached at all.
 *
 * <p>A key is the SHA-256 (hex) of a canonical JSON form of (format version, served model,
 * endpoint, request): object keys sorted at every depth, no whitespace, and numbers written by
 * value, so {@code 0}, {@code 0.0} and {@code 0e0} agree while {@code 0.7} and {@code 0.70001} do
 * not. Top-level fields that cannot change the body (the caller's {@code user} tag, {@code
 * metadata}, {@code store}) are left out so they do not split the cache; {@code stream} stays,
 * since a streamed body is a different body.
 */
public final class ResponseCacheKey {
    /** Bumped whenever the canonical form changes, so old entries are never misread. */
    private static final String FORMAT = "gantry-rc-1";
    private static final Set<String> IGNORED_TOP_LEVEL = Set.of("user", "metadata", "store");
    private static final JsonFactory JSON = new JsonFactory();

    private ResponseCacheKey() {}

    /**
     * The key for {@code request} sent to {@code endpoint} (e.g. {@code "completions"} or
     * {@code "chat"}) and served by {@code model}.
     *
     * @throws IllegalArgumentException if {@code request} is not a JSON object
     */
    public static String of(String model, String endpoint, JsonNode request) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(endpoint, "endpoint");
        if (request == null || !request.isObject()) {
            throw new IllegalArgumentException("a cache key needs the request as a JSON object, got "
                    + (request == null ? "null" : request.getNodeType()));
        }
        MessageDigest sha256 = sha256();
        try (JsonGenerator out = JSON.createGenerator(new DigestOutputStream(OutputStream.nullOutputStream(), sha256))) {
            out.writeStartArray();
            out.writeString(FORMAT);
            out.writeString(model);
            out.writeString(endpoint);
            writeCanonical(out, request, true);
            out.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException("hashing into memory cannot fail", e);
        }
        return HexFormat.of().formatHex(sha256.digest());
    }

    /**
     * Whether the response to {@code request} is fully determined by the request: sampling is
     * greedy ({@code temperature} given as the number 0) or seeded ({@code seed} given as a
     * number). Then every choice ({@code n}, {@code best_of}: choice i draws from seed + i) and
     * every log-probability is the same on every run, whatever else the engine is running.
     */
    public static boolean cacheable(JsonNode request) {
        if (request == null || !request.isObject()) {
            return false;
        }
        JsonNode temperature = request.get("temperature");
        boolean greedy = temperature != null && temperature.isNumber() && isExactly(temperature, BigDecimal.ZERO);
        JsonNode seed = request.get("seed");
        boolean seeded = seed != null && seed.isIntegralNumber();
        return greedy || seeded;
    }

    private static boolean isExactly(JsonNode number, BigDecimal value) {
        return canonicalNumber(number).equals(value.toString());
    }

    private static void writeCanonical(JsonGenerator out, JsonNode node, boolean topLevel) throws IOException {
        switch (node.getNodeType()) {
            case OBJECT -> {
                Map<String, JsonNode> sorted = new TreeMap<>();
                for (Map.Entry<String, JsonNode> field : node.properties()) {
                    if (!(topLevel && IGNORED_TOP_LEVEL.contains(field.getKey()))) {
                        sorted.put(field.getKey(), field.getValue());
                    }
                }
                out.writeStartObject();
                for (Map.Entry<String, JsonNode> field : sorted.entrySet()) {
                    out.writeFieldName(field.getKey());
                    writeCanonical(out, field.getValue(), false);
                }
                out.writeEndObject();
            }
            case ARRAY -> {
                out.writeStartArray();
                for (JsonNode element : node) {
                    writeCanonical(out, element, false);
                }
                out.writeEndArray();
            }
            case STRING -> out.writeString(node.textValue());
            case NUMBER -> out.writeNumber(canonicalNumber(node));
            case BOOLEAN -> out.writeBoolean(node.booleanValue());
            case NULL, MISSING -> out.writeNull();
            // Binary and POJO nodes do not come out of a JSON parser; hash their text to stay total.
            default -> out.writeString(node.getNodeType() + ":" + node.asText());
        }
    }

    /**
     * The number's value in one spelling, however the request wrote it: trailing zeros stripped,
     * so {@code 100}, {@code 100.0} and {@code 1e2} all become {@code 1E+2}, and scientific
     * notation keeps a hostile {@code 1e999999} from expanding into a million digits.
     */
    private static String canonicalNumber(JsonNode number) {
        if (number.isIntegralNumber()) {
            BigDecimal value = new BigDecimal(number.bigIntegerValue()).stripTrailingZeros();
            return value.signum() == 0 ? "0" : value.toString();
        }
        double d = number.doubleValue();
        if (number.isDouble() && (Double.isNaN(d) || Double.isInfinite(d))) {
            return Double.toString(d);
        }
        BigDecimal value = number.decimalValue().stripTrailingZeros();
        return value.signum() == 0 ? "0" : value.toString();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
