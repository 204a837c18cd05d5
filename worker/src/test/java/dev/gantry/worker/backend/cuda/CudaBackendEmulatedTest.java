package dev.gantry.worker.backend.cuda;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.BackendContractTest;

/**
 * The CUDA backend's host side and every kernel it launches, the kernels compiled for the CPU
 * ({@link EmulatedDevice}), against the reference backend: the whole backend contract.
 */
class CudaBackendEmulatedTest extends BackendContractTest {
    @Override
    protected Backend createBackend() {
        return new CudaBackend(EmulatedKernels.open());
    }
}
