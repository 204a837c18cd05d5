package dev.gantry.worker.backend;

/** A buffer in a Java float array, used by the CPU backends. */
public record HostBuffer(float[] data) implements Buffer {

    public HostBuffer(long floats) {
        this(new float[Math.toIntExact(floats)]);
    }

    @Override
    public long size() {
        return data.length;
    }

    public static float[] of(Buffer b) {
        return ((HostBuffer) b).data;
    }
}
