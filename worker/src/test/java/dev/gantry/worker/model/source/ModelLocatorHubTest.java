package dev.gantry.worker.model.source;

import static dev.gantry.worker.model.source.ModelLocatorTest.FILE_PATH;
import static dev.gantry.worker.model.source.ModelLocatorTest.FILE_URI;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.testing.TestModels;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the locator talks to the hub: redirects, checksums, tokens, and the errors it reports. */
class ModelLocatorHubTest {
    static final String BLOB = "/cdn/blobs/4f3a/stories260K.gguf";

    static byte[] model;
    static String modelSha256;

    @TempDir
    Path cache;

    FakeHub hub;
    RecordingListener listener;
    Path target;

    @BeforeAll
    static void readModel() throws Exception {
        model = Files.readAllBytes(TestModels.stories260K());
        modelSha256 = ModelLocatorTest.sha256(model);
    }

    @BeforeEach
    void startHub() throws IOException {
        hub = FakeHub.start();
        listener = new RecordingListener();
        target = cache.resolve("owner/repo/main/stories260K.gguf");
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    ModelLocator locator(String token) {
        return new ModelLocator(new HubSettings(hub.endpoint(), cache, token, false).withRetries(0), listener);
    }

    @Test
    void followsARedirectToAnotherPathAndChecksTheLinkedSha256() {
        hub.redirect(FILE_PATH, 302, BLOB, model.length, modelSha256);
        hub.serve(BLOB, model);

        Path path = locator("hf_tok").resolve(FILE_URI);

        assertThat(path).isEqualTo(target).hasBinaryContent(model);
        assertThat(hub.requests()).extracting(FakeHub.Request::path).containsExactly(FILE_PATH, BLOB);
        // The same host: the token goes along, as the hub's own relative redirects need it.
        assertThat(hub.requests()).extracting(FakeHub.Request::authorization)
                .containsExactly("Bearer hf_tok", "Bearer hf_tok");
        assertThat(listener.sources).containsExactly(hub.endpoint().resolve(BLOB));
    }

    @Test
    void redirectToAnotherHostDoesNotCarryTheToken() throws IOException {
        try (FakeHub cdn = FakeHub.start()) {
            cdn.serve(BLOB, model);
            hub.redirect(FILE_PATH, 307, cdn.endpoint() + BLOB + "?X-Signature=abc", model.length, modelSha256);

            Path path = locator("hf_tok").resolve(FILE_URI);

            assertThat(path).hasBinaryContent(model);
            assertThat(hub.requests()).singleElement()
                    .extracting(FakeHub.Request::authorization).isEqualTo("Bearer hf_tok");
            assertThat(cdn.requests()).singleElement().satisfies(r -> {
                assertThat(r.path()).isEqualTo(BLOB);
                assertThat(r.authorization()).isNull();
            });
        }
    }

    @Test
    void resumeThroughARedirectSendsTheRangeToTheCdn() throws IOException {
        hub.redirect(FILE_PATH, 302, BLOB, model.length, modelSha256);
        hub.serve(BLOB, model);
        Path part = HubDownloader.partFile(target);
        Files.createDirectories(part.getParent());
        Files.write(part, Arrays.copyOf(model, 70_000));

        assertThat(locator(null).resolve(FILE_URI)).hasBinaryContent(model);
        assertThat(hub.requests()).extracting(FakeHub.Request::range).containsExactly("bytes=70000-", "bytes=70000-");
    }

    @Test
    void sha256MismatchDeletesTheDownload() {
        hub.redirect(FILE_PATH, 302, BLOB, model.length, "0".repeat(64));
        hub.serve(BLOB, model);

        assertThatThrownBy(() -> locator(null).resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("download of hf://owner/repo@main/stories260K.gguf is corrupt")
                .hasMessageContaining("sha256 " + modelSha256)
                .hasMessageContaining("announced " + "0".repeat(64));
        assertThat(target).doesNotExist();
        assertThat(HubDownloader.partFile(target)).doesNotExist();
    }

    @Test
    void redirectLoopsEnd() {
        hub.redirect(FILE_PATH, 302, FILE_PATH, -1, null);

        assertThatThrownBy(() -> locator(null).resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("too many redirects");
    }

    @Test
    void missingFileIsNotFoundOnHub() {
        assertThatThrownBy(() -> locator(null).resolve("hf://owner/repo/missing.gguf"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith("not found on hub: owner/repo/missing.gguf at revision main")
                .hasMessageContaining("HTTP 404");
        assertThat(cache.resolve("owner/repo/main/missing.gguf")).doesNotExist();
        assertThat(cache.resolve("owner/repo/main/missing.gguf.part")).doesNotExist();
    }

    @Test
    void gatedRepositoryAsksForAToken() {
        hub.requiredToken = "hf_right";
        hub.serve(FILE_PATH, model);

        assertThatThrownBy(() -> locator(null).resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith("gated or private repository: set HF_TOKEN")
                .hasMessageContaining("owner/repo")
                .hasMessageContaining("HTTP 401");
        assertThatThrownBy(() -> locator("hf_wrong").resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith("gated or private repository: the HF_TOKEN given has no access to owner/repo")
                .hasMessageContaining("HTTP 403");
        assertThat(target).doesNotExist();
    }

    @Test
    void serverErrorsNameTheStatus() {
        hub.forcedStatus = 503;
        assertThatThrownBy(() -> locator(null).resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("the hub failed to serve hf://owner/repo@main/stories260K.gguf")
                .hasMessageContaining("HTTP 503 from " + hub.endpoint());
    }

    @Test
    void refusedConnectionNamesTheEndpoint() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        URI endpoint = URI.create("http://127.0.0.1:" + port);
        var locator = new ModelLocator(new HubSettings(endpoint, cache, null, false), listener);

        assertThatThrownBy(() -> locator.resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("cannot connect to the hub at " + endpoint)
                .hasMessageContaining("HF_ENDPOINT");
    }

    @Test
    void hubThatDoesNotAnswerTimesOut() {
        hub.delayHeadersMillis = 10_000;
        var settings = new HubSettings(hub.endpoint(), cache, null, false).withTimeout(Duration.ofMillis(500));

        assertThatThrownBy(() -> new ModelLocator(settings, listener).resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("the hub at " + hub.endpoint() + " did not answer within 0.5s")
                .hasMessageContaining("HF_HUB_DOWNLOAD_TIMEOUT");
    }

    @Test
    void endpointWithAPathPrefixAndSpecialCharactersInTheFileName() {
        hub.serve("/mirror/hf/owner/repo/resolve/main/dir/my%20model%2B1.gguf", model);
        var settings = new HubSettings(URI.create(hub.endpoint() + "/mirror/hf/"), cache, null, false);

        Path path = new ModelLocator(settings, listener).resolve("hf://owner/repo/dir/my model+1.gguf");

        assertThat(path).isEqualTo(cache.resolve("owner/repo/main/dir/my model+1.gguf")).hasBinaryContent(model);
    }
}
