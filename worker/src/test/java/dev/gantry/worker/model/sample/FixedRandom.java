package dev.gantry.worker.model.sample;

import java.util.random.RandomGenerator;

/**
 * A "random" generator whose next {@link #nextDouble()} the test chooses, so that which token a
 * draw lands on can be asserted exactly.
 */
final class FixedRandom implements RandomGenerator {
    double next;
    int draws;

    FixedRandom(double next) {
        this.next = next;
    }

    @Override
    public double nextDouble() {
        draws++;
        return next;
    }

    @Override
    public long nextLong() {
        throw new UnsupportedOperationException("the sampler draws doubles only");
    }
}
