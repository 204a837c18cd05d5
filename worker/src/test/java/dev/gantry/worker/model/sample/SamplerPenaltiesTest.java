package dev.gantry.worker.model.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The logit adjustments before the distribution, checked to the bit on small arrays. */
class SamplerPenaltiesTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfPromptAndOutputTokens() {
        // Prompt has 1 and 3, output has 3 and 4; 0, 2 and 5 were never seen.
        TokenHistory h = TokenHistory.of(new int[] {1, 3, 1}, new int[] {3, 4});
        float[] logits = {2, 2, 2, -2, 0.5f, -1};
        adjust(SamplingParams.defaults().withRepetitionPenalty(2), logits, h);
        assertThat(logits).containsExactly(2, 1, 2, -4, 0.25f, -1);
        // A penalty below 1 rewards repetition the same way round.
        float[] rewarded = {2, 2, 2, -2, 0, -1};
        adjust(SamplingParams.defaults().withRepetitionPenalty(0.5), rewarded, h);
        assertThat(rewarded).containsExactly(2, 4, 2, -1, 0, -1);
    }

    @Test
    void frequencyAndPresencePenaltiesCountGeneratedTokensOnly() {
        // 2 was generated three times, 5 once; 1 is only in the prompt.
        TokenHistory h = TokenHistory.of(new int[] {1, 1}, new int[] {2, 5, 2, 2});
        float[] logits = {1, 1, 1, 1, 1, 1};
        adjust(SamplingParams.defaults().withFrequencyPenalty(0.5).withPresencePenalty(0.25), logits, h);
        assertThat(logits).containsExactly(1, 1, 1 - 1.5f - 0.25f, 1, 1, 1 - 0.5f - 0.25f);

        float[] presenceOnly = {0, 0, 0, 0, 0, 0};
        adjust(SamplingParams.defaults().withPresencePenalty(-1), presenceOnly, h);
        assertThat(presenceOnly).containsExactly(0, 0, 1, 0, 0, 1);

        float[] frequencyOnly = {0, 0, 0, 0, 0, 0};
        adjust(SamplingParams.defaults().withFrequencyPenalty(2), frequencyOnly, h);
        assertThat(frequencyOnly).containsExactly(0, 0, -6, 0, 0, -2);
    }

    @Test
    void biasFirstThenRepetitionThenFrequencyThenPresence() {
        TokenHistory h = TokenHistory.of(new int[] {0}, new int[] {1, 1});
        float[] logits = {1, 3, 0};
        adjust(SamplingParams.defaults().withLogitBias(Map.of(0, 1f, 1, 1f, 2, -0.5f)).withRepetitionPenalty(2)
                .withFrequencyPenalty(0.5).withPresencePenalty(0.25), logits, h);
        // 0: (1 + 1) / 2; 1: (3 + 1) / 2 - 2 * 0.5 - 0.25; 2: only the bias.
        assertThat(logits).containsExactly(1, 0.75f, -0.5f);
    }

    @Test
    void noPenaltiesLeaveLogitsUntouched() {
        TokenHistory h = TokenHistory.of(new int[] {0, 1}, new int[] {2, 2});
        float[] logits = {0.1f, -0.2f, 0.3f};
        adjust(SamplingParams.defaults(), logits, h);
        assertThat(logits).containsExactly(0.1f, -0.2f, 0.3f);
    }

    @Test
    void historyIdsBeyondTheVocabularyAreIgnored() {
        TokenHistory h = TokenHistory.of(new int[] {7}, new int[] {9, 1});
        float[] logits = {1, 1, 1, 1};
        adjust(SamplingParams.defaults().withRepetitionPenalty(2).withPresencePenalty(1), logits, h);
        assertThat(logits).containsExactly(1, -0.5f, 1, 1);
    }

    @Test
    void logitBiasCanForceOrBanATokenAndMustFitTheVocabulary() {
        Sampler forced = new Sampler(SamplingParams.defaults().withSeed(1).withLogitBias(Map.of(3, 100f)));
        Sampler banned = new Sampler(SamplingParams.defaults().withTemperature(0).withLogitBias(Map.of(0, -100f)));
        for (int i = 0; i < 100; i++) {
            assertThat(forced.sample(new float[] {5, 5, 5, 0}, 4, new TokenHistory())).isEqualTo(3);
        }
        assertThat(banned.sample(new float[] {50, 0, 1}, 3, new TokenHistory())).isEqualTo(2);
        assertThatThrownBy(() -> forced.sample(new float[] {0, 0, 0}, 3, new TokenHistory()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("logit_bias");
    }

    @Test
    void minTokensMasksEosAndStopTokenIdsUntilEnoughWereGenerated() {
        SamplingParams p = SamplingParams.defaults().withTemperature(0).withMinTokens(2).withStopTokenIds(List.of(3));
        Sampler s = new Sampler(p, new int[] {0, 99});
        TokenHistory h = new TokenHistory(new int[] {5, 6});
        float[] logits = {9, 1, 2, 8};
        s.adjustLogits(logits, 0, 4, h);
        assertThat(logits).containsExactly(NEG_INF, 1, 2, NEG_INF);
        assertThat(s.sample(new float[] {9, 1, 2, 8}, 4, h)).isEqualTo(2);
        h.add(2);
        assertThat(s.sample(new float[] {9, 1, 2, 8}, 4, h)).isEqualTo(2);
        h.add(2);
        assertThat(s.sample(new float[] {9, 1, 2, 8}, 4, h)).isEqualTo(0);
        // ignore_eos does not lift the mask: min_tokens still means "not before".
        Sampler ignoring = new Sampler(p.withIgnoreEos(true), new int[] {0});
        assertThat(ignoring.sample(new float[] {9, 1, 2, 8}, 4, new TokenHistory())).isEqualTo(2);
    }

    @Test
    void penaltiesShiftTheSampledToken() {
        // Without penalties 0 wins greedily; generating it twice with frequency 2 costs 4 > 3.
        Sampler s = new Sampler(SamplingParams.defaults().withTemperature(0).withFrequencyPenalty(2));
        TokenHistory h = TokenHistory.of(new int[0], new int[] {0, 0});
        assertThat(s.sample(new float[] {3, 0, 0}, 3, h)).isEqualTo(1);
    }

    private static void adjust(SamplingParams p, float[] logits, TokenHistory h) {
        new Sampler(p).adjustLogits(logits, 0, logits.length, h);
    }
}
