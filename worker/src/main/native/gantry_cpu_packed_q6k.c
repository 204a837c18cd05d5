// Q6_K products on weights packed once, at load, for AVX-512 and AMX (variants 4, 5): Q6_K is the
// type of the output layer and of a third of the FFN down projections in the Q4_K_M and Q5_K_M
// files, and its row kernel sums each row's 256 values in lanes, then horizontally, once per row
// and block, which bounds it by arithmetic rather than by memory (figures: docs/native-cpu.md).
//
// Packed layout, per group of 16 rows and 256-value block (3392 bytes; the file's 16 blocks are
// 3360), k-row k of a 32-value sub-block s being values 32s + 4k .. 32s + 4k + 3 of all 16 rows
// (row n at bytes 4n .. 4n + 3), as gantry_cpu_packed_k.c's Q4_K:
//   QS [8 s][4 p][64]: the low 4 bits of k-row 2p (low nibbles) and 2p + 1 (high)     [2048 bytes]
//   QH [8 s][2 half][64]: bits 2m, 2m + 1 of byte i hold the top 2 bits of byte i of
//      k-row 4 half + m                                                                  [1024 bytes]
//   SC [16 j][16 n]: the int8 scale of values 16j .. 16j + 15 of row n                   [256 bytes]
//   D  [16]: each row's d as a float                                                     [64 bytes]
// The unpacked values are the stored q (0..63). vpdpbusd takes them unsigned against the signed
// activations, and the -32 of every value comes off exactly with the activations' 16-value sums;
// AMX takes them as q - 32, signed by signed, as gantry_cpu_amx.c's unpacked path.
//
// Arithmetic: gantry_cpu_k.c's, exactly: per block the exact integer
// isum = sum over j of sc_j * (sum(q * y) - 32 * sum(y)) over the 16 values of j, then ACCUMULATE,
// so these products have the bits of every other variant's, alone or in a batch.
#define _GNU_SOURCE
#include "gantry_cpu_k.h"

enum { PQ6_QH = 2048, PQ6_SC = 3072, PQ6_D = 3328, PQ6_BYTES = 3392 };

int64_t gantry_packed_q6k_bytes(int64_t rows, int64_t cols) {
    return rows / 16 * (cols / QK_K) * PQ6_BYTES;
}

// Value i (0..255) of a Q6_K block, as stored (0..63): i = 128h + 32k + l.
static inline int q6k_value(const uint8_t *blk, int i) {
    int h = i / 128, k = i % 128 / 32, l = i % 32;
    uint8_t ql = blk[64 * h + l + 32 * (k & 1)];
    int low = k < 2 ? ql & 0x0f : ql >> 4;
    return low | (blk[128 + 32 * h + l] >> (2 * k) & 3) << 4;
}

void gantry_pack_q6k(const uint8_t *w, int64_t row_bytes, int64_t rows, int64_t cols, uint8_t *dst) {
    int64_t blocks = cols / QK_K;
    for (int64_t g = 0; g < rows / 16; g++) {
        for (int64_t b = 0; b < blocks; b++) {
            uint8_t *out = dst + (g * blocks + b) * PQ6_BYTES;
            memset(out, 0, PQ6_BYTES);
            for (int n = 0; n < 16; n++) {
                const uint8_t *blk = w + (g * 16 + n) * row_bytes + b * Q6_K_BYTES;
                for (int j = 0; j < 16; j++) {
                    out[PQ6_SC + 16 * j + n] = blk[192 + j];
                }
                float d = f16_to_f32(load_u16(blk + 208));
                memcpy(out + PQ6_D + 4 * n, &d, 4);
                for (int i = 0; i < QK_K; i++) {
                    int q = q6k_value(blk, i), s = i / 32, k = i % 32 / 4, at = 4 * n + i % 4;
                    out[(4 * s + k / 2) * 64 + at] |= (uint8_t)(k % 2 == 0 ? q & 0x0f : (q & 0x0f) << 4);
                    out[PQ6_QH + (2 * s + k / 4) * 64 + at] |= (uint8_t)((q >> 4) << (2 * (k % 4)));
                }
            }
        }
    }
}

#if defined(__x86_64__)
#define PQ512 "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#define PQAMX "amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"

// The 8 k-rows of sub-block s of a packed block, as unsigned bytes 0..63.
__attribute__((target(PQ512), always_inline)) static inline void q6k_krows(const uint8_t *blk, int s, __m512i v[8]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    const __m512i h0 = _mm512_loadu_si512((const void *)(blk + PQ6_QH + 2 * s * 64));
    const __m512i h1 = _mm512_loadu_si512((const void *)(blk + PQ6_QH + (2 * s + 1) * 64));
    for (int p = 0; p < 4; p++) {
        __m512i both = _mm512_loadu_si512((const void *)(blk + (4 * s + p) * 64));
        // k-rows 2p, 2p + 1: their top bits at bits 2m, 2m + 1 (m = k % 4) of h0 or h1, moved to
        // bits 4, 5 (16-bit shifts: the mask drops what crosses a byte)
        __m512i h = p < 2 ? h0 : h1;
        int m = 2 * p % 4;
        __m512i top_even = m == 0 ? _mm512_slli_epi16(h, 4) : h;
        __m512i top_odd = m == 0 ? _mm512_slli_epi16(h, 2) : _mm512_srli_epi16(h, 2);
        v[2 * p] = _mm512_or_si512(_mm512_and_si512(both, m4), _mm512_and_si512(top_even, m30));
        v[2 * p + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(both, 4), m4), _mm512_and_si512(top_odd, m30));
    }
}

// One group by NT (1..4) tokens: 16 rows' sums per vpdpbusd, no horizontal sums.
__attribute__((target(PQ512), always_inline)) static inline void group_avx512(const uint8_t *g, int64_t blocks,
                                                                             int64_t cols, const int8_t *xq,
                                                                             const float *xd, const int16_t *xs,
                                                                             int64_t t0, const int NT, float *out,
                                                                             int64_t out_stride) {
    __m512 acc[4];
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < blocks; b++, g += PQ6_BYTES) {
        for (int64_t o = 0; o < PQ6_BYTES; o += 64) {  // blocks ahead, into L2 (gantry_cpu_k.h, PREFETCH_BLOCKS_L2)
            _mm_prefetch((const char *)g + PREFETCH_BLOCKS_L2 * PQ6_BYTES + o, _MM_HINT_T1);
        }
        __m512i isum[4];
        for (int t = 0; t < NT; t++) {
            isum[t] = _mm512_setzero_si512();
        }
        for (int s = 0; s < 8; s++) {
            __m512i v[8];
            q6k_krows(g, s, v);
            __m512i sc0 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(g + PQ6_SC + 32 * s)));
            __m512i sc1 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(g + PQ6_SC + 32 * s + 16)));
            for (int t = 0; t < NT; t++) {
                const int8_t *y = xq + (t0 + t) * cols + b * QK_K + 32 * s;
                const int16_t *bs = xs + (t0 + t) * (cols / 16) + b * 16 + 2 * s;
                int32_t y4[8];
                memcpy(y4, y, 32);
                __m512i d0 = _mm512_setzero_si512(), d1 = _mm512_setzero_si512();
                for (int k = 0; k < 4; k++) {  // two chains: values 0..15 (scale 2s), 16..31 (2s + 1)
                    d0 = _mm512_dpbusd_epi32(d0, v[k], _mm512_set1_epi32(y4[k]));
                    d1 = _mm512_dpbusd_epi32(d1, v[k + 4], _mm512_set1_epi32(y4[k + 4]));
                }
                d0 = _mm512_sub_epi32(d0, _mm512_set1_epi32(32 * bs[0]));
                d1 = _mm512_sub_epi32(d1, _mm512_set1_epi32(32 * bs[1]));
                isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(_mm512_mullo_epi32(d0, sc0),
                                                                     _mm512_mullo_epi32(d1, sc1)));
            }
        }
        __m512 dw = _mm512_loadu_ps((const float *)(g + PQ6_D));
        for (int t = 0; t < NT; t++) {  // ACCUMULATE in 16 lanes
            __m512 dx = _mm512_set1_ps(xd[(t0 + t) * blocks + b]);
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw), _mm512_cvtepi32_ps(isum[t]), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) {
        _mm512_storeu_ps(out + (t0 + t) * out_stride, acc[t]);
    }
}

__attribute__((target(PQ512))) static void groups_avx512(const uint8_t *packed, int64_t g0, int64_t g1, int64_t cols,
                                                          const int8_t *xq, const float *xd, const int16_t *xs,
                                                          int64_t ntok, float *out, int64_t out_stride) {
    int64_t blocks = cols / QK_K;
    for (int64_t g = g0; g < g1; g++) {
        const uint8_t *gp = packed + g * blocks * PQ6_BYTES;
        int64_t t = 0;
        for (; t + 4 <= ntok; t += 4) {
            group_avx512(gp, blocks, cols, xq, xd, xs, t, 4, out + g * 16, out_stride);
        }
        for (; t < ntok; t++) {
            group_avx512(gp, blocks, cols, xq, xd, xs, t, 1, out + g * 16, out_stride);
        }
    }
}

// Up to two groups of 16 rows by up to two tiles of 16 tokens per pass, as gantry_cpu_packed_k.c,
// in chunks of 16 values (one scale each): per chunk four independent tdpbssd on B tiles of
// q - 32 made from the packed bytes (already in tile order).
__attribute__((target(PQAMX))) static void groups_amx(const uint8_t *packed, int64_t g0, int64_t g1, int64_t cols,
                                                       const int8_t *xq, const int8_t *tiled_in, const float *xd,
                                                       const int16_t *xs, int64_t ntok, float *out, int64_t out_stride) {
    int64_t blocks = cols / QK_K;
    const int8_t *tiled = tiled_in ? tiled_in : gantry_amx_tile_activations(xq, ntok, cols, 16);
    if (!tiled) {
        groups_avx512(packed, g0, g1, cols, xq, xd, xs, ntok, out, out_stride);
        return;
    }
    const __m512i bias = _mm512_set1_epi8(32);
    uint8_t tile[2][2][2][256];  // [sub-block % 2][group][values 0..15 or 16..31 of it]: 4 k-rows of 64 bytes
    int32_t c[4][256];        // [token tile * 2 + group][16 tokens][16 rows] exact sums of one chunk
    __m512i isum[4][16];
    __m512 acc[4][16];
    for (int64_t g = g0; g < g1; g += 2) {
        const int two_groups = g + 1 < g1;
        const uint8_t *gp[2] = {packed + g * blocks * PQ6_BYTES, packed + (g + two_groups) * blocks * PQ6_BYTES};
        for (int64_t t0 = 0; t0 < ntok; t0 += 32) {
            int nrows[2];
            gantry_amx_pass_rows(ntok, t0, nrows);
            const int nt = nrows[0], nt2 = nrows[1];
            gantry_amx_configure2(16, nt, nt2);
            const int lag = nt2 == 0;
            for (int i = 0; i < 4; i++) {
                for (int r = 0; r < 16; r++) acc[i][r] = _mm512_setzero_ps();
            }
            const int8_t *a = tiled + t0 * cols;  // tile (t0 / 16, chunk j) at a + j * 256
            for (int64_t b = 0; b < blocks; b++) {
                const uint8_t *blk[2] = {gp[0] + b * PQ6_BYTES, gp[1] + b * PQ6_BYTES};
                // few tokens do little work a byte, as decode: lines ahead (first pass only: later ones find them cached)
                for (int gi = 0; gi <= two_groups && t0 == 0; gi++) {
                    for (int64_t o = 0; o < PQ6_BYTES; o += 64) {
                        _mm_prefetch((const char *)blk[gi] + PREFETCH_AHEAD + o, _MM_HINT_T0);
                    }
                }
                for (int i = 0; i < 4; i++) {
                    for (int r = 0; r < 16; r++) isum[i][r] = _mm512_setzero_si512();
                }
                // With one tile of tokens, chunk ch's tile products run while AVX-512 scales chunk
                // ch - 1's sums (lag 1; see gantry_cpu_packed_k.c), with two the sums are scaled as
                // soon as they are stored (lag 0: the tile unit has enough to do meanwhile).
                for (int ch = 0; ch <= 16; ch++) {
                    if (ch < 16) {
                        const int s = ch / 2, half = ch % 2;
                        for (int gi = 0; gi <= two_groups && half == 0; gi++) {
                            __m512i v[8];
                            q6k_krows(blk[gi], s, v);
                            for (int k = 0; k < 8; k++) {
                                _mm512_storeu_si512((void *)(tile[s & 1][gi][k / 4] + 64 * (k % 4)),
                                                    _mm512_sub_epi8(v[k], bias));
                            }
                        }
                        const int64_t j = b * 16 + ch;
                        gantry_amx_compute(tile[s & 1][0][half], tile[s & 1][1][half], a + j * 256,
                                           a + 16 * cols + j * 256, 16, two_groups, nt2, 1);
                        if (!lag) {
                            gantry_amx_store_sums(two_groups, nt2, c);
                        }
                    }
                    const int k = ch - lag;  // the chunk whose sums are scaled now
                    if (k >= 0 && k < 16) {
                        const __m512i sc[2] = {
                            _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk[0] + PQ6_SC + 16 * k))),
                            _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk[1] + PQ6_SC + 16 * k)))};
                        gantry_amx_scale_sums(isum, c, sc, two_groups, nrows);
                    }
                    if (lag && ch < 16) {
                        gantry_amx_store_sums(two_groups, nt2, c);
                    }
                }
                for (int i = 0; i < 4; i++) {
                    const int gi = i & 1, ti = i >> 1;
                    if (!gantry_amx_pass_has(i, two_groups, nrows)) {
                        continue;
                    }
                    __m512 dw = _mm512_loadu_ps((const float *)(blk[gi] + PQ6_D));
                    for (int r = 0; r < nrows[ti]; r++) {
                        __m512 dx = _mm512_set1_ps(xd[(t0 + 16 * ti + r) * blocks + b]);
                        acc[i][r] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw), _mm512_cvtepi32_ps(isum[i][r]), acc[i][r]);
                    }
                }
            }
            gantry_amx_store(out, out_stride, t0, g, two_groups, nrows, acc);
        }
    }
}

void gantry_matmul_packed_q6k(const uint8_t *packed, int64_t g0, int64_t g1, int64_t cols, const int8_t *xq,
                              const int8_t *tiled, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                              int64_t out_stride) {
    if (gantry_k_amx && ntok >= AMX_MIN_TOKENS) {
        groups_amx(packed, g0, g1, cols, xq, tiled, xd, xs, ntok, out, out_stride);
    } else {
        groups_avx512(packed, g0, g1, cols, xq, xd, xs, ntok, out, out_stride);
    }
}
#endif
