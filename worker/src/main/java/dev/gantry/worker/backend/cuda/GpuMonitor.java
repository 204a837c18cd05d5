package dev.gantry.worker.backend.cuda;

/** Reads the state of this machine's GPUs (NVML on a real one: {@link Nvml}). */
public interface GpuMonitor {

    /** GPUs visible to this process. */
    int count();

    /** The state of GPU {@code index} now. */
    GpuSample sample(int index);

    /**
     * One reading of one GPU.
     *
     * @param utilizationPercent share of the last sample period in which a kernel ran, 0..100
     * @param powerWatts         board power draw
     */
    record GpuSample(String uuid, String name, int utilizationPercent, long memoryUsedBytes, long memoryTotalBytes,
            double powerWatts) {}
}
