package dev.gantry.worker.backend.cuda;

/** No usable GPU here: the message says why (no driver, no device, no kernels in the jar). */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) {
        super(message);
    }
}
