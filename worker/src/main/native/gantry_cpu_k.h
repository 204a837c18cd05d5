// Shared by the K-quant kernels (gantry_cpu_k.c, gantry_cpu_amx.c): the block layouts' constants,
// the unpacking of scales and six-bit values, and the float arithmetic every variant repeats.
#ifndef GANTRY_CPU_K_H
#define GANTRY_CPU_K_H
#include "gantry_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { QK_K = 256, TYPE_Q4_K = 12, TYPE_Q5_K = 13, TYPE_Q6_K = 14, Q4_K_BYTES = 144, Q5_K_BYTES = 176, Q6_K_BYTES = 210 };

// ggml's get_scale_min_k4 for all eight sub-blocks at once: the 6-bit scales sc[0..7] and mins
// mn[0..7] of a Q4_K block from its 12 scale bytes, four at a time in 32-bit words. Bytes 0-3 hold
// sc[0..3] in their low 6 bits and the top 2 bits of sc[4..7]; bytes 4-7 the same for the mins;
// bytes 8-11 the low 4 bits of sc[4..7] (low nibbles) and mn[4..7] (high nibbles).
static inline void q4k_scales(const uint8_t *s, uint8_t *sc, uint8_t *mn) {
    uint32_t u[3];
    memcpy(u, s, 12);
    uint32_t s0 = u[0] & 0x3f3f3f3f, m0 = u[1] & 0x3f3f3f3f;
    uint32_t s1 = (u[2] & 0x0f0f0f0f) | (u[0] >> 6 & 0x03030303) << 4;
    uint32_t m1 = (u[2] >> 4 & 0x0f0f0f0f) | (u[1] >> 6 & 0x03030303) << 4;
    memcpy(sc, &s0, 4);
    memcpy(sc + 4, &s1, 4);
    memcpy(mn, &m0, 4);
    memcpy(mn + 4, &m1, 4);
}

// The float part of a block, for one (row, token): acc + (d_x * d) * isum, then minus
// (d_x * dmin) * msum for Q4_K and Q5_K (dmin = 0 and msum = 0 for Q6_K are skipped: same bits).
#define ACCUMULATE(acc, dx, d, isum) fmaf((dx) * (d), (float)(isum), acc)
#define ACCUMULATE_MIN(acc, dx, dmin, msum) fmaf(-((dx) * (dmin)), (float)(msum), acc)

static inline uint16_t load_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

#if defined(__x86_64__)
// The six-bit values (0..63, the stored q before its -32) of 32 values of each quarter k of a
// Q6_K half: ql0/ql1 its ql bytes 0..31 and 32..63, qh its 32 qh bytes. Value 32k + l takes the
// low (k = 0, 1) or high (k = 2, 3) nibble of ql[l + 32 * (k & 1)] and bits 2k, 2k + 1 of qh[l].
#define Q6_BYTES(k, ql0, ql1, qh, m4, m30)                                                                    \
    ((k) == 0   ? _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)) \
     : (k) == 1 ? _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)) \
     : (k) == 2 ? _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30)) \
                : _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),                            \
                                  _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30)))

#endif

// AVX-512 kernels of one row by ntok tokens (gantry_cpu_k.c), which the AMX variant uses for rows
// outside whole groups of 16 and for calls with few tokens.
void gantry_k_rows_avx512(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs,
                          int64_t blocks, int64_t ntok, float *out, int64_t out_stride);

/** Loads this thread's tile configuration for K-byte sub-blocks of nt tokens, unless loaded. */
void gantry_amx_configure(int k, int nt);
/**
 * The activation rows xq [ntok][cols] laid out as A tiles of k-byte chunks, in a per-thread buffer:
 * tile (t / 16, chunk j) at (t / 16 * (cols / k) + j) * 16 * k, its rows k bytes apart. NULL
 * without memory.
 */
const int8_t *gantry_amx_tile_activations(const int8_t *xq, int64_t ntok, int64_t cols, int k);
/** The same layout written into dst ([(ntok + 15) / 16 * 16][cols] bytes; the rows past ntok are not written). */
void gantry_amx_tile_into(const int8_t *xq, int64_t ntok, int64_t cols, int k, int8_t *dst);
/** The same with a second tile of nt2 tokens (0: none) and a second group of rows (gantry_cpu_amx.c's tiles 3 to 7). */
void gantry_amx_configure2(int k, int nt, int nt2);

/**
 * Q4_K (five = 0) and Q5_K (five = 1) weights packed at load (gantry_cpu_packed_k.c): bytes,
 * packing, and the products of groups g0 .. g1 - 1.
 */
int64_t gantry_packed_q4k_bytes(int64_t rows, int64_t cols, int five);
void gantry_pack_q4k(const uint8_t *w, int64_t row_bytes, int64_t rows, int64_t cols, uint8_t *dst, int five);
void gantry_matmul_packed_q4k(const uint8_t *packed, int64_t g0, int64_t g1, int64_t cols, const int8_t *xq,
                              const int8_t *tiled, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                              int64_t out_stride, int five);
/** Q6_K packed at load (gantry_cpu_packed_q6k.c): bytes, packing, and the products of groups g0 .. g1 - 1. */
int64_t gantry_packed_q6k_bytes(int64_t rows, int64_t cols);
void gantry_pack_q6k(const uint8_t *w, int64_t row_bytes, int64_t rows, int64_t cols, uint8_t *dst);
void gantry_matmul_packed_q6k(const uint8_t *packed, int64_t g0, int64_t g1, int64_t cols, const int8_t *xq,
                              const int8_t *tiled, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                              int64_t out_stride);
int32_t gantry_matmul_q8k(int32_t type, const uint8_t *w, int64_t row_bytes, int64_t row_start, int64_t row_end,
                          int64_t cols, const int8_t *xq, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                          int64_t out_stride, const float *bias);

// How far ahead (bytes) the decode kernels ask for the weights' cache lines: with little work
// per byte, the loads the reorder window holds do not keep the memory busy (a Q4_0 product of 1
// token on 2 threads read 12-17 GB/s of weights without, 23-25 with, beside 24 for a plain read).
// The packed K-quant kernels (2368 to 3392 bytes a block) ask PREFETCH_BLOCKS_L2 blocks ahead and
// into L2 instead (prefetcht1): a block's 37 to 53 requests into L1 at once held up their own loads,
// and on AMD Zen 4 the Q6_K product read 1.4-2x faster from memory, Q5_K 1.4x. Packed Q8_0 keeps
// PREFETCH_AHEAD but into L2 (up to 1.1x); Q4_0's (5 lines a block) ran slower into L2 and keeps L1
// (docs/native-cpu.md, "Huge pages").
enum { PREFETCH_AHEAD = 2048, PREFETCH_BLOCKS_L2 = 2 };

#if defined(__x86_64__)
/**
 * The four products of one chunk of k values on AMX (gantry_amx_configure2's tiles): c[ti * 2 + gi]
 * = A[ti] x B[gi], the exact sums of token tile ti by group gi, for the second group (two_groups)
 * and the second tile of tokens (nt2 > 0) only where there are. B tiles 64 bytes a row, A tiles
 * a_stride; B unsigned bytes, or signed ones (signed_b: Q6_K's q - 32). Independent products, so
 * the tile unit runs one while the others' sums are stored.
 */
__attribute__((target("amx-tile,amx-int8"), always_inline)) static inline void gantry_amx_compute(
    const void *b0, const void *b1, const void *a0, const void *a1, int a_stride, int two_groups, int nt2,
    int signed_b) {
#define DPB(c, a, b) do { if (signed_b) _tile_dpbssd(c, a, b); else _tile_dpbsud(c, a, b); } while (0)
    _tile_loadd(1, b0, 64);
    _tile_loadd(0, a0, a_stride);
    _tile_zero(2);
    DPB(2, 0, 1);
    if (two_groups) {
        _tile_loadd(4, b1, 64);
        _tile_zero(5);
        DPB(5, 0, 4);
    }
    if (nt2) {
        _tile_loadd(3, a1, a_stride);
        _tile_zero(6);
        DPB(6, 3, 1);
        if (two_groups) {
            _tile_zero(7);
            DPB(7, 3, 4);
        }
    }
#undef DPB
}

/** The sums of gantry_amx_compute's products into c. */
__attribute__((target("amx-tile,amx-int8"), always_inline)) static inline void gantry_amx_store_sums(
    int two_groups, int nt2, int32_t (*c)[256]) {
    _tile_stored(2, c[0], 64);
    if (two_groups) _tile_stored(5, c[1], 64);
    if (nt2) _tile_stored(6, c[2], 64);
    if (nt2 && two_groups) _tile_stored(7, c[3], 64);
}

/**
 * The exact integer sums of 16 packed rows with 32 activations y: k-row k (values 4k .. 4k + 3
 * of the 16 rows, unsigned bytes) against activations 4k .. 4k + 3, in four vpdpbusd chains of
 * two (the sums are exact: any order gives the same integers). With two chains of four the
 * chains' latency bounded the batched products on AMD Zen 4, where no AMX takes prefill and B=16
 * (figures in docs/native-cpu.md).
 */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) static inline __m512i gantry_krows_dot(
    const __m512i v[8], const int8_t *y) {
    __m512i a[4];
    for (int k = 0; k < 4; k++) {
        int32_t y4;
        memcpy(&y4, y + 4 * k, 4);
        a[k] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v[k], _mm512_set1_epi32(y4));
    }
    for (int k = 4; k < 8; k++) {
        int32_t y4;
        memcpy(&y4, y + 4 * k, 4);
        a[k - 4] = _mm512_dpbusd_epi32(a[k - 4], v[k], _mm512_set1_epi32(y4));
    }
    return _mm512_add_epi32(_mm512_add_epi32(a[0], a[1]), _mm512_add_epi32(a[2], a[3]));
}

/** The tokens of the two tiles of a pass from token t0: nrows[0] (1..16) and nrows[1] (0..16). */
static inline void gantry_amx_pass_rows(int64_t ntok, int64_t t0, int nrows[2]) {
    nrows[0] = ntok - t0 < 16 ? (int)(ntok - t0) : 16;
    nrows[1] = ntok - t0 <= 16 ? 0 : ntok - t0 - 16 < 16 ? (int)(ntok - t0 - 16) : 16;
}

/** Whether product i of a pass (token tile i >> 1 by group i & 1) exists. */
static inline int gantry_amx_pass_has(int i, int two_groups, const int nrows[2]) {
    return (two_groups || !(i & 1)) && nrows[i >> 1];
}

/**
 * isum[ti * 2 + gi][r] += c[ti * 2 + gi][r] * sc[gi] (16 rows' int32 scales of one chunk) for the
 * groups and token tiles of the pass: the K-quants' exact integer scaling of one chunk's tile sums.
 */
__attribute__((target("avx512f"), always_inline)) static inline void gantry_amx_scale_sums(
    __m512i isum[4][16], int32_t (*c)[256], const __m512i sc[2], int two_groups, const int nrows[2]) {
    for (int i = 0; i < 4; i++) {
        if (!gantry_amx_pass_has(i, two_groups, nrows)) {
            continue;
        }
        for (int r = 0; r < nrows[i >> 1]; r++) {
            isum[i][r] = _mm512_add_epi32(
                isum[i][r], _mm512_mullo_epi32(_mm512_loadu_si512((const void *)(c[i] + 16 * r)), sc[i & 1]));
        }
    }
}

/**
 * Writes the float results of such a pass: acc[ti * 2 + gi][r] (16 rows) for token t0 + 16 ti + r
 * and rows (g + gi) * 16 .. + 15, for the groups and token tiles present (nrows: tokens per tile).
 */
__attribute__((target("avx512f"), always_inline)) static inline void gantry_amx_store(
    float *out, int64_t out_stride, int64_t t0, int64_t g, int two_groups, const int nrows[2], __m512 (*acc)[16]) {
    for (int i = 0; i < 4; i++) {
        const int gi = i & 1, ti = i >> 1;
        if (!gantry_amx_pass_has(i, two_groups, nrows)) {
            continue;
        }
        for (int r = 0; r < nrows[ti]; r++) {
            _mm512_storeu_ps(out + (t0 + 16 * ti + r) * out_stride + (g + gi) * 16, acc[i][r]);
        }
    }
}
#endif

/** Whether this CPU and kernel run AMX tiles (asking the kernel for the tile state once). */
int gantry_amx_usable(void);

/** gantry_matmul_q8k on AMX tiles: for calls of at least AMX_MIN_TOKENS tokens. Same bits as the other variants. */
enum { AMX_MIN_TOKENS = 4 };
void gantry_matmul_q8k_amx(int32_t type, const uint8_t *w, int64_t row_bytes, int64_t row_start, int64_t row_end,
                           int64_t cols, const int8_t *xq, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                           int64_t out_stride);
#endif
