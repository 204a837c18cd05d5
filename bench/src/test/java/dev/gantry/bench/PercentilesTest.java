package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The expected values are numpy's: {@code numpy.percentile(sample, p)} with its default linear method. */
class PercentilesTest {

    private static final double EPS = 1e-9;

    @Test
    void interpolatesLinearlyBetweenTheNearestRanks() {
        Percentiles p = Percentiles.of(4, 1, 3, 2);
        assertThat(p.percentile(0)).isEqualTo(1);
        assertThat(p.percentile(25)).isCloseTo(1.75, within(EPS));
        assertThat(p.percentile(50)).isCloseTo(2.5, within(EPS));
        assertThat(p.percentile(90)).isCloseTo(3.7, within(EPS));
        assertThat(p.percentile(100)).isEqualTo(4);
    }

    @Test
    void matchesNumpyOnAnUnevenSample() {
        Percentiles p = Percentiles.of(15, 20, 35, 40, 50);
        assertThat(p.percentile(40)).isCloseTo(29, within(EPS));
        assertThat(p.percentile(50)).isCloseTo(35, within(EPS));
        assertThat(p.percentile(99)).isCloseTo(49.6, within(EPS));
    }

    @Test
    void p99OfOneToHundredIsNotTheNearestRank() {
        // Nearest-rank would give 99; numpy (and vLLM's report) give 99.01.
        Percentiles p = Percentiles.of(IntStream.rangeClosed(1, 100).asDoubleStream().toArray());
        assertThat(p.percentile(99)).isCloseTo(99.01, within(EPS));
        assertThat(p.percentile(50)).isCloseTo(50.5, within(EPS));
    }

    @Test
    void aSingleValueIsEveryPercentile() {
        Percentiles p = Percentiles.of(7);
        assertThat(p.percentile(0)).isEqualTo(7);
        assertThat(p.percentile(99)).isEqualTo(7);
        assertThat(p.mean()).isEqualTo(7);
        assertThat(p.stdDev()).isZero();
    }

    @Test
    void meanAndPopulationStandardDeviation() {
        Percentiles p = Percentiles.of(2, 4, 4, 4, 5, 5, 7, 9);
        assertThat(p.mean()).isCloseTo(5, within(EPS));
        assertThat(p.stdDev()).isCloseTo(2, within(EPS));
        assertThat(p.min()).isEqualTo(2);
        assertThat(p.max()).isEqualTo(9);
    }

    @Test
    void anEmptySampleHasNoValuesRatherThanZeros() {
        Percentiles p = Percentiles.of();
        assertThat(p.isEmpty()).isTrue();
        assertThat(p.percentile(50)).isNaN();
        assertThat(p.mean()).isNaN();
        assertThat(p.max()).isNaN();
    }

    @Test
    void leavesTheCallersArrayUnsorted() {
        double[] sample = {3, 1, 2};
        Percentiles.of(sample);
        assertThat(sample).containsExactly(3, 1, 2);
    }

    @Test
    void rejectsPercentilesOutsideZeroToHundredAndNaNValues() {
        Percentiles p = Percentiles.of(1, 2);
        assertThatThrownBy(() -> p.percentile(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> p.percentile(100.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> p.percentile(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Percentiles.of(1, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }
}
