package dev.gantry.worker.backend.cpu;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.BackendContractTest;

/**
 * The CPU backend with its Q8_0 and Q4_0 products in the native int8 kernels ({@link NativeCpu},
 * the best variant this CPU runs), against the reference doing llama.cpp's 8-bit products: the
 * same contract and tolerances as {@link VectorBackendQ8Test}.
 */
class VectorBackendNativeQ8Test extends BackendContractTest {
    @Override
    protected Backend createBackend() {
        NativeCpu cpu = NativeCpu.library().orElse(null);
        assumeTrue(cpu != null, "the native CPU kernels are not built for this machine");
        return new VectorBackend(3, ActivationPrecision.Q8, cpu);
    }
}
