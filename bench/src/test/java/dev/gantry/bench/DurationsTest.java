package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

    @Test
    void readsEveryUnitAndBareSeconds() {
        assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(Durations.parse("60s")).isEqualTo(Duration.ofSeconds(60));
        assertThat(Durations.parse("1.5m")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Durations.parse("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(Durations.parse("30")).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void writesWhatItReads() {
        for (String text : new String[] {"250ms", "90s", "2m", "1h", "1500ms"}) {
            assertThat(Durations.format(Durations.parse(text))).isEqualTo(text);
        }
    }

    @Test
    void rejectsWhatIsNotADuration() {
        assertThatThrownBy(() -> Durations.parse("soon")).hasMessageContaining("not a duration: 'soon'");
        assertThatThrownBy(() -> Durations.parse("-5s")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Durations.parse("0s")).hasMessageContaining("at least 1ms");
    }
}
