// Kernels that test the CPU emulation itself (EmulatorTest): barriers, warp shuffles, shared
// memory, and the errors a broken kernel must give. Built into the emulation library only.
#include "gantry.cuh"

// out[t] for every thread t of a block of 64: [0..63] lane ^ 1's id via xor shuffle, [64..127]
// down-shuffle by 3 (own id past the warp's end), [128..191] up-shuffle by 5 (own id below 0),
// [192..255] lane 7's id via indexed shuffle, [256..319] the block sum of all ids (2016).
extern "C" __global__ void selftest_shuffles(float* out) {
    __shared__ float scratch[32];
    int t = threadIdx.x;
    float id = static_cast<float>(t);
    out[t] = __shfl_xor_sync(0xffffffffu, id, 1);
    out[64 + t] = __shfl_down_sync(0xffffffffu, id, 3);
    out[128 + t] = __shfl_up_sync(0xffffffffu, id, 5);
    out[192 + t] = __shfl_sync(0xffffffffu, id, 7);
    out[256 + t] = gantry::block_sum(id, scratch);
}
GANTRY_EXPORT(selftest_shuffles);

// Reverses `in` (n <= blockDim.x) through shared memory: correct only with the barrier.
extern "C" __global__ void selftest_reverse(const float* in, float* out, int n) {
    GANTRY_DYNAMIC_SHARED(float, buf);
    int t = threadIdx.x;
    if (t < n) {
        buf[t] = in[t];
    }
    __syncthreads();
    if (t < n) {
        out[blockIdx.x * n + t] = buf[n - 1 - t] + static_cast<float>(blockIdx.x);
    }
}
GANTRY_EXPORT(selftest_reverse);

// Lane 0 waits at the block barrier while the rest of its warp waits for it in a shuffle: a hang
// on hardware, an error in the emulation.
extern "C" __global__ void selftest_deadlock(float* out) {
    if (threadIdx.x == 0) {
        __syncthreads();
    } else {
        out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
    }
}
GANTRY_EXPORT(selftest_deadlock);

// Threads that return before a barrier the others then pass (allowed: exited threads count as arrived).
extern "C" __global__ void selftest_early_exit(float* out) {
    if (threadIdx.x >= 40) {
        return;
    }
    __syncthreads();
    out[threadIdx.x] = 2.0f;
}
GANTRY_EXPORT(selftest_early_exit);

// The emulation's one-exchange warp reductions against the shuffle code they stand for, on the
// values in `in` (64 of them, two warps): out[t] = 1 where both give the same bits, else 0.
extern "C" __global__ void selftest_warp_reductions(const float* in, float* out, int n) {
    int t = threadIdx.x;
    float v = t < n ? in[t] : 0.0f;
    float s1 = gantry::warp_sum(v);
    float s2 = gantry::warp_sum_shuffles(v);
    float m1 = gantry::warp_max(v);
    float m2 = gantry::warp_max_shuffles(v);
    out[t] = __float_as_uint(s1) == __float_as_uint(s2) && __float_as_uint(m1) == __float_as_uint(m2) ? 1.0f : 0.0f;
}
GANTRY_EXPORT(selftest_warp_reductions);
