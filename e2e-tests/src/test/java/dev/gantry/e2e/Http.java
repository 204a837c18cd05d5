package dev.gantry.e2e;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Plain HTTP to the cluster: through the ingress entrypoint on the loopback (routed by the Host
 * header, as a DNS name pointing at the ingress would route it), or straight to a pod's address.
 * The JDK lets a request set Host only when told (jdk.httpclient.allowRestrictedHeaders=host,
 * set by the pom for the test JVM).
 */
final class Http {
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private Http() {
    }

    /** @param retryAfter the Retry-After header, or null */
    record Reply(int status, String body, String retryAfter) {
        Reply(int status, String body) {
            this(status, body, null);
        }
    }

    /** POST a JSON body to {@code base + path}; host may be null (no Host override). */
    static Reply post(String base, String host, String path, String json, String apiKey) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
        return send(b, host, apiKey);
    }

    static Reply get(String base, String host, String path, String apiKey) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET(), host, apiKey);
    }

    private static Reply send(HttpRequest.Builder b, String host, String apiKey) {
        if (host != null) {
            b.header("Host", host);
        }
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        try {
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers().firstValue("Retry-After").orElse(null));
        } catch (IOException e) {
            return new Reply(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The sum of a Prometheus counter (all label sets) in a /metrics text, 0 when absent. */
    static double counter(String metricsText, String name) {
        double sum = 0;
        for (String line : metricsText.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{") || line.startsWith(name + "_total")) {
                String[] parts = line.trim().split("\\s+");
                sum += Double.parseDouble(parts[parts.length - 1]);
            }
        }
        return sum;
    }
}
