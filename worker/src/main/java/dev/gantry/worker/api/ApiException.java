package dev.gantry.worker.api;

/**
 * A request that ends in an OpenAI-style error response: {@code {"error": {"message", "type",
 * "param", "code"}}} with an HTTP status. Thrown anywhere while handling a request; the route's
 * failure handler turns it into the response.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String param, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: the request is malformed or asks for something impossible; {@code param} names the field, or null. */
    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message);
    }

    /** 400 with OpenAI's {@code context_length_exceeded} code. */
    public static ApiException contextLengthExceeded(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, "context_length_exceeded", message);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, "invalid_request_error", null, "invalid_api_key", message);
    }

    /** 404 for a {@code model} this worker does not serve, in vLLM's words. */
    public static ApiException modelNotFound(String model) {
        return new ApiException(404, "invalid_request_error", "model", "model_not_found",
                "The model `" + model + "` does not exist.");
    }

    public static ApiException routeNotFound(String method, String path) {
        return new ApiException(404, "invalid_request_error", null, "not_found", "Invalid URL (" + method + " " + path + ")");
    }

    public static ApiException methodNotAllowed(String method, String path, String allowed) {
        return new ApiException(405, "invalid_request_error", null, "method_not_allowed",
                "Method " + method + " is not allowed for " + path + ": use " + allowed);
    }

    public static ApiException bodyTooLarge(long limit) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large",
                "The request body is larger than the limit of " + limit + " bytes (gantry.max-request-body).");
    }

    public static ApiException queueFull(String message) {
        return new ApiException(429, "rate_limit_error", null, "queue_full", message);
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", null, null, message);
    }

    public static ApiException unavailable(String code, String message) {
        return new ApiException(503, "server_error", null, code, message);
    }

    public static ApiException timeout(String message) {
        return new ApiException(504, "timeout_error", null, "request_timeout", message);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    /** The request field at fault, or null. */
    public String param() {
        return param;
    }

    /** A machine-readable code, or null. */
    public String code() {
        return code;
    }

    /** The body of the error response. */
    public OpenAiDtos.ErrorResponse toBody() {
        return new OpenAiDtos.ErrorResponse(new OpenAiDtos.ErrorDetail(getMessage(), type, param, code));
    }
}
