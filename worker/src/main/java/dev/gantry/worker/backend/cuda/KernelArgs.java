package dev.gantry.worker.backend.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * The arguments of one kernel launch, in the kernel's parameter order, typed as its C signature
 * declares them: a pointer or {@code long long} is {@link #i64}, an {@code int} {@link #i32}, a
 * {@code float} {@link #f32}. A {@link Device} turns them into the argument array
 * {@code cuLaunchKernel} takes (one pointer to each argument's bytes).
 */
public final class KernelArgs {
    /** One argument: its size in bytes (4 or 8) and its bits. */
    public record Arg(int bytes, long bits) {}

    private final List<Arg> args = new ArrayList<>(16);

    public static KernelArgs of() {
        return new KernelArgs();
    }

    /** A device pointer (0 for {@code nullptr}). */
    public KernelArgs ptr(long address) {
        return i64(address);
    }

    public KernelArgs i64(long v) {
        args.add(new Arg(8, v));
        return this;
    }

    public KernelArgs i32(int v) {
        args.add(new Arg(4, v & 0xffffffffL));
        return this;
    }

    public KernelArgs f32(float v) {
        return i32(Float.floatToRawIntBits(v));
    }

    public List<Arg> args() {
        return args;
    }

    /** Equal when the arguments are, in order: a recorded step is replayed only for the same launches. */
    @Override
    public boolean equals(Object o) {
        return o instanceof KernelArgs other && args.equals(other.args);
    }

    @Override
    public int hashCode() {
        return args.hashCode();
    }
}
