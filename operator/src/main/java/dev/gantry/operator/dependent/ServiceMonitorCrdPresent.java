package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.monitoring.ServiceMonitor;
import io.javaoperatorsdk.operator.processing.dependent.workflow.CRDPresentActivationCondition;
import java.time.LocalDateTime;

/**
 * Activation condition of the ServiceMonitor: its CRD exists. JOSDK's condition gives up after ten
 * look-ups (10s apart, one per reconcile at most), so a Prometheus Operator installed after the
 * workers had a few minutes of pod events was never noticed until the operator restarted. This one
 * keeps looking, still at most every {@link #DEFAULT_CRD_CHECK_INTERVAL}: one GET of a CRD, cheap.
 * The reconciler's maximum reconciliation interval bounds how long an idle LLMDeployment waits.
 */
public class ServiceMonitorCrdPresent extends CRDPresentActivationCondition<ServiceMonitor, LLMDeployment> {

    @Override
    protected boolean shouldCheckStateNow(CRDCheckState state) {
        return isDue(state, LocalDateTime.now());
    }

    static boolean isDue(CRDCheckState state, LocalDateTime now) {
        if (state.isCrdPresent() == null || state.getLastChecked() == null) {
            return true;
        }
        // Present stays present: uninstalling the Prometheus Operator's CRDs is not a case to serve.
        return !state.isCrdPresent() && now.isAfter(state.getLastChecked().plus(DEFAULT_CRD_CHECK_INTERVAL));
    }
}
