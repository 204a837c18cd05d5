package dev.gantry.worker.backend;

/**
 * The cos and sin of every (row, pair) rotation angle of one batch, computed in double precision
 * (a float angle {@code position * invFreq} loses digits at long positions) and rounded to float:
 * the one table every backend rotates with, so the CPU and the GPU rotate alike.
 *
 * @param cos [rows][rotaryDim / 2]
 * @param sin [rows][rotaryDim / 2]
 */
public record RopeAngles(float[] cos, float[] sin) {

    /** The angles of rows {@code from..to-1} of a batch at {@code positions}, written into {@code into}. */
    public static void fill(RopeTable rope, int[] positions, int from, int to, RopeAngles into) {
        int half = rope.rotaryDim() / 2;
        float[] invFreq = rope.invFreq();
        for (int r = from; r < to; r++) {
            for (int i = 0; i < half; i++) {
                double angle = (double) positions[r] * invFreq[i];
                into.cos[r * half + i] = (float) Math.cos(angle);
                into.sin[r * half + i] = (float) Math.sin(angle);
            }
        }
    }

    /** The angles of {@code rows} rows at {@code positions}. */
    public static RopeAngles of(RopeTable rope, int[] positions, int rows) {
        int half = rope.rotaryDim() / 2;
        RopeAngles a = new RopeAngles(new float[rows * half], new float[rows * half]);
        fill(rope, positions, 0, rows, a);
        return a;
    }
}
