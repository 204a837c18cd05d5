package dev.gantry.worker.backend.cuda;

/** A device call failed: the message names the call and the error. */
public final class DeviceException extends RuntimeException {
    public DeviceException(String message) {
        super(message);
    }
}
