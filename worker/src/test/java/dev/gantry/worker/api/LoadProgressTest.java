package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.model.source.ConsoleProgress;
import dev.gantry.worker.model.source.DownloadListener;
import dev.gantry.worker.model.source.HubFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the readiness check says while a worker loads. */
class LoadProgressTest {
    private static final HubFile FILE = HubFile.parse("hf://acme/m-GGUF/m.gguf");
    private static final URI SOURCE = URI.create("http://hub.e2e.svc/acme/m-GGUF/resolve/main/m.gguf");

    @Test
    void phasesAndDownloadBytes() {
        LoadProgress progress = new LoadProgress();
        assertThat(progress.data()).isEqualTo(Map.of("phase", "loading"));

        progress.enter(LoadProgress.Phase.DOWNLOADING);
        assertThat(progress.data()).as("connecting: no bytes yet").isEqualTo(Map.of("phase", "downloading"));
        progress.started(FILE, SOURCE, 0, 1000);
        progress.progressed(FILE, 250, 1000);
        assertThat(progress.data()).containsExactly(Map.entry("phase", "downloading"),
                Map.entry("file", "hf://acme/m-GGUF@main/m.gguf"), Map.entry("downloadedBytes", 250L),
                Map.entry("totalBytes", 1000L));
        progress.finished(FILE, 1000);
        assertThat(progress.data()).containsEntry("downloadedBytes", 1000L);

        progress.enter(LoadProgress.Phase.LOADING);
        assertThat(progress.data()).isEqualTo(Map.of("phase", "loading"));
        progress.enter(LoadProgress.Phase.WARMING);
        assertThat(progress.data()).isEqualTo(Map.of("phase", "warming"));
    }

    @Test
    void aResumedDownloadStartsAtWhatIsOnDiskAndAnUnknownSizeIsLeftOut() {
        LoadProgress progress = new LoadProgress();
        progress.started(FILE, SOURCE, 600, -1);
        assertThat(progress.data()).containsEntry("phase", "downloading").containsEntry("downloadedBytes", 600L)
                .doesNotContainKey("totalBytes");
    }

    @Test
    void theLogAndTheReadinessCheckHearTheSameDownload() {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        LoadProgress progress = new LoadProgress();
        DownloadListener both = new ConsoleProgress(new PrintStream(log, true, StandardCharsets.UTF_8), false)
                .andThen(progress);
        both.started(FILE, SOURCE, 0, 1000);
        both.progressed(FILE, 500, 1000);
        both.finished(FILE, 1000);
        assertThat(log.toString(StandardCharsets.UTF_8)).contains("downloading hf://acme/m-GGUF@main/m.gguf (1000 B)")
                .contains(" 50% [").contains("downloaded hf://acme/m-GGUF@main/m.gguf (1000 B)");
        assertThat(progress.data()).containsEntry("downloadedBytes", 1000L);
    }
}
