package dev.gantry.worker.model.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Local paths, and the plain hub download: bytes, cache reuse, offline mode, progress, locking. */
class ModelLocatorTest {
    static final String FILE_PATH = "/owner/repo/resolve/main/stories260K.gguf";
    static final String FILE_URI = "hf://owner/repo/stories260K.gguf";

    static byte[] model;

    @TempDir
    Path cache;

    FakeHub hub;
    RecordingListener listener;

    @BeforeAll
    static void readModel() throws IOException {
        model = Files.readAllBytes(TestModels.stories260K());
    }

    @BeforeEach
    void startHub() throws IOException {
        hub = FakeHub.start();
        hub.serve(FILE_PATH, model);
        listener = new RecordingListener();
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    ModelLocator locator() {
        return new ModelLocator(new HubSettings(hub.endpoint(), cache, null, false), listener);
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void localAbsolutePathResolvesToItself() {
        Path model = TestModels.stories260K();
        assertThat(locator().resolve(model.toString())).isEqualTo(model.toAbsolutePath().normalize());
    }

    @Test
    void localRelativePathResolvesAgainstTheWorkingDirectory() {
        Path model = TestModels.stories260K().toAbsolutePath().normalize();
        String relative = Path.of("").toAbsolutePath().relativize(model).toString();
        assertThat(relative).doesNotStartWith("/");
        assertThat(locator().resolve(relative)).isEqualTo(model);
    }

    @Test
    void fileUriResolvesToThePath() {
        Path model = TestModels.stories260K().toAbsolutePath().normalize();
        assertThat(locator().resolve(model.toUri().toString())).isEqualTo(model);
        assertThat(locator().resolve("file://localhost" + model)).isEqualTo(model);
    }

    @Test
    void missingLocalFileIsReportedWithItsAbsolutePath() {
        Path missing = cache.resolve("nope.gguf");
        assertThatThrownBy(() -> locator().resolve(missing.toString()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage("model file not found: " + missing);
        assertThatThrownBy(() -> locator().resolve(missing.toUri().toString()))
                .hasMessage("model file not found: " + missing);
    }

    @Test
    void directoryIsNotAModelFile() {
        assertThatThrownBy(() -> locator().resolve(cache.toString()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("model file not found: " + cache)
                .hasMessageContaining("is a directory");
    }

    @Test
    void unsupportedSchemesAndBlankNamesAreRejected() {
        assertThatThrownBy(() -> locator().resolve("https://example.com/model.gguf"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("unsupported model URI scheme 'https'")
                .hasMessageContaining("hf://owner/repo");
        assertThatThrownBy(() -> locator().resolve("  "))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no model given");
        assertThatThrownBy(() -> locator().resolve("file://otherhost/model.gguf"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("malformed file URI");
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf://owner", "hf://owner/repo", "hf://owner/repo/", "hf:///repo/f.gguf",
            "hf://owner/repo@/f.gguf", "hf://owner/../f.gguf", "hf://owner/repo/a/../b.gguf",
            "hf://owner/repo/a//b.gguf", "hf:owner/repo/f.gguf", "hf://owner/repo/dir/"})
    void malformedHubUrisNameTheExpectedForm(String uri) {
        assertThatThrownBy(() -> locator().resolve(uri))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith("malformed hub URI '" + uri + "'")
                .hasMessageContaining("expected hf://owner/repo[@revision]/path/to/file.gguf");
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void downloadsTheFileByteForByteIntoTheCache() throws Exception {
        Path path = locator().resolve(FILE_URI);

        assertThat(path).isEqualTo(cache.resolve("owner/repo/main/stories260K.gguf"));
        byte[] downloaded = Files.readAllBytes(path);
        assertThat(downloaded).isEqualTo(model);
        assertThat(sha256(downloaded)).isEqualTo(sha256(Files.readAllBytes(TestModels.stories260K())));
        assertThat(HubDownloader.partFile(path)).doesNotExist();
        assertThat(hub.requests()).singleElement().satisfies(r -> {
            assertThat(r.path()).isEqualTo(FILE_PATH);
            assertThat(r.range()).isNull();
            assertThat(r.authorization()).isNull();
        });
    }

    @Test
    void secondResolveUsesTheCacheWithoutAnyRequest() {
        Path first = locator().resolve(FILE_URI);
        int requests = hub.requests().size();

        // A new locator, as a new process would have: only the cache folder is shared.
        Path second = new ModelLocator(new HubSettings(hub.endpoint(), cache, null, false), listener)
                .resolve(FILE_URI);

        assertThat(second).isEqualTo(first);
        assertThat(hub.requests()).hasSize(requests);
    }

    @Test
    void explicitRevisionIsPartOfTheUrlAndTheCachePath() {
        hub.serve("/owner/repo/resolve/v1.0/models/stories260K.gguf", model);
        Path path = locator().resolve("hf://owner/repo@v1.0/models/stories260K.gguf");
        assertThat(path).isEqualTo(cache.resolve("owner/repo/v1.0/models/stories260K.gguf")).hasBinaryContent(model);
    }

    @Test
    void tokenIsSentAsBearer() {
        hub.requiredToken = "hf_secret";
        Path path = new ModelLocator(new HubSettings(hub.endpoint(), cache, "hf_secret", false), listener)
                .resolve(FILE_URI);
        assertThat(path).hasBinaryContent(model);
        assertThat(hub.requests()).singleElement()
                .extracting(FakeHub.Request::authorization).isEqualTo("Bearer hf_secret");
    }

    @Test
    void offlineModeWithEmptyCacheFailsWithoutRequests() {
        var offline = new ModelLocator(new HubSettings(hub.endpoint(), cache, null, true), listener);
        assertThatThrownBy(() -> offline.resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("hf://owner/repo@main/stories260K.gguf is not in the cache")
                .hasMessageContaining("HF_HUB_OFFLINE")
                .hasMessageContaining(cache.resolve("owner/repo/main/stories260K.gguf").toString());
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void offlineModeUsesTheCache() {
        Path downloaded = locator().resolve(FILE_URI);
        hub.close();
        var offline = new ModelLocator(new HubSettings(hub.endpoint(), cache, null, true), listener);
        assertThat(offline.resolve(FILE_URI)).isEqualTo(downloaded);
    }

    @Test
    void progressGrowsMonotonicallyToTheTotal() {
        locator().resolve(FILE_URI);

        assertThat(listener.of("started")).containsExactly(new RecordingListener.Event("started", 0, model.length));
        List<Long> progress = listener.progress();
        assertThat(progress).isNotEmpty().isSorted().doesNotHaveDuplicates();
        assertThat(progress.getLast()).isEqualTo(model.length);
        assertThat(listener.events.getLast()).isEqualTo(
                new RecordingListener.Event("finished", model.length, model.length));
        assertThat(listener.sources).containsExactly(hub.endpoint().resolve(FILE_PATH));
    }

    @Test
    void concurrentResolvesDownloadOnceAndAgree() throws Exception {
        hub.chunkDelayMillis = 2;
        int threads = 6;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Path>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int i = 0; i < threads; i++) {
                // Separate locators: the lock must be shared across instances, not per instance.
                ModelLocator locator = locator();
                results.add(pool.submit(() -> {
                    go.await();
                    return locator.resolve(FILE_URI);
                }));
            }
            go.countDown();
            for (Future<Path> f : results) {
                assertThat(f.get()).isEqualTo(cache.resolve("owner/repo/main/stories260K.gguf"));
            }
        }
        assertThat(cache.resolve("owner/repo/main/stories260K.gguf")).hasBinaryContent(model);
        assertThat(hub.requests()).hasSize(1);
        assertThat(hub.bytesSent()).isEqualTo(model.length);
    }
}
