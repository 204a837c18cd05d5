package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Turning token lengths into words from two probes, and deciding which requests meet an SLO. */
class CalibrationAndSloTest {

    @Test
    void aLineThroughTheTwoProbesGivesTokensPerWordAndTheFixedPart() {
        // 1.25 tokens a word and 3 per request: the probes of 16 and 256 words made 23 and 323 tokens.
        Calibration c = Calibration.fit(23, 323);
        assertThat(c.fromServer()).isTrue();
        assertThat(c.tokensPerWord()).isEqualTo(1.25);
        assertThat(c.fixedTokens()).isEqualTo(3);
        assertThat(c.promptWords(128)).isEqualTo(100);
        assertThat(c.partWords(500)).isEqualTo(400);
        assertThat(c.promptWords(2)).as("never below one word").isEqualTo(1);
    }

    @Test
    void withoutUsageLengthsStayInWords() {
        Calibration c = Calibration.fit(-1, -1);
        assertThat(c.fromServer()).isFalse();
        assertThat(c.promptWords(128)).isEqualTo(128);
        assertThat(c.describe()).contains("no prompt tokens");
    }

    @Test
    void aRequestMeetsTheSloOnlyWhenItSucceededWithinEveryLimit() {
        Slo slo = Slo.parse("ttft=100ms, tpot=10ms");
        assertThat(slo.met(ok(90, 9))).isTrue();
        assertThat(slo.met(ok(110, 9))).isFalse();
        assertThat(slo.met(ok(90, 11))).isFalse();
        assertThat(slo.met(RequestResult.failed(RequestError.of(ErrorKind.IO, "x"), 1, new long[0], 2))).isFalse();
        assertThat(Slo.parse("e2e=2s").met(ok(90, 1000))).as("e2e 90 + 10 x 1000 ms").isFalse();
        assertThat(slo.describe()).isEqualTo("tpot<=10ms ttft<=100ms");
    }

    @Test
    void badSlosAreRejected() {
        assertThatThrownBy(() -> Slo.parse("ttft")).hasMessageContaining("metric=duration pairs");
        assertThatThrownBy(() -> Slo.parse("ttft=1s,ttft=2s")).hasMessageContaining("twice");
        assertThatThrownBy(() -> Slo.parse("ttft=soon")).hasMessageContaining("not a duration");
    }

    /** 11 tokens: TTFT, then 10 more at {@code tpotMs} each. */
    private static RequestResult ok(long ttftMs, long tpotMs) {
        long ttft = ttftMs * 1_000_000;
        return RequestResult.succeeded(ttft, new long[0], ttft + 10 * tpotMs * 1_000_000, 5, 11, true);
    }
}
