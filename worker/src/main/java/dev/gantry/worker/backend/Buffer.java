package dev.gantry.worker.backend;

/**
 * Activation memory owned by a backend (host arrays for the CPU backends, device memory for
 * CUDA). The forward pass only passes buffers between backend calls; values cross to the host
 * through {@link Backend#download}. Sizes are in floats.
 */
public interface Buffer {
    /** Capacity in floats. */
    long size();
}
