// Q8_0 and Q4_0 products on weights repacked once, at load, for AVX-512 and AMX (variants 4, 5).
//
// Packed layout, per group of 16 weight rows (groups after one another), per pair of 32-value
// blocks: the two blocks' values, then their scales in one cache line. Per block the 16 rows' values
// in groups of 4 side by side, so that 64 bytes hold values 4k .. 4k + 3 of all 16 rows ("k-row"
// k). That is the order in which one vpdpbusd by a broadcast group of 4 activations yields 16 rows'
// partial sums (no horizontal sums), and the order of an AMX B tile. Values are stored unsigned,
// as vpdpbusd takes them:
//   Q8_0: u8 [8 k-rows][64] = w + 128                                        (512 bytes a block)
//   Q4_0: u8 [4][64]: byte j of pair p holds k-row 2p's value j in its low nibble and k-row
//         2p + 1's in its high one, the stored q = w + 8                       (256 bytes a block)
// and per block the 16 rows' f16 scales d[16] as in the file (32 bytes): no more bytes than the
// file's, which decode reads at the memory's speed, the values 64-byte aligned, and the scales
// in the same stream of addresses as the values. A last odd block keeps the place of its absent
// pair.
// On AVX-512 the offset comes off exactly with the activations' block sums: isum = sum(u * y) -
// off * sum(y). AMX takes the tiles back to signed values (one xor or subtraction per 64 bytes) and
// multiplies with tdpbssd: its sums are isum itself, so the per-row scaling after every block is
// one multiplication and one fma less, and the tile unit waits less on it.
//
// Arithmetic, the same on both paths (so a token's bits do not depend on its batch): per block the
// exact integer isum, then acc = fma(d_x * d_w, isum, acc), block after block. Rows outside whole
// groups of 16 are not packed; gantry_cpu.c's row kernels compute them, the same way in any batch.
#define _GNU_SOURCE
#include "gantry_cpu_k.h"

#include <sys/mman.h>
#include <unistd.h>

enum { TYPE_Q8_0 = 8, TYPE_Q4_0 = 2, QK = 32 };  // and the K-quants (gantry_cpu_k.h): gantry_cpu_packed_k.c, gantry_cpu_packed_q6k.c

// Bytes of one block's values in a group; each block also has 32 bytes of scales.
static int64_t packed_values_bytes(int32_t type) {
    return type == TYPE_Q8_0 ? 512 : 256;
}

static int64_t packed_group_bytes(int32_t type, int64_t blocks) {
    return (blocks + 1) / 2 * (2 * packed_values_bytes(type) + 64);
}

// Offsets in a group of block b's values and of its scales.
static inline int64_t packed_values_at(int64_t vb, int64_t b) {
    return b / 2 * (2 * vb + 64) + b % 2 * vb;
}

static inline int64_t packed_scales_at(int64_t vb, int64_t b) {
    return b / 2 * (2 * vb + 64) + 2 * vb + b % 2 * 32;
}

/** Bytes of the packed copy of a weight (its whole groups of 16 rows), or -1 for another type. */
int64_t gantry_packed_bytes(int32_t type, int64_t rows, int64_t cols) {
    if (type == TYPE_Q4_K || type == TYPE_Q5_K) {
        return gantry_packed_q4k_bytes(rows, cols, type == TYPE_Q5_K);
    }
    if (type == TYPE_Q6_K) {
        return gantry_packed_q6k_bytes(rows, cols);
    }
    if (type != TYPE_Q8_0 && type != TYPE_Q4_0) {
        return -1;
    }
    return rows / 16 * packed_group_bytes(type, cols / QK);
}

/** Packs the whole groups of 16 rows of a Q8_0 or Q4_0 weight into dst (gantry_packed_bytes). */
int32_t gantry_pack(int32_t type, const uint8_t *w, int64_t row_bytes, int64_t rows, int64_t cols, uint8_t *dst) {
    if (type == TYPE_Q4_K || type == TYPE_Q5_K) {
        gantry_pack_q4k(w, row_bytes, rows, cols, dst, type == TYPE_Q5_K);
        return 0;
    }
    if (type == TYPE_Q6_K) {
        gantry_pack_q6k(w, row_bytes, rows, cols, dst);
        return 0;
    }
    if (type != TYPE_Q8_0 && type != TYPE_Q4_0) {
        return -1;
    }
    int64_t blocks = cols / QK, vb = packed_values_bytes(type), src_block = type == TYPE_Q8_0 ? 34 : 18;
    for (int64_t g = 0; g < rows / 16; g++) {
        for (int64_t b = 0; b < blocks; b++) {
            uint8_t *group = dst + g * packed_group_bytes(type, blocks), *out = group + packed_values_at(vb, b);
            uint8_t *d = group + packed_scales_at(vb, b);
            memset(out, 0, (size_t)vb);
            for (int n = 0; n < 16; n++) {
                const uint8_t *blk = w + (g * 16 + n) * row_bytes + b * src_block;
                memcpy(d + 2 * n, blk, 2);
                for (int i = 0; i < QK; i++) {
                    int k = i / 4, at = n * 4 + i % 4;
                    if (type == TYPE_Q8_0) {
                        out[k * 64 + at] = (uint8_t)(blk[2 + i] ^ 0x80);  // w + 128
                    } else {
                        // value i of a Q4_0 block: low nibble of byte i (i < 16), else high nibble of byte i - 16
                        uint8_t q = i < 16 ? blk[2 + i] & 0x0f : blk[2 + i - 16] >> 4;
                        out[(k / 2) * 64 + at] |= (uint8_t)(k % 2 == 0 ? q : q << 4);
                    }
                }
            }
        }
    }
    return 0;
}

#if defined(__x86_64__)

#define P512 "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#define PAMX "amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"

// The 8 k-rows of a packed block as 16-row vectors of unsigned bytes.
#define LOAD_KROWS(type, blk, v)                                                                      \
    do {                                                                                              \
        if ((type) == TYPE_Q8_0) {                                                                    \
            for (int k = 0; k < 8; k++) v[k] = _mm512_loadu_si512((const void *)((blk) + 64 * k));    \
        } else {                                                                                      \
            const __m512i m4 = _mm512_set1_epi8(0x0f);                                                \
            for (int p = 0; p < 4; p++) {                                                             \
                __m512i both = _mm512_loadu_si512((const void *)((blk) + 64 * p));                    \
                v[2 * p] = _mm512_and_si512(both, m4);                                                \
                v[2 * p + 1] = _mm512_and_si512(_mm512_srli_epi16(both, 4), m4);                      \
            }                                                                                         \
        }                                                                                             \
    } while (0)

// The 16 rows' f16 scales of a block as floats (exact).
__attribute__((target(P512), always_inline)) static inline __m512 scales16(const uint8_t *d) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)d));
}

// One group of 16 rows by NT (1..4) tokens: y[t] their int8 rows, yd[t] the block scales, ys[t]
// the block sums; res[t * 16 + n].
__attribute__((target(P512), always_inline)) static inline void group_avx512(int32_t type, const uint8_t *g,
                                                                             int64_t blocks, const int8_t *const *y,
                                                                             const float *const *yd,
                                                                             const int16_t *const *ys, const int NT,
                                                                             float *res) {
    const int64_t vb = packed_values_bytes(type);
    const int off = type == TYPE_Q8_0 ? 128 : 8;
    __m512 acc[4];
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < blocks; b++) {
        // Decode streams the weights from memory with little work per byte; the loads that the
        // reorder window holds are too few to keep the memory busy, so ask for lines ahead.
        const uint8_t *ahead = g + packed_values_at(vb, b) + PREFETCH_AHEAD;
        if (type == TYPE_Q8_0) {  // into L2: faster for Q8_0, slower for Q4_0 (gantry_cpu_k.h, PREFETCH_AHEAD)
            for (int64_t o = 0; o < vb + 32; o += 64) _mm_prefetch((const char *)ahead + o, _MM_HINT_T1);
        } else {
            for (int64_t o = 0; o < vb + 32; o += 64) _mm_prefetch((const char *)ahead + o, _MM_HINT_T0);
        }
        __m512i v[8];
        LOAD_KROWS(type, g + packed_values_at(vb, b), v);
        __m512 dw = scales16(g + packed_scales_at(vb, b));
        for (int t = 0; t < NT; t++) {
            __m512i isum = _mm512_sub_epi32(gantry_krows_dot(v, y[t] + b * QK), _mm512_set1_epi32(off * ys[t][b]));
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(yd[t][b]), dw), _mm512_cvtepi32_ps(isum), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) {
        _mm512_storeu_ps(res + 16 * t, acc[t]);
    }
}

__attribute__((target(P512))) static void groups_avx512(int32_t type, const uint8_t *packed, int64_t g0, int64_t g1,
                                                         int64_t cols, const int8_t *xq, const float *xd,
                                                         const int16_t *xs, int64_t ntok, float *out,
                                                         int64_t out_stride) {
    int64_t blocks = cols / QK;
    for (int64_t g = g0; g < g1; g++) {
        const uint8_t *gp = packed + g * packed_group_bytes(type, blocks);
        for (int64_t t = 0; t < ntok; t += 4) {
            int n = ntok - t < 4 ? (int)(ntok - t) : 4;
            const int8_t *y[4];
            const float *yd[4];
            const int16_t *ys[4];
            float res[64];
            for (int i = 0; i < n; i++) {
                y[i] = xq + (t + i) * cols;
                yd[i] = xd + (t + i) * blocks;
                ys[i] = xs + (t + i) * blocks;
            }
            if (n == 4) {
                group_avx512(type, gp, blocks, y, yd, ys, 4, res);
            } else {
                for (int i = 0; i < n; i++) group_avx512(type, gp, blocks, y + i, yd + i, ys + i, 1, res + 16 * i);
            }
            for (int i = 0; i < n; i++) {
                memcpy(out + (t + i) * out_stride + g * 16, res + 16 * i, 64);
            }
        }
    }
}

// The B tile of one packed block as signed bytes, the weights' own values (Q8_0's w, Q4_0's q - 8),
// in buf: with tdpbssd the tile sums are the exact isum, and scaling them takes no block sums.
__attribute__((target(PAMX), always_inline)) static inline const uint8_t *b_tile(int32_t type, const uint8_t *blk,
                                                                                 uint8_t *buf) {
    __m512i v[8];
    LOAD_KROWS(type, blk, v);
    const __m512i off = _mm512_set1_epi8(type == TYPE_Q8_0 ? (char)0x80 : 8);
    for (int k = 0; k < 8; k++) {
        __m512i w = type == TYPE_Q8_0 ? _mm512_xor_si512(v[k], off) : _mm512_sub_epi8(v[k], off);
        _mm512_storeu_si512((void *)(buf + 64 * k), w);
    }
    return buf;
}

// Up to two groups of 16 rows by up to two tiles of 16 tokens per pass (gantry_cpu_amx.c's tiles
// 0 to 7): four independent tdpbssd per block, so the tile unit works on one while the sums of the
// others are stored and scaled, and every A and B tile serves two products.
__attribute__((target(PAMX))) static void groups_amx(int32_t type, const uint8_t *packed, int64_t g0, int64_t g1,
                                                      int64_t cols, const int8_t *xq, const int8_t *tiled_in,
                                                      const float *xd, const int16_t *xs, int64_t ntok, float *out,
                                                      int64_t out_stride) {
    int64_t blocks = cols / QK, vb = packed_values_bytes(type), gb = packed_group_bytes(type, blocks);
    const int8_t *tiled = tiled_in ? tiled_in : gantry_amx_tile_activations(xq, ntok, cols, QK);
    if (!tiled) {
        groups_avx512(type, packed, g0, g1, cols, xq, xd, xs, ntok, out, out_stride);
        return;
    }
    uint8_t unpacked[2][2][512];  // [block % 2][group]: B tiles
    int32_t c[4][256];      // [token tile * 2 + group][16 tokens][16 rows] exact sums of one block
    __m512 acc[4][16];      // [token tile * 2 + group][token]: 16 rows
    for (int64_t g = g0; g < g1; g += 2) {
        const int two_groups = g + 1 < g1;
        const uint8_t *gp0 = packed + g * gb, *gp1 = gp0 + (two_groups ? gb : 0);
        for (int64_t t0 = 0; t0 < ntok; t0 += 32) {
            int nrows[2];
            gantry_amx_pass_rows(ntok, t0, nrows);
            const int nt = nrows[0], nt2 = nrows[1];
            gantry_amx_configure2(32, nt, nt2);  // A: nt x 32 bytes, B: 8 x 64, C: nt x 16
            for (int i = 0; i < 4; i++) {
                for (int r = 0; r < 16; r++) acc[i][r] = _mm512_setzero_ps();
            }
            const int8_t *a = tiled + t0 * cols;  // tile (t0 / 16, block b) at a + b * 512
            // With one tile of tokens (B=16 decode), block b's tile products run while AVX-512
            // scales block b - 1's sums, read before b's are stored (lag 1; see gantry_cpu_packed_k.c).
            const int lag = nt2 == 0;
            for (int64_t b = 0; b <= blocks; b++) {
                if (b < blocks) {
                    const uint8_t *blk[2] = {gp0 + packed_values_at(vb, b), gp1 + packed_values_at(vb, b)};
                    // few tokens do little work a byte, as decode: lines ahead (first pass only: later ones find them cached)
                    for (int gi = 0; gi <= two_groups && t0 == 0; gi++) {
                        for (int64_t o = 0; o < vb + 32; o += 64) {
                            _mm_prefetch((const char *)blk[gi] + PREFETCH_AHEAD + o, _MM_HINT_T0);
                        }
                    }
                    gantry_amx_compute(b_tile(type, blk[0], unpacked[b & 1][0]),
                                       two_groups ? b_tile(type, blk[1], unpacked[b & 1][1]) : NULL, a + b * 16 * QK,
                                       a + 16 * cols + b * 16 * QK, QK, two_groups, nt2, 1);
                    if (!lag) {
                        gantry_amx_store_sums(two_groups, nt2, c);
                    }
                }
                const int64_t k = b - lag;  // the block whose sums are scaled now
                for (int i = 0; i < 4 && k >= 0 && k < blocks; i++) {
                    const int gi = i & 1, ti = i >> 1;
                    if (!gantry_amx_pass_has(i, two_groups, nrows)) {
                        continue;
                    }
                    __m512 dw = scales16((gi ? gp1 : gp0) + packed_scales_at(vb, k));
                    for (int r = 0; r < nrows[ti]; r++) {
                        int64_t t = t0 + 16 * ti + r;
                        __m512i isum = _mm512_loadu_si512((const void *)(c[i] + 16 * r));
                        acc[i][r] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(xd[t * blocks + k]), dw),
                                                    _mm512_cvtepi32_ps(isum), acc[i][r]);
                    }
                }
                if (lag && b < blocks) {
                    gantry_amx_store_sums(two_groups, nt2, c);
                }
            }
            gantry_amx_store(out, out_stride, t0, g, two_groups, nrows, acc);
        }
    }
}
#endif

/**
 * Lays the activations xq [ntok][cols] out in dst as the packed products of this type take them on
 * AMX tiles (gantry_amx_tile_activations' layout; dst: [(ntok + 15) / 16 * 16][cols] bytes), once
 * per product instead of once per call of gantry_matmul_packed: a prefill of 128 tokens splits a
 * product into some 8 calls, each of which would copy all the tokens again. Returns 1, or 0 (dst
 * untouched) where those products would not take tiles: another variant, type, or fewer than
 * AMX_MIN_TOKENS tokens.
 */
int32_t gantry_tile_packed(int32_t type, const int8_t *xq, int64_t ntok, int64_t cols, int8_t *dst) {
#if defined(__x86_64__)
    int packable = type == TYPE_Q8_0 || type == TYPE_Q4_0 || type == TYPE_Q4_K || type == TYPE_Q5_K || type == TYPE_Q6_K;
    if (!gantry_packed_variant || !gantry_k_amx || ntok < AMX_MIN_TOKENS || !packable) {
        return 0;
    }
    gantry_amx_tile_into(xq, ntok, cols, type == TYPE_Q6_K ? 16 : QK, dst);
    return 1;
#else
    (void)type, (void)xq, (void)ntok, (void)cols, (void)dst;
    return 0;
#endif
}

/**
 * Asks Linux to take the pages of [addr, addr + len) out of this process's memory once a weight's
 * packed copy has been made: the products never read the file's copy again. MADV_PAGEOUT keeps
 * the contents (a file's clean pages are dropped and read again if touched, as the tied embedding
 * table's rows are; anonymous memory is swapped or left), unlike MADV_DONTNEED on anonymous
 * memory. Returns madvise's result (-1 on kernels before 5.4, which leave the pages: harmless).
 */
int32_t gantry_release(void *addr, int64_t len) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)addr + page - 1) / page * page, to = ((uintptr_t)addr + (uintptr_t)len) / page * page;
    if (to <= from) {
        return 0;
    }
    return madvise((void *)from, to - from, 21 /* MADV_PAGEOUT */);
}

/** Whether the selected variant multiplies packed Q8_0/Q4_0 weights (AVX-512 or AMX). */
int32_t gantry_packs(void) {
    return gantry_packed_variant;
}

/**
 * out[t * out_stride + o] = dot(weight row o, activation row t) (+ bias[o]) for Q8_0/Q4_0 rows o in
 * [row_start, row_end), row_start a multiple of 16: whole groups from `packed`, the rows past the
 * last whole group of the weight (rows_total) from w by the row kernels. xs: [ntok][cols / 32] the
 * activations' block sums (gantry_quantize_q8_0's). tiled: xq as gantry_tile_packed laid it out,
 * or NULL (each call then lays out its own copy). Returns 0, -1 for another type, -2 where the
 * selected variant does not pack.
 */
int32_t gantry_matmul_packed(int32_t type, const uint8_t *packed, const uint8_t *w, int64_t row_bytes,
                             int64_t rows_total, int64_t row_start, int64_t row_end, int64_t cols, const int8_t *xq,
                             const int8_t *tiled, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                             int64_t out_stride, const float *bias) {
    const int k = type == TYPE_Q4_K || type == TYPE_Q5_K || type == TYPE_Q6_K;
    if (type != TYPE_Q8_0 && type != TYPE_Q4_0 && !k) {
        return -1;
    }
    if (!gantry_packed_variant || row_start % 16 != 0) {
        return -2;
    }
    int64_t whole = rows_total / 16 * 16;
#if defined(__x86_64__)
    int64_t g1 = (row_end < whole ? row_end : whole) / 16;
    if (k) {  // xd, xs: Q8_K's scales per 256 values and sums per 16
        if (row_start < whole && type == TYPE_Q6_K) {
            gantry_matmul_packed_q6k(packed, row_start / 16, g1, cols, xq, tiled, xd, xs, ntok, out, out_stride);
        } else if (row_start < whole) {
            gantry_matmul_packed_q4k(packed, row_start / 16, g1, cols, xq, tiled, xd, xs, ntok, out, out_stride,
                                     type == TYPE_Q5_K);
        }
        if (row_end > whole) {
            int64_t from = row_start > whole ? row_start : whole;
            gantry_matmul_q8k(type, w, row_bytes, from, row_end, cols, xq, xd, xs, ntok, out, out_stride, NULL);
        }
    } else if (row_start < whole) {
        if (gantry_k_amx && ntok >= AMX_MIN_TOKENS) {
            groups_amx(type, packed, row_start / 16, g1, cols, xq, tiled, xd, xs, ntok, out, out_stride);
        } else {
            groups_avx512(type, packed, row_start / 16, g1, cols, xq, xd, xs, ntok, out, out_stride);
        }
    }
#else
    (void)packed;  // nothing packs outside x86-64 (gantry_packed_variant is 0 there)
    (void)xs, (void)tiled;
#endif
    if (row_end > whole && !k) {
        int64_t from = row_start > whole ? row_start : whole;
        gantry_matmul_q8(type, w, row_bytes, from, row_end, cols, xq, xd, NULL, ntok, out, out_stride, NULL);
    }
    if (bias) {
        for (int64_t t = 0; t < ntok; t++) {
            for (int64_t o = row_start; o < row_end; o++) {
                out[t * out_stride + o] += bias[o];
            }
        }
    }
    return 0;
}
