package dev.gantry.operator.dependent;

import static org.assertj.core.api.Assertions.assertThat;

import io.javaoperatorsdk.operator.processing.dependent.workflow.CRDPresentActivationCondition.CRDCheckState;
import java.time.LocalDateTime;
import org.junit.jupiter.api.Test;

/** When the operator looks for the ServiceMonitor CRD again (ServiceMonitorIT covers the look-up itself). */
class ServiceMonitorCrdPresentTest {

    @Test
    void looksFirstThenEveryTenSecondsWithoutGivingUp() {
        CRDCheckState state = new CRDCheckState();
        assertThat(ServiceMonitorCrdPresent.isDue(state, LocalDateTime.now())).isTrue();
        // JOSDK's own condition stops after ten look-ups; a CRD installed later must still be seen.
        for (int i = 0; i < 25; i++) {
            state.checkedNow(false);
        }
        LocalDateTime last = state.getLastChecked();
        assertThat(ServiceMonitorCrdPresent.isDue(state, last.plusSeconds(5))).isFalse();
        assertThat(ServiceMonitorCrdPresent.isDue(state, last.plusSeconds(11))).isTrue();
    }

    @Test
    void oncePresentNeverLooksAgain() {
        CRDCheckState state = new CRDCheckState();
        state.checkedNow(true);
        assertThat(ServiceMonitorCrdPresent.isDue(state, state.getLastChecked().plusHours(1))).isFalse();
    }
}
