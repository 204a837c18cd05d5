package dev.gantry.worker.model.source;

import static dev.gantry.worker.model.source.ModelLocatorTest.FILE_PATH;
import static dev.gantry.worker.model.source.ModelLocatorTest.FILE_URI;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Partial downloads: resuming with Range, servers that break off, stall, ignore ranges or lie. */
class ModelLocatorResumeTest {
    static byte[] model;

    @TempDir
    Path cache;

    FakeHub hub;
    RecordingListener listener;
    Path target;
    Path part;

    @BeforeAll
    static void readModel() throws IOException {
        model = Files.readAllBytes(TestModels.stories260K());
    }

    @BeforeEach
    void startHub() throws IOException {
        hub = FakeHub.start();
        hub.serve(FILE_PATH, model);
        listener = new RecordingListener();
        target = cache.resolve("owner/repo/main/stories260K.gguf");
        part = HubDownloader.partFile(target);
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    ModelLocator locator(int retries) {
        return new ModelLocator(new HubSettings(hub.endpoint(), cache, null, false).withRetries(retries), listener);
    }

    @Test
    void droppedConnectionLeavesAPartThatTheNextResolveResumes() throws IOException {
        hub.dropAfterBytes = model.length / 2;
        hub.dropsLeft.set(1);

        assertThatThrownBy(() -> locator(0).resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("download of hf://owner/repo@main/stories260K.gguf broke off")
                .hasMessageContaining("connection lost")
                .hasMessageContaining("resolve again to resume");
        assertThat(target).doesNotExist();
        assertThat(part).exists();
        long kept = Files.size(part);
        assertThat(kept).isPositive().isLessThan(model.length);
        assertThat(Files.readAllBytes(part)).isEqualTo(Arrays.copyOf(model, (int) kept));

        Path path = locator(0).resolve(FILE_URI);

        assertThat(path).isEqualTo(target).hasBinaryContent(model);
        assertThat(part).doesNotExist();
        assertThat(hub.requests()).hasSize(2);
        assertThat(hub.requests().get(1).range()).isEqualTo("bytes=" + kept + "-");
        assertThat(listener.of("started").getLast()).isEqualTo(
                new RecordingListener.Event("started", kept, model.length));
        assertThat(listener.progress().subList(listener.progress().indexOf(kept) + 1, listener.progress().size()))
                .isSorted().allMatch(n -> n > kept).last().isEqualTo((long) model.length);
    }

    @Test
    void droppedConnectionIsResumedWithinOneResolveWhenRetriesAllow() {
        hub.dropAfterBytes = model.length / 3;
        hub.dropsLeft.set(2);

        Path path = locator(2).resolve(FILE_URI);

        assertThat(path).hasBinaryContent(model);
        assertThat(hub.requests()).hasSize(3);
        assertThat(hub.requests().get(0).range()).isNull();
        assertThat(hub.requests().get(1).range()).matches("bytes=\\d+-");
        assertThat(hub.requests().get(2).range()).matches("bytes=\\d+-");
        assertThat(listener.of("interrupted")).hasSize(2);
        // Each resumption asks for exactly what the interrupted attempt left on disk.
        assertThat(listener.of("interrupted")).extracting(e -> "bytes=" + e.bytes() + "-")
                .containsExactly(hub.requests().get(1).range(), hub.requests().get(2).range());
    }

    @Test
    void stalledBodyIsCutOffByTheTimeoutAndResumed() {
        hub.stallAfterBytes = 100_000;
        hub.stallsLeft.set(1);
        var settings = new HubSettings(hub.endpoint(), cache, null, false)
                .withTimeout(Duration.ofSeconds(1)).withRetries(1);

        Path path = new ModelLocator(settings, listener).resolve(FILE_URI);

        assertThat(path).hasBinaryContent(model);
        assertThat(hub.requests()).hasSize(2);
        assertThat(hub.requests().get(1).range()).isEqualTo("bytes=100000-");
        assertThat(listener.of("interrupted")).singleElement()
                .isEqualTo(new RecordingListener.Event("interrupted", 100_000, -1));
    }

    @Test
    void stalledBodyWithoutRetriesKeepsThePart() {
        hub.stallAfterBytes = 100_000;
        hub.stallsLeft.set(1);
        var settings = new HubSettings(hub.endpoint(), cache, null, false)
                .withTimeout(Duration.ofSeconds(1)).withRetries(0);

        assertThatThrownBy(() -> new ModelLocator(settings, listener).resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no data for 1s")
                .hasMessageContaining(part.toString());
        assertThat(part).hasSize(100_000);
    }

    @Test
    void serverThatIgnoresTheRangeRestartsFromZero() throws IOException {
        Files.createDirectories(part.getParent());
        Files.write(part, new byte[5000]);
        hub.ignoreRange = true;

        Path path = locator(0).resolve(FILE_URI);

        assertThat(path).hasBinaryContent(model);
        assertThat(hub.requests()).singleElement().extracting(FakeHub.Request::range).isEqualTo("bytes=5000-");
        assertThat(listener.of("started")).containsExactly(new RecordingListener.Event("started", 0, model.length));
    }

    @Test
    void partAtOrPastTheEndIsDiscardedAndFetchedAgain() throws IOException {
        Files.createDirectories(part.getParent());
        Files.write(part, new byte[model.length + 10]);

        Path path = locator(0).resolve(FILE_URI);

        assertThat(path).hasBinaryContent(model);
        assertThat(hub.requests()).extracting(FakeHub.Request::range)
                .containsExactly("bytes=" + (model.length + 10) + "-", null);
    }

    @Test
    void announcedSizeLargerThanTheBodyIsAnErrorAndKeepsThePart() throws IOException {
        hub.announcedSize = model.length + 4096;

        assertThatThrownBy(() -> locator(0).resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("download of hf://owner/repo@main/stories260K.gguf is incomplete")
                .hasMessageContaining("announced " + (model.length + 4096) + " bytes")
                .hasMessageContaining("ended at " + model.length)
                .hasMessageContaining("is kept");
        assertThat(target).doesNotExist();
        assertThat(part).hasBinaryContent(model);
    }

    @Test
    void bodyLongerThanAnnouncedIsAnErrorAndDiscarded() {
        hub.announcedSize = model.length - 4096;

        assertThatThrownBy(() -> locator(0).resolve(FILE_URI))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("sent more of hf://owner/repo@main/stories260K.gguf than the "
                        + (model.length - 4096) + " bytes announced");
        assertThat(target).doesNotExist();
        assertThat(part).doesNotExist();
    }

    @Test
    void partialFileIsNotServedOffline() throws IOException {
        Files.createDirectories(part.getParent());
        Files.write(part, Arrays.copyOf(model, 1000));
        var offline = new ModelLocator(new HubSettings(hub.endpoint(), cache, null, true), listener);

        assertThatThrownBy(() -> offline.resolve(FILE_URI))
                .hasMessageContaining("HF_HUB_OFFLINE")
                .hasMessageContaining("a partial download is at " + part);
    }

    @Test
    void resumeFromAnExistingPartFetchesOnlyTheRest() throws IOException {
        Files.createDirectories(part.getParent());
        Files.write(part, Arrays.copyOf(model, 1000));

        Path path = locator(0).resolve(FILE_URI);

        assertThat(path).hasBinaryContent(model);
        assertThat(hub.requests()).singleElement().extracting(FakeHub.Request::range).isEqualTo("bytes=1000-");
        assertThat(hub.bytesSent()).isEqualTo(model.length - 1000);
    }
}
