package dev.gantry.operator.desired;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.operator.api.ModelSpec;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelSourceTest {

    @Test
    void hubModelsDownloadIntoTheCacheVolume() {
        ModelSource source = ModelSource.of("hf://owner/repo/model.gguf");
        assertThat(source).isEqualTo(new ModelSource("hf://owner/repo/model.gguf", ModelSource.CACHE_MOUNT, Optional.empty()));
    }

    @Test
    void claimModelsAreReadFromTheMountedClaim() {
        ModelSource source = ModelSource.of("pvc://models/llama/q8/model.gguf");
        assertThat(source.model()).isEqualTo("/models/llama/q8/model.gguf");
        assertThat(source.cacheDir()).isEqualTo(ModelSource.PVC_MOUNT);
        assertThat(source.claimName()).contains("models");
    }

    @Test
    void imagePathsAreUsedAsTheyAre() {
        assertThat(ModelSource.of("/opt/models/m.gguf").model()).isEqualTo("/opt/models/m.gguf");
        assertThat(ModelSource.of("/opt/models/m.gguf").fromClaim()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"pvc://claim", "pvc://claim/", "pvc:///path", "s3://bucket/m.gguf", "relative/m.gguf", ""})
    void rejectsWhatTheSchemaWouldReject(String uri) {
        assertThatThrownBy(() -> ModelSource.of(uri)).isInstanceOf(IllegalArgumentException.class);
        assertThat(uri.matches(ModelSpec.URI_PATTERN)).as("the CRD pattern rejects %s too", uri).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf://o/r/f.gguf", "hf://o/r/sub/f.gguf", "pvc://my-claim/a/b.gguf", "/m.gguf"})
    void schemaPatternAcceptsTheThreeForms(String uri) {
        assertThat(uri).matches(ModelSpec.URI_PATTERN);
        assertThat(ModelSource.of(uri)).isNotNull();
    }
}
