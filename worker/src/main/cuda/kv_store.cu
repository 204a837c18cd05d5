// Writes the K and V rows of a step's tokens into their slots of the paged cache.
#include "gantry.cuh"

// grid: rows; block: threads striding over kvDim. k, v: [rows][kvDim]; kcache, vcache: one layer's
// [numBlocks * blockSize][kvDim]; slots: [rows], slot = block * blockSize + offset.
extern "C" __global__ void store_kv(const float* __restrict__ k, const float* __restrict__ v, float* kcache,
                                    float* vcache, const int* __restrict__ slots, int kvDim) {
    long long src = static_cast<long long>(blockIdx.x) * kvDim;
    long long dst = static_cast<long long>(slots[blockIdx.x]) * kvDim;
    for (int i = threadIdx.x; i < kvDim; i += blockDim.x) {
        kcache[dst + i] = k[src + i];
        vcache[dst + i] = v[src + i];
    }
}
GANTRY_EXPORT(store_kv);
