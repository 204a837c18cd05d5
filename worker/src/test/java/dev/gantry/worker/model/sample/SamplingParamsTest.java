package dev.gantry.worker.model.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SamplingParamsTest {

    @Test
    void defaultsAreOpenAis() {
        SamplingParams d = SamplingParams.defaults();
        assertThat(d.temperature()).isEqualTo(1.0);
        assertThat(d.topP()).isEqualTo(1.0);
        assertThat(d.topK()).isZero();
        assertThat(d.minP()).isZero();
        assertThat(d.repetitionPenalty()).isEqualTo(1.0);
        assertThat(d.presencePenalty()).isZero();
        assertThat(d.frequencyPenalty()).isZero();
        assertThat(d.seed()).isNull();
        assertThat(d.maxTokens()).isEqualTo(16);
        assertThat(d.minTokens()).isZero();
        assertThat(d.stop()).isEmpty();
        assertThat(d.stopTokenIds()).isEmpty();
        assertThat(d.ignoreEos()).isFalse();
        assertThat(d.logitBias()).isEmpty();
        assertThat(d.greedy()).isFalse();
        assertThatCode(d::validate).doesNotThrowAnyException();
    }

    @Test
    void withMethodsSetEveryFieldAndLeaveTheOriginalAlone() {
        SamplingParams p = SamplingParams.defaults()
                .withTemperature(0.7).withTopP(0.9).withTopK(40).withMinP(0.05).withRepetitionPenalty(1.1)
                .withPresencePenalty(0.5).withFrequencyPenalty(-0.5).withSeed(7).withMaxTokens(null).withMinTokens(3)
                .withStop("\n\n", "END").withStopTokenIds(List.of(2, 3)).withIgnoreEos(true)
                .withLogitBias(Map.of(5, -100f)).withSkipSpecialTokens(false);
        assertThat(p).isEqualTo(new SamplingParams(0.7, 0.9, 40, 0.05, 1.1, 0.5, -0.5, 7L, null, 3,
                List.of("\n\n", "END"), List.of(2, 3), true, Map.of(5, -100f), false));
        assertThat(SamplingParams.defaults().skipSpecialTokens()).isTrue();
        assertThat(p.withTemperature(0).greedy()).isTrue();
        assertThat(p.temperature()).isEqualTo(0.7);
        assertThat(SamplingParams.defaults().withSeed(null).seed()).isNull();
        assertThat(SamplingParams.defaults().withStop(List.of("x"))).isEqualTo(SamplingParams.defaults().withStop("x"));
        assertThatCode(p::validate).doesNotThrowAnyException();
    }

    @Test
    void collectionsAreCopiedAndNullBecomesEmpty() {
        List<String> stop = new ArrayList<>(List.of("a"));
        SamplingParams p = SamplingParams.defaults().withStop(stop).withStopTokenIds(null).withLogitBias(null);
        stop.add("b");
        assertThat(p.stop()).containsExactly("a");
        assertThat(p.stopTokenIds()).isEmpty();
        assertThat(p.logitBias()).isEmpty();
        assertThatThrownBy(() -> p.stop().add("c")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void boundaryValuesAreAccepted() {
        for (SamplingParams p : List.of(
                b().withTemperature(0), b().withTemperature(2), b().withTopP(1e-9),
                b().withTopK(-1), b().withTopK(1), b().withMinP(1),
                b().withRepetitionPenalty(2), b().withPresencePenalty(-2).withFrequencyPenalty(2),
                b().withMaxTokens(1).withMinTokens(1), b().withMaxTokens(null).withMinTokens(1000),
                b().withLogitBias(Map.of(0, 100f, 1, -100f)))) {
            assertThatCode(p::validate).as("%s", p).doesNotThrowAnyException();
        }
    }

    @Test
    void outOfRangeNumbersNameTheFieldAndTheRange() {
        expectInvalid(b().withTemperature(2.5), "temperature", "[0, 2]", "2.5");
        expectInvalid(b().withTemperature(-0.1), "temperature", "[0, 2]");
        expectInvalid(b().withTemperature(Double.NaN), "temperature", "[0, 2]");
        expectInvalid(b().withTopP(0), "top_p", "(0, 1]");
        expectInvalid(b().withTopP(1.01), "top_p", "(0, 1]");
        expectInvalid(b().withTopK(-2), "top_k", "-1", "-2");
        expectInvalid(b().withMinP(-0.01), "min_p", "[0, 1]");
        expectInvalid(b().withMinP(1.5), "min_p", "[0, 1]");
        expectInvalid(b().withRepetitionPenalty(0), "repetition_penalty", "(0, 2]");
        expectInvalid(b().withRepetitionPenalty(2.5), "repetition_penalty", "(0, 2]");
        expectInvalid(b().withPresencePenalty(2.1), "presence_penalty", "[-2, 2]");
        expectInvalid(b().withFrequencyPenalty(-2.1), "frequency_penalty", "[-2, 2]");
        expectInvalid(b().withMaxTokens(-1), "max_tokens", "at least 0");
        expectInvalid(b().withMinTokens(-1), "min_tokens", "at least 0");
        expectInvalid(b().withMaxTokens(4).withMinTokens(5), "min_tokens", "at most max_tokens");
    }

    @Test
    void badStopStringsAreRejected() {
        expectInvalid(b().withStop(""), "stop", "empty");
        expectInvalid(b().withStop(Arrays.asList("a", null)), "stop", "index 1");
        expectInvalid(b().withStop("x".repeat(SamplingParams.MAX_STOP_STRING_LENGTH + 1)), "stop", "at most 256");
        expectInvalid(b().withStop(Collections.nCopies(SamplingParams.MAX_STOP_STRINGS + 1, "s")), "stop",
                "at most 16");
    }

    @Test
    void badTokenIdsAndBiasesAreRejected() {
        expectInvalid(b().withStopTokenIds(List.of(1, -1)), "stop_token_ids", "-1");
        expectInvalid(b().withStopTokenIds(Arrays.asList(1, null)), "stop_token_ids", "index 1");
        expectInvalid(b().withLogitBias(Map.of(-3, 1f)), "logit_bias", "-3");
        expectInvalid(b().withLogitBias(Map.of(3, 101f)), "logit_bias", "[-100, 100]");
        expectInvalid(b().withLogitBias(Map.of(3, Float.NaN)), "logit_bias", "[-100, 100]");
        Map<Integer, Float> withNull = new HashMap<>();
        withNull.put(3, null);
        expectInvalid(b().withLogitBias(withNull), "logit_bias", "[-100, 100]");
    }

    @Test
    void validateWithVocabularyChecksTokenIds() {
        SamplingParams stopIds = b().withStopTokenIds(List.of(5, 10));
        assertThatCode(() -> stopIds.validate(11)).doesNotThrowAnyException();
        assertThatThrownBy(() -> stopIds.validate(10))
                .isInstanceOf(InvalidSamplingParamsException.class)
                .hasMessageContaining("stop_token_ids").hasMessageContaining("[0, 10)");
        SamplingParams bias = b().withLogitBias(Map.of(10, 1f));
        assertThatThrownBy(() -> bias.validate(10))
                .isInstanceOf(InvalidSamplingParamsException.class)
                .hasMessageContaining("logit_bias").hasMessageContaining("10");
    }

    private static SamplingParams b() {
        return SamplingParams.defaults();
    }

    private static void expectInvalid(SamplingParams p, String param, String... fragments) {
        assertThatThrownBy(p::validate)
                .isInstanceOf(IllegalArgumentException.class)
                .isInstanceOfSatisfying(InvalidSamplingParamsException.class, e -> {
                    assertThat(e.param()).isEqualTo(param);
                    assertThat(e.getMessage()).startsWith(param + " ").contains(fragments);
                });
    }
}
