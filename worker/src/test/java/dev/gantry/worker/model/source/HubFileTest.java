package dev.gantry.worker.model.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.ModelLoadException;
import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Parsing hf:// URIs, and the URL and cache path they map to. */
class HubFileTest {
    @Test
    void parsesOwnerRepoAndNestedPathWithTheDefaultRevision() {
        HubFile f = HubFile.parse("hf://TheBloke/Llama-2-7B-GGUF/q4/llama-2-7b.Q4_K_M.gguf");
        assertThat(f).isEqualTo(new HubFile("TheBloke", "Llama-2-7B-GGUF", "main", "q4/llama-2-7b.Q4_K_M.gguf"));
        assertThat(f.repoId()).isEqualTo("TheBloke/Llama-2-7B-GGUF");
        assertThat(f).hasToString("hf://TheBloke/Llama-2-7B-GGUF@main/q4/llama-2-7b.Q4_K_M.gguf");
    }

    @Test
    void parsesAnExplicitRevision() {
        HubFile f = HubFile.parse("hf://owner/repo@0123abcd/model.gguf");
        assertThat(f.revision()).isEqualTo("0123abcd");
        assertThat(f.repo()).isEqualTo("repo");
        assertThat(f.path()).isEqualTo("model.gguf");
    }

    @Test
    void cachePathStaysUnderTheCacheFolder() {
        Path cache = Path.of("/var/cache/gantry/hub");
        assertThat(HubFile.parse("hf://o/r@v2/a/b.gguf").cachePath(cache))
                .isEqualTo(Path.of("/var/cache/gantry/hub/o/r/v2/a/b.gguf"));
    }

    @Test
    void resolveUrlFollowsTheHubSchemeAndEncodesSegments() {
        HubFile f = HubFile.parse("hf://owner/repo@v1/dir/my model#1.gguf");
        assertThat(HubDownloader.resolveUrl(URI.create("https://huggingface.co"), f))
                .isEqualTo(URI.create("https://huggingface.co/owner/repo/resolve/v1/dir/my%20model%231.gguf"));
        assertThat(HubDownloader.resolveUrl(URI.create("http://mirror:8080/hf/"), HubFile.parse("hf://o/r/f.gguf")))
                .isEqualTo(URI.create("http://mirror:8080/hf/o/r/resolve/main/f.gguf"));
    }

    @Test
    void rejectsPartsThatCouldLeaveTheCacheFolder() {
        assertThatThrownBy(() -> new HubFile("..", "repo", "main", "f.gguf"))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("owner may not be '..'");
        assertThatThrownBy(() -> new HubFile("o", "r", "main", "a\\..\\f.gguf"))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("invalid character");
        assertThatThrownBy(() -> new HubFile("o", "r", "a/b", "f.gguf"))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("revision 'a/b'");
        assertThatThrownBy(() -> HubFile.parse("/local/file.gguf"))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("not an hf:// URI");
    }
}
