// Causal grouped-query attention of each batch row against the paged KV cache, read through the
// sequences' block tables (vLLM's layout). One block of threads per (query head, row); its warps
// take the row's positions in turn, each keeping an online softmax (running max, running sum,
// running weighted sum of V), merged at the end: no score buffer of the context's length.
#include "gantry.cuh"

namespace {
constexpr int kMaxHeadDim = 256;
constexpr int kLanesDims = kMaxHeadDim / 32; // head dimensions one lane accumulates
}

// grid: (heads, rows listed); block: warps * 32 threads; dynamic shared: (headDim + warps * (headDim
// + 2)) floats. q, out: [rows][heads * headDim]; kcache, vcache: [numBlocks * blockSize][kvHeads *
// headDim] of the layer; rowList: the batch rows to compute (the decode rows; prompt chunks take
// flash_prefill.cu); rowSeq, rowPos: [rows] each row's sequence and position (it attends to
// positions 0..rowPos); blockTables: [numSeqs][maxBlocks]. headDim <= 256.
extern "C" __global__ void paged_attention(const float* __restrict__ q, const float* __restrict__ kcache,
                                           const float* __restrict__ vcache, float* __restrict__ out,
                                           const int* __restrict__ rowList, const int* __restrict__ rowSeq, const int* __restrict__ rowPos,
                                           const int* __restrict__ blockTables, int maxBlocks, int heads,
                                           int kvHeads, int headDim, int blockSize, float scale) {
    GANTRY_DYNAMIC_SHARED(float, shared);
    int h = blockIdx.x;
    int row = rowList[blockIdx.y];
    int lane = threadIdx.x % 32;
    int warp = threadIdx.x / 32;
    int warps = blockDim.x / 32;
    int kvDim = kvHeads * headDim;
    int kvHead = h / (heads / kvHeads);
    float* qs = shared;                                    // [headDim]
    float* warpState = shared + headDim;                   // [warps][headDim + 2]: acc, max, sum
    const float* qRow = q + (static_cast<long long>(row) * heads + h) * headDim;
    for (int i = threadIdx.x; i < headDim; i += blockDim.x) {
        qs[i] = qRow[i];
    }
    __syncthreads();

    const int* table = blockTables + static_cast<long long>(rowSeq[row]) * maxBlocks;
    int pos = rowPos[row];
    float m = -INFINITY;
    float l = 0.0f;
    float acc[kLanesDims];
    for (int j = 0; j < kLanesDims; j++) {
        acc[j] = 0.0f;
    }
    for (int t = warp; t <= pos; t += warps) {
        long long slot = static_cast<long long>(table[t / blockSize]) * blockSize + t % blockSize;
        const float* k = kcache + slot * kvDim + kvHead * headDim;
        const float* v = vcache + slot * kvDim + kvHead * headDim;
        float dot = 0.0f;
        for (int i = lane; i < headDim; i += 32) {
            dot += qs[i] * k[i];
        }
        float s = gantry::warp_sum(dot) * scale;
        float mNew = fmaxf(m, s);
        float correction = expf(m - mNew);
        float p = expf(s - mNew);
        l = l * correction + p;
        for (int j = 0, i = lane; i < headDim; j++, i += 32) {
            acc[j] = acc[j] * correction + p * v[i];
        }
        m = mNew;
    }
    float* mine = warpState + warp * (headDim + 2);
    for (int j = 0, i = lane; i < headDim; j++, i += 32) {
        mine[i] = acc[j];
    }
    if (lane == 0) {
        mine[headDim] = m;
        mine[headDim + 1] = l;
    }
    __syncthreads();

    float mAll = -INFINITY;
    for (int w = 0; w < warps; w++) {
        mAll = fmaxf(mAll, warpState[w * (headDim + 2) + headDim]);
    }
    float* outRow = out + (static_cast<long long>(row) * heads + h) * headDim;
    for (int i = threadIdx.x; i < headDim; i += blockDim.x) {
        float num = 0.0f;
        float den = 0.0f;
        for (int w = 0; w < warps; w++) {
            const float* st = warpState + w * (headDim + 2);
            float f = st[headDim + 1] > 0.0f ? expf(st[headDim] - mAll) : 0.0f; // a warp with no positions adds nothing
            num += st[i] * f;
            den += st[headDim + 1] * f;
        }
        outRow[i] = num / den;
    }
}
GANTRY_EXPORT(paged_attention);
