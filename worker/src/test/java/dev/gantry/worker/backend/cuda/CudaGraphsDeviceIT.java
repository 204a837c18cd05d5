package dev.gantry.worker.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gantry.worker.model.Model;
import dev.gantry.worker.testing.TestModels;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaGraphsTest}'s decode steps on a real GPU: the driver's graphs (kernel nodes made by
 * {@link DriverDevice#createGraph}, launched on the default stream between the staging copies)
 * give the logits of the same kernels launched one by one, bit for bit. Skipped, saying why,
 * without a GPU.
 */
class CudaGraphsDeviceIT {

    private static DriverDevice gpu() {
        try {
            return DriverDevice.open(0);
        } catch (CudaUnavailableException e) {
            assumeTrue(false, "skipped, needs a GPU: " + e.getMessage());
            throw e;
        }
    }

    @Test
    void replayedDecodeStepsGiveTheEagerLogitsBitForBitOnTheGpu() {
        try (Model model = Model.load(TestModels.stories260K())) {
            CudaGraphsTest.Run eager = CudaGraphsTest.decode(model, gpu(), false);
            CudaGraphsTest.Run graphs = CudaGraphsTest.decode(model, gpu(), true);
            CudaGraphsTest.assertReplayedLikeEager(eager, graphs);
        }
    }
}
