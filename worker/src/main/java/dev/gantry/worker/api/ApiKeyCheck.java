package dev.gantry.worker.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Checks {@code Authorization: Bearer <key>} against the configured key in constant time: both
 * are hashed first, so neither the key's content nor its length shows in how long a wrong
 * guess takes.
 */
final class ApiKeyCheck {
    private static final String BEARER = "bearer ";

    private final byte[] expectedDigest;

    ApiKeyCheck(String key) {
        this.expectedDigest = sha256(key);
    }

    /** Throws the 401 to send when the header does not carry the key. */
    void check(String authorizationHeader) {
        if (authorizationHeader == null || authorizationHeader.isBlank()) {
            throw ApiException.unauthorized("You didn't provide an API key. You need to provide your API key in an"
                    + " Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
        }
        String header = authorizationHeader.strip();
        boolean bearer = header.regionMatches(true, 0, BEARER, 0, BEARER.length());
        String given = bearer ? header.substring(BEARER.length()).strip() : "";
        if (!bearer || !MessageDigest.isEqual(expectedDigest, sha256(given))) {
            throw ApiException.unauthorized("Incorrect API key provided.");
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
