// Greedy decoding on the device: the argmax of each logits row as model/sample/Sampler takes it
// (the first of the largest values above -infinity; NaN is never above anything; -1 when no value
// is), so that a greedy step sends token ids to the host, not rows of 150k logits.
#include "gantry.cuh"

namespace {
constexpr int kNone = 0x7fffffff; // no candidate yet

// Keeps the better of two candidates: a candidate beats none, a larger value wins, a tie goes to
// the lower id.
__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
    if (oi != kNone && (i == kNone || ov > v || (ov == v && oi < i))) {
        v = ov;
        i = oi;
    }
}
}

// grid: rows; block: 256 threads. logits: [rows][vocab]; out: [rows], -1 for a row with no value
// above -infinity.
extern "C" __global__ void argmax_rows(const float* __restrict__ logits, int* __restrict__ out, int vocab) {
    __shared__ float values[32];
    __shared__ int ids[32];
    const float* row = logits + static_cast<long long>(blockIdx.x) * vocab;
    float v = -INFINITY;
    int id = kNone;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float x = row[i];
        if (x > -INFINITY) { // false for NaN
            better(v, id, x, i);
        }
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
        better(v, id, __shfl_xor_sync(0xffffffffu, v, offset), __shfl_xor_sync(0xffffffffu, id, offset));
    }
    int lane = threadIdx.x % 32;
    int warp = threadIdx.x / 32;
    if (lane == 0) {
        values[warp] = v;
        ids[warp] = id;
    }
    __syncthreads();
    if (warp == 0) {
        int warps = blockDim.x / 32;
        v = lane < warps ? values[lane] : -INFINITY;
        id = lane < warps ? ids[lane] : kNone;
        for (int offset = 16; offset > 0; offset >>= 1) {
            better(v, id, __shfl_xor_sync(0xffffffffu, v, offset), __shfl_xor_sync(0xffffffffu, id, offset));
        }
        if (lane == 0) {
            out[blockIdx.x] = id == kNone ? -1 : id;
        }
    }
}
GANTRY_EXPORT(argmax_rows);
