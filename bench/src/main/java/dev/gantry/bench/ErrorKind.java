package dev.gantry.bench;

/** Why a request failed; the report counts failures by kind, so each names one cause. */
public enum ErrorKind {
    /** No TCP connection: refused, unknown host, connect timeout. */
    CONNECT("connect"),
    /** The server answered with a status other than 200; the status is kept beside the kind. */
    HTTP_STATUS("http"),
    /** The request ran past {@code --timeout}, from sending to the end of the stream. */
    TIMEOUT("timeout"),
    /** The body was not the SSE stream of JSON chunks the OpenAI API defines. */
    MALFORMED_SSE("malformed sse"),
    /** The stream ended without its closing {@code data: [DONE]}: the answer may be cut short. */
    MISSING_DONE("missing [DONE]"),
    /** The server reported an error inside the stream (an {@code error} object in a chunk). */
    STREAM_ERROR("error in stream"),
    /** The stream closed properly but carried no generated text at all. */
    NO_TOKENS("no tokens"),
    /** The connection broke while the response was being read. */
    IO("i/o");

    private final String label;

    ErrorKind(String label) {
        this.label = label;
    }

    /** The short name the report prints, e.g. {@code timeout}. */
    public String label() {
        return label;
    }
}
