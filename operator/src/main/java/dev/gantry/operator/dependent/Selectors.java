package dev.gantry.operator.dependent;

import dev.gantry.operator.desired.WorkerLabels;

/** Label selectors of the operator's informers. */
final class Selectors {
    /**
     * Only what this operator made: the informers then cache Gantry's objects, not every
     * Deployment, Service and Pod of the cluster.
     */
    static final String MANAGED = WorkerLabels.MANAGED_BY + "=" + WorkerLabels.OPERATOR;

    private Selectors() {
    }
}
