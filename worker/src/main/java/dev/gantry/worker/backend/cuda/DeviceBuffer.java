package dev.gantry.worker.backend.cuda;

import dev.gantry.worker.backend.Buffer;

/** Activations in device memory: {@code size} floats at {@code address}. */
record DeviceBuffer(long address, long size) implements Buffer {

    static long of(Buffer b) {
        if (b instanceof DeviceBuffer d) {
            return d.address;
        }
        throw new IllegalArgumentException("not a CUDA buffer: " + b.getClass().getSimpleName());
    }
}
