package dev.gantry.bench;

/**
 * One failed request's cause.
 *
 * @param kind       what went wrong
 * @param httpStatus the HTTP status for {@link ErrorKind#HTTP_STATUS}, else 0
 * @param message    the server's own error message where it sent one, else the client's
 */
public record RequestError(ErrorKind kind, int httpStatus, String message) {

    public RequestError {
        if (kind == ErrorKind.HTTP_STATUS && httpStatus == 0) {
            throw new IllegalArgumentException("an HTTP status error needs its status");
        }
    }

    public static RequestError of(ErrorKind kind, String message) {
        return new RequestError(kind, 0, message);
    }

    public static RequestError http(int status, String message) {
        return new RequestError(ErrorKind.HTTP_STATUS, status, message);
    }

    /** The key failures are grouped by in reports: {@code http 429}, {@code timeout}, ... */
    public String key() {
        return kind == ErrorKind.HTTP_STATUS ? "http " + httpStatus : kind.label();
    }
}
