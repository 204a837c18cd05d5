package dev.gantry.worker.backend.cpu;

import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.BackendContractTest;

/**
 * The CPU backend computing quantized products as llama.cpp does ({@link ActivationPrecision#Q8})
 * against the reference doing the same, on three threads as in {@link VectorBackendTest}.
 */
class VectorBackendQ8Test extends BackendContractTest {
    @Override
    protected Backend createBackend() {
        return new VectorBackend(3, ActivationPrecision.Q8, null); // the Vector API's products, as with GANTRY_NATIVE=off
    }
}
