// Sampling on the device, so that a step sends token ids to the host, not rows of logits. Per row:
// greedy (the argmax, as argmax.cu), or temperature, then top-k, then top-p on what top-k kept,
// then min-p, then a draw with the row's uniform number u (from the sequence's own seeded
// generator on the host) over the kept tokens in id order: the token whose cumulative weight
// first exceeds u times the kept mass. Thresholds are exact: top-k keeps every weight >= the k-th
// largest, top-p every weight >= the largest threshold whose mass still reaches topP of the total
// (both found by bisection on the float's bits), min-p every weight >= minP (the top weight is 1).
// model/sample/Sampler keeps the same sets but for ties at a threshold (it keeps exactly k, or
// stops inside a tie), and draws top-k and top-p candidates in weight order: the same
// distribution, not always the same token for the same u.
#include "gantry.cuh"

namespace {
constexpr int kThreads = 256;

__device__ double block_sum_double(double v, double* scratch) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    int lane = threadIdx.x % 32;
    int warp = threadIdx.x / 32;
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    double total = 0.0;
    for (int w = 0; w < kThreads / 32; w++) {
        total += scratch[w];
    }
    __syncthreads();
    return total;
}

// Mass (or count, when `count`) of the weights >= the float whose bits are `bits`.
__device__ double at_least(const float* w, int vocab, unsigned int bits, bool count, double* scratch) {
    float t = __uint_as_float(bits);
    double s = 0.0;
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
        if (w[i] >= t && w[i] > 0.0f) {
            s += count ? 1.0 : static_cast<double>(w[i]);
        }
    }
    return block_sum_double(s, scratch);
}

// The largest threshold (as float bits in [0, bits(1)]) whose kept mass or count is >= target.
__device__ unsigned int largest_threshold(const float* w, int vocab, double target, bool count, double* scratch) {
    unsigned int lo = 0;              // at_least(lo) >= target always (everything with weight)
    unsigned int hi = 0x3f800000u + 1; // above 1: nothing
    while (hi - lo > 1) {
        unsigned int mid = lo + (hi - lo) / 2;
        if (at_least(w, vocab, mid, count, scratch) >= target) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

__device__ void drop_below(float* w, int vocab, float t) {
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
        if (w[i] < t) {
            w[i] = 0.0f;
        }
    }
    __syncthreads();
}
}

// grid: rows; block: 256 threads. logits: [rows][vocab], overwritten with the weights; greedy,
// topK: [rows] ints (topK 0: off); invTemperature, topP (1: off), minP (0: off): [rows] floats;
// uniform: [rows] doubles in [0, 1); out: [rows] token ids, -1 for a row with no finite logit.
extern "C" __global__ void __launch_bounds__(256)
    sample_rows(float* logits, const int* __restrict__ greedy, const float* __restrict__ invTemperature,
                const int* __restrict__ topK, const float* __restrict__ topP, const float* __restrict__ minP,
                const double* __restrict__ uniform, int* __restrict__ out, int vocab) {
    __shared__ double scratch[kThreads / 32];
    __shared__ float maxes[kThreads / 32];
    __shared__ int firsts[kThreads / 32];
    __shared__ double chunkMass[kThreads];
    int r = blockIdx.x;
    float* w = logits + static_cast<long long>(r) * vocab;
    int lane = threadIdx.x % 32;
    int warp = threadIdx.x / 32;

    // The largest logit (+inf counts as the largest float) and, for greedy, its first id.
    float m = -INFINITY;
    int first = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
        float x = fminf(w[i], 3.4028234663852886e38f); // fminf(NaN, y) is y: NaN is masked below
        if (w[i] > -INFINITY && (x > m || (x == m && i < first))) {
            m = x;
            first = i;
        }
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
        float om = __shfl_xor_sync(0xffffffffu, m, offset);
        int of = __shfl_xor_sync(0xffffffffu, first, offset);
        if (of != 0x7fffffff && (first == 0x7fffffff || om > m || (om == m && of < first))) {
            m = om;
            first = of;
        }
    }
    if (lane == 0) {
        maxes[warp] = m;
        firsts[warp] = first;
    }
    __syncthreads();
    m = -INFINITY;
    first = 0x7fffffff;
    for (int k = 0; k < kThreads / 32; k++) {
        if (firsts[k] != 0x7fffffff && (first == 0x7fffffff || maxes[k] > m || (maxes[k] == m && firsts[k] < first))) {
            m = maxes[k];
            first = firsts[k];
        }
    }
    if (first == 0x7fffffff || greedy[r]) {
        if (threadIdx.x == 0) {
            out[r] = first == 0x7fffffff ? -1 : first;
        }
        return; // the whole block alike
    }

    float invT = invTemperature[r];
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
        float x = w[i];
        w[i] = x > -INFINITY ? expf((fminf(x, 3.4028234663852886e38f) - m) * invT) : 0.0f;
    }
    __syncthreads();
    if (topK[r] > 0 && topK[r] < vocab) {
        drop_below(w, vocab, __uint_as_float(largest_threshold(w, vocab, static_cast<double>(topK[r]), true, scratch)));
    }
    if (topP[r] < 1.0f) {
        double total = at_least(w, vocab, 0u, false, scratch);
        drop_below(w, vocab,
                   __uint_as_float(largest_threshold(w, vocab, static_cast<double>(topP[r]) * total, false, scratch)));
    }
    if (minP[r] > 0.0f) {
        drop_below(w, vocab, minP[r]);
    }

    // The draw: each thread sums its own run of ids, thread 0 finds the run and the id in it.
    int chunk = (vocab + kThreads - 1) / kThreads;
    int begin = threadIdx.x * chunk;
    int end = begin + chunk < vocab ? begin + chunk : vocab;
    double s = 0.0;
    for (int i = begin; i < end; i++) {
        s += w[i] > 0.0f ? static_cast<double>(w[i]) : 0.0;
    }
    chunkMass[threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        double mass = 0.0;
        for (int t = 0; t < kThreads; t++) {
            mass += chunkMass[t];
        }
        double target = uniform[r] * mass;
        double cum = 0.0;
        int chosen = first; // the top token always survives: the fallback when rounding leaves u above the last
        for (int t = 0; t < kThreads; t++) {
            if (cum + chunkMass[t] > target && chunkMass[t] > 0.0) {
                int b = t * chunk;
                int e = b + chunk < vocab ? b + chunk : vocab;
                for (int i = b; i < e; i++) {
                    if (w[i] > 0.0f) {
                        cum += static_cast<double>(w[i]);
                        chosen = i;
                        if (cum > target) {
                            break;
                        }
                    }
                }
                break;
            }
            cum += chunkMass[t];
        }
        out[r] = chosen;
    }
}
GANTRY_EXPORT(sample_rows);
