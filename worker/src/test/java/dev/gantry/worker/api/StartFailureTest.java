package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.sun.net.httpserver.HttpServer;
import dev.gantry.worker.config.InvalidConfigException;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.source.DownloadListener;
import dev.gantry.worker.model.source.HubSettings;
import dev.gantry.worker.model.source.ModelLocator;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The line a worker that cannot start leaves for Kubernetes, classified from what the model
 * locator and loader really throw: a missing file, a file that is no GGUF, and hub answers from a
 * server on 127.0.0.1.
 */
class StartFailureTest {
    @TempDir
    Path dir;

    private HttpServer hub;

    @AfterEach
    void stopHub() {
        if (hub != null) {
            hub.stop(0);
        }
    }

    /** A hub that answers every request with {@code status} and the hub's error header. */
    private URI hubAnswering(int status) throws IOException {
        hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hub.createContext("/", exchange -> {
            exchange.getResponseHeaders().add("X-Error-Code", status == 404 ? "EntryNotFound" : "Internal");
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        hub.start();
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    /** What the worker's loader does: resolve, then load; the failure classified as the worker classifies it. */
    private StartFailure startWith(URI endpoint, String model) {
        HubSettings settings = new HubSettings(endpoint, dir.resolve("cache"), null, false)
                .withTimeout(Duration.ofSeconds(5)).withRetries(0);
        Throwable thrown = catchThrowable(() -> {
            try (Model loaded = Model.load(new ModelLocator(settings, DownloadListener.NONE).resolve(model))) {
                assertThat(loaded).isNull(); // unreachable: every model here is bad
            }
        });
        assertThat(thrown).as("loading " + model).isNotNull();
        return StartFailure.of(thrown, model);
    }

    @Test
    void aMissingFileIsModelNotFound() {
        Path missing = dir.resolve("no-such-model.gguf");
        StartFailure failure = startWith(URI.create("http://127.0.0.1:9"), missing.toString());
        assertThat(failure.reason()).isEqualTo(StartFailure.Reason.MODEL_NOT_FOUND);
        assertThat(failure.line()).isEqualTo("ModelNotFound: model " + missing + ": model file not found: " + missing);
    }

    @Test
    void aFileThatIsNoGgufIsModelInvalid() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.gguf"), "these are not weights\n");
        StartFailure failure = startWith(URI.create("http://127.0.0.1:9"), text.toString());
        assertThat(failure.line()).isEqualTo("ModelInvalid: model " + text + ": " + text
                + " is not a GGUF file (it does not start with the magic bytes \"GGUF\")");
    }

    @Test
    void aHub404IsModelNotFound() throws IOException {
        URI endpoint = hubAnswering(404);
        StartFailure failure = startWith(endpoint, "hf://acme/missing-GGUF/model.gguf");
        assertThat(failure.reason()).isEqualTo(StartFailure.Reason.MODEL_NOT_FOUND);
        assertThat(failure.line()).startsWith("ModelNotFound: model hf://acme/missing-GGUF/model.gguf: not found on hub:"
                + " acme/missing-GGUF/model.gguf at revision main").contains("(HTTP 404 from " + endpoint + ")");
    }

    @Test
    void aHub401IsModelNotFoundToo() throws IOException {
        // Gated, private or absent: the hub says 401 for all three to anonymous users.
        StartFailure failure = startWith(hubAnswering(401), "hf://acme/gated-GGUF/model.gguf");
        assertThat(failure.reason()).isEqualTo(StartFailure.Reason.MODEL_NOT_FOUND);
        assertThat(failure.line()).contains("gated or private repository: set HF_TOKEN").contains("HTTP 401");
    }

    @Test
    void aFailingHubIsModelDownloadFailed() throws IOException {
        StartFailure failure = startWith(hubAnswering(503), "hf://acme/m-GGUF/model.gguf");
        assertThat(failure.reason()).isEqualTo(StartFailure.Reason.MODEL_DOWNLOAD_FAILED);
        assertThat(failure.line()).startsWith("ModelDownloadFailed: model hf://acme/m-GGUF/model.gguf: the hub failed to serve")
                .contains("HTTP 503");
    }

    @Test
    void anUnreachableHubIsModelDownloadFailed() throws IOException {
        URI endpoint = hubAnswering(200);
        hub.stop(0);
        hub = null;
        StartFailure failure = startWith(endpoint, "hf://acme/m-GGUF/model.gguf");
        assertThat(failure.reason()).isEqualTo(StartFailure.Reason.MODEL_DOWNLOAD_FAILED);
        assertThat(failure.line()).contains("cannot connect to the hub at " + endpoint);
    }

    @Test
    void aMalformedUriOrSettingIsInvalidConfiguration() {
        StartFailure uri = startWith(URI.create("http://127.0.0.1:9"), "hf://only-an-owner");
        assertThat(uri.reason()).isEqualTo(StartFailure.Reason.INVALID_CONFIGURATION);
        assertThat(uri.line()).startsWith("InvalidConfiguration: model hf://only-an-owner: malformed hub URI");

        StartFailure setting = StartFailure.of(InvalidConfigException.of("max-num-seqs", "must be at least 1, got 0"),
                "/models/m.gguf");
        assertThat(setting.line()).isEqualTo("InvalidConfiguration: model /models/m.gguf: gantry.max-num-seqs"
                + " (--max-num-seqs, GANTRY_MAX_NUM_SEQS) must be at least 1, got 0");
    }

    @Test
    void noUsableGpuIsGpuUnavailable() {
        StartFailure failure = StartFailure.of(
                new dev.gantry.worker.backend.cuda.CudaUnavailableException("no CUDA driver (libcuda.so.1) here"), "m.gguf");
        assertThat(failure.reason()).isEqualTo(StartFailure.Reason.GPU_UNAVAILABLE);
        assertThat(failure.line()).isEqualTo("GpuUnavailable: model m.gguf: no CUDA driver (libcuda.so.1) here");
    }

    @Test
    void anythingElseIsStartFailedWithItsClass() {
        StartFailure oom = StartFailure.of(new OutOfMemoryError("Java heap space"), "hf://a/b/c.gguf");
        assertThat(oom.line()).isEqualTo("StartFailed: model hf://a/b/c.gguf: java.lang.OutOfMemoryError: Java heap space");
        assertThat(StartFailure.of(new IllegalStateException(), null).line()).isEqualTo("StartFailed: java.lang.IllegalStateException");
    }

    @Test
    void theLineIsOneBoundedLine() {
        StartFailure multi = StartFailure.of(new IllegalStateException("first\n  second\r\nthird"), "m.gguf");
        assertThat(multi.line()).isEqualTo("StartFailed: model m.gguf: java.lang.IllegalStateException: first second third");
        StartFailure huge = StartFailure.of(new IllegalStateException("x".repeat(10_000)), "m.gguf");
        assertThat(huge.line()).hasSize(StartFailure.MAX_LINE_CHARS).endsWith("...");
    }

    @Test
    void writtenWhereTheFolderExistsSkippedWhereItDoesNot() throws IOException {
        StartFailure failure = StartFailure.of(new IllegalStateException("boom"), "m.gguf");
        Path file = dir.resolve("termination-log");
        assertThat(failure.writeTo(file)).isTrue();
        assertThat(Files.readString(file, StandardCharsets.UTF_8)).isEqualTo(failure.line() + "\n");
        // A second failure replaces the message, as the kubelet reads the file whole.
        StartFailure again = StartFailure.of(new IllegalStateException("b"), "m.gguf");
        assertThat(again.writeTo(file)).isTrue();
        assertThat(Files.readString(file, StandardCharsets.UTF_8)).isEqualTo(again.line() + "\n");

        assertThat(failure.writeTo(dir.resolve("no-such-folder/termination-log"))).isFalse();
        assertThat(dir.resolve("no-such-folder")).doesNotExist();
    }

    @Test
    void neverANewFileUnderDev() {
        Path notThere = Path.of("/dev/gantry-termination-log-test");
        assertThat(StartFailure.of(new IllegalStateException("boom"), "m.gguf").writeTo(notThere)).isFalse();
        assertThat(notThere).doesNotExist();
    }
}
