package dev.gantry.worker.model.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.ModelLoadException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reading the hub settings from environment variables. */
class HubSettingsTest {
    static final Path HOME = Path.of("/home/user");

    @Test
    void defaultsToTheHuggingFaceHubAndTheUserCache() {
        HubSettings s = HubSettings.fromEnvironment(Map.of(), HOME);
        assertThat(s.endpoint()).isEqualTo(URI.create("https://huggingface.co"));
        assertThat(s.cacheDir()).isEqualTo(Path.of("/home/user/.cache/gantry/hub"));
        assertThat(s.token()).isNull();
        assertThat(s.offline()).isFalse();
        assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.retries()).isEqualTo(HubSettings.DEFAULT_RETRIES);
    }

    @Test
    void readsTheHuggingFaceVariables() {
        HubSettings s = HubSettings.fromEnvironment(Map.of(
                "HF_ENDPOINT", "http://mirror.internal:8080",
                "HF_TOKEN", "hf_abc",
                "HF_HUB_OFFLINE", "1",
                "HF_HUB_DOWNLOAD_TIMEOUT", "2.5"), HOME);
        assertThat(s.endpoint()).isEqualTo(URI.create("http://mirror.internal:8080"));
        assertThat(s.token()).isEqualTo("hf_abc");
        assertThat(s.offline()).isTrue();
        assertThat(s.timeout()).isEqualTo(Duration.ofMillis(2500));
    }

    @Test
    void acceptsTheOlderTokenVariableAndTheUsualTrueSpellings() {
        assertThat(HubSettings.fromEnvironment(Map.of("HUGGING_FACE_HUB_TOKEN", "hf_old"), HOME).token())
                .isEqualTo("hf_old");
        for (String yes : new String[] {"true", "YES", "On"}) {
            assertThat(HubSettings.fromEnvironment(Map.of("HF_HUB_OFFLINE", yes), HOME).offline()).isTrue();
        }
        for (String no : new String[] {"0", "false", ""}) {
            assertThat(HubSettings.fromEnvironment(Map.of("HF_HUB_OFFLINE", no), HOME).offline()).isFalse();
        }
    }

    @Test
    void cacheFolderComesFromGantryThenXdgVariables() {
        assertThat(HubSettings.fromEnvironment(Map.of("GANTRY_CACHE_DIR", "/data/cache", "GANTRY_CACHE", "/x",
                "XDG_CACHE_HOME", "/y"), HOME).cacheDir()).isEqualTo(Path.of("/data/cache/hub"));
        assertThat(HubSettings.fromEnvironment(Map.of("GANTRY_CACHE", "/x", "XDG_CACHE_HOME", "/y"), HOME)
                .cacheDir()).isEqualTo(Path.of("/x/hub"));
        assertThat(HubSettings.fromEnvironment(Map.of("XDG_CACHE_HOME", "/y"), HOME).cacheDir())
                .isEqualTo(Path.of("/y/gantry/hub"));
    }

    @Test
    void badValuesAreReportedByName() {
        assertThatThrownBy(() -> HubSettings.fromEnvironment(Map.of("HF_ENDPOINT", "not a url"), HOME))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("HF_ENDPOINT");
        assertThatThrownBy(() -> HubSettings.fromEnvironment(Map.of("HF_ENDPOINT", "ftp://hub"), HOME))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("http(s) URL");
        assertThatThrownBy(() -> HubSettings.fromEnvironment(Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "soon"), HOME))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("HF_HUB_DOWNLOAD_TIMEOUT");
    }

    @Test
    void toStringHidesTheToken() {
        HubSettings s = HubSettings.fromEnvironment(Map.of("HF_TOKEN", "hf_secret"), HOME);
        assertThat(s.toString()).doesNotContain("hf_secret").contains("token=set");
    }
}
