package dev.gantry.bench;

import java.net.http.HttpRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code --header NAME:VALUE} options: headers sent with every request and every /metrics
 * scrape. The usual one is {@code Host}, to reach a server through an ingress or gateway that
 * routes by host name while connecting to its address (the JDK's HTTP client refuses to set Host
 * unless told, so {@link BenchCli} allows it before the first client is made).
 */
final class RequestHeaders {
    /** Headers the client itself must own: a wrong value would break the exchange. */
    private static final Set<String> REFUSED = Set.of("content-length", "connection", "transfer-encoding",
            "expect", "upgrade", "te");

    private RequestHeaders() {
    }

    static Map<String, String> parse(List<String> options) {
        Map<String, String> headers = new LinkedHashMap<>();
        if (options == null) {
            return headers;
        }
        for (String option : options) {
            int colon = option.indexOf(':');
            String name = colon < 0 ? "" : option.substring(0, colon).trim();
            if (name.isEmpty() || !name.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
                throw new IllegalArgumentException("--header must be NAME:VALUE, e.g. 'Host: llm.example.com', got '"
                        + option + "'");
            }
            if (REFUSED.contains(name.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("--header " + name + " cannot be set: the HTTP client sets it");
            }
            headers.put(name, option.substring(colon + 1).trim());
        }
        return headers;
    }

    static HttpRequest.Builder apply(HttpRequest.Builder request, Map<String, String> headers) {
        headers.forEach(request::setHeader);
        return request;
    }
}
