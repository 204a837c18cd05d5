// Causal attention for prompt chunks (flash-attention style): a block takes a tile of up to 16
// consecutive query rows of one sequence and one query head, and walks that sequence's K/V
// through its block table 32 positions at a time, staging each K/V tile in shared memory once
// for all 16 rows. Each warp keeps an online softmax (running max, sum and weighted V sum) for 4
// rows: no scores buffer of the context's length, and K/V read once per tile instead of once per
// row (paged_attention.cu, which decode rows take).
#include "gantry.cuh"

namespace {
constexpr int kTileRows = 16;      // query rows per block
constexpr int kTilePositions = 32; // K/V positions staged at once: one per lane
constexpr int kWarps = 4;
constexpr int kRowsPerWarp = kTileRows / kWarps;
constexpr int kMaxHeadDim = 256;
constexpr int kLaneDims = kMaxHeadDim / 32;
}

// grid: (tiles, heads); block: 128 threads; dynamic shared: (16 + 2 * 32) * headDim + 4 * 32 floats.
// q, out: [rows][heads * headDim]; kcache, vcache: [numBlocks * blockSize][kvHeads * headDim] of the
// layer; tile t covers batch rows tileRow[t] .. + tileLen[t] - 1 (<= 16) of sequence tileSeq[t], at
// positions tilePos[t] .. (row i attends to positions 0 .. tilePos[t] + i); blockTables:
// [numSeqs][maxBlocks]. headDim <= 256.
extern "C" __global__ void __launch_bounds__(128)
    flash_prefill(const float* __restrict__ q, const float* __restrict__ kcache, const float* __restrict__ vcache,
                  float* __restrict__ out, const int* __restrict__ tileSeq, const int* __restrict__ tileRow,
                  const int* __restrict__ tileLen, const int* __restrict__ tilePos, const int* __restrict__ blockTables,
                  int maxBlocks, int heads, int kvHeads, int headDim, int blockSize, float scale) {
    GANTRY_DYNAMIC_SHARED(float, shared);
    float* qs = shared;                               // [16][headDim]
    float* ks = qs + kTileRows * headDim;             // [32][headDim]
    float* vs = ks + kTilePositions * headDim;        // [32][headDim]
    float* ps = vs + kTilePositions * headDim;        // [4 warps][32]: one row's weights of this K/V tile
    int t = blockIdx.x;
    int h = blockIdx.y;
    int lane = threadIdx.x % 32;
    int warp = threadIdx.x / 32;
    int len = tileLen[t];
    int row0 = tileRow[t];
    int pos0 = tilePos[t];
    int kvDim = kvHeads * headDim;
    int kvHead = h / (heads / kvHeads);
    const int* table = blockTables + static_cast<long long>(tileSeq[t]) * maxBlocks;

    for (int i = threadIdx.x; i < kTileRows * headDim; i += blockDim.x) {
        int r = i / headDim;
        qs[i] = r < len ? q[(static_cast<long long>(row0 + r) * heads + h) * headDim + i % headDim] : 0.0f;
    }
    float m[kRowsPerWarp];
    float l[kRowsPerWarp];
    float acc[kRowsPerWarp][kLaneDims];
    for (int r = 0; r < kRowsPerWarp; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
        for (int j = 0; j < kLaneDims; j++) {
            acc[r][j] = 0.0f;
        }
    }
    int last = pos0 + len - 1; // the tile's last row attends furthest
    for (int t0 = 0; t0 <= last; t0 += kTilePositions) {
        __syncthreads(); // the previous K/V tile (and, first time, q) is no longer read
        for (int i = threadIdx.x; i < kTilePositions * headDim; i += blockDim.x) {
            int p = t0 + i / headDim;
            float kv = 0.0f;
            float vv = 0.0f;
            if (p <= last) {
                long long slot = static_cast<long long>(table[p / blockSize]) * blockSize + p % blockSize;
                kv = kcache[slot * kvDim + kvHead * headDim + i % headDim];
                vv = vcache[slot * kvDim + kvHead * headDim + i % headDim];
            }
            ks[i] = kv;
            vs[i] = vv;
        }
        __syncthreads();
        for (int rr = 0; rr < kRowsPerWarp; rr++) {
            int r = warp + kWarps * rr; // this warp's rows: warp, warp + 4, ...
            if (r >= len) {
                break; // the whole warp alike: r does not depend on the lane
            }
            int p = t0 + lane;
            float s = -INFINITY;
            if (p <= pos0 + r) { // causal
                float dot = 0.0f;
                for (int d = 0; d < headDim; d++) {
                    dot += qs[r * headDim + d] * ks[lane * headDim + d];
                }
                s = dot * scale;
            }
            float mNew = fmaxf(m[rr], gantry::warp_max(s)); // finite: position t0 <= pos0 + r for every tile walked
            float weight = s == -INFINITY ? 0.0f : expf(s - mNew);
            float correction = expf(m[rr] - mNew);
            l[rr] = l[rr] * correction + gantry::warp_sum(weight);
            ps[warp * 32 + lane] = weight;
            __syncwarp();
            for (int j = 0, d = lane; d < headDim; j++, d += 32) {
                float a = acc[rr][j] * correction;
                for (int k = 0; k < kTilePositions; k++) {
                    a += ps[warp * 32 + k] * vs[k * headDim + d];
                }
                acc[rr][j] = a;
            }
            __syncwarp();
            m[rr] = mNew;
        }
    }
    for (int rr = 0; rr < kRowsPerWarp; rr++) {
        int r = warp + kWarps * rr;
        if (r >= len) {
            break;
        }
        float* o = out + (static_cast<long long>(row0 + r) * heads + h) * headDim;
        for (int j = 0, d = lane; d < headDim; j++, d += 32) {
            o[d] = acc[rr][j] / l[rr];
        }
    }
}
GANTRY_EXPORT(flash_prefill);
