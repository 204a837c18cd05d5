package dev.gantry.worker.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.BackendContractTest;

/**
 * The backend contract on a real GPU (device 0): the kernels as nvcc built them, through the
 * driver. Skipped, saying why, where there is no CUDA driver or GPU (CI, laptops); run on a lent
 * GPU machine by {@code scripts/gpu-check.sh}.
 */
class CudaBackendDeviceIT extends BackendContractTest {
    @Override
    protected Backend createBackend() {
        try {
            return new CudaBackend(DriverDevice.open(0));
        } catch (CudaUnavailableException e) {
            assumeTrue(false, "skipped, needs a GPU: " + e.getMessage());
            throw e;
        }
    }
}
