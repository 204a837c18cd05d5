package dev.gantry.worker.backend.cpu;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.BackendContractTest;

/**
 * The CPU backend against the reference, on three threads: more than this machine may have cores,
 * and an odd count, so chunks split unevenly and workers really interleave.
 */
class VectorBackendTest extends BackendContractTest {
    @Override
    protected Backend createBackend() {
        return new VectorBackend(3);
    }
}
