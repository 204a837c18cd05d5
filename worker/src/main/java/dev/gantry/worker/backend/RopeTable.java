package dev.gantry.worker.backend;

/**
 * Rotary position embedding of one model: the first {@code rotaryDim} dimensions of each head
 * are rotated by angle {@code position * invFreq[i]} for pair {@code i}; the rest pass through.
 *
 * <p>{@code neox == false} (ggml's NORM mode, used by {@code llama} GGUFs, whose converter
 * permuted Q and K): pair {@code i} is dimensions {@code (2i, 2i+1)}. {@code neox == true}
 * ({@code qwen2}): pair {@code i} is dimensions {@code (i, i + rotaryDim/2)}.
 *
 * @param invFreq [rotaryDim / 2] angle per position of each pair, scaling (e.g. Llama 3.1) applied
 */
public record RopeTable(int rotaryDim, boolean neox, float[] invFreq) {}
