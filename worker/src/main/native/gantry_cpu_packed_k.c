// Q4_K and Q5_K products on weights packed once, at load, for AVX-512 and AMX (variants 4, 5): the
// K-quant counterpart of gantry_cpu_packed.c. Unpacked Q4_K rows must be summed within each row (one row's
// 32 values per instruction, then a horizontal sum), and AMX needs them unpacked and transposed
// into tiles for every call; packed, 16 rows lie side by side and both go straight.
//
// Packed layout, per group of 16 rows and 256-value block (2368 bytes; the file's 16 blocks are
// 2304): for each sub-block s (32 values) 4 pairs of 64 bytes, pair p holding k-rows 2p (low
// nibbles) and 2p + 1 (high), k-row k being values 4k .. 4k + 3 of the sub-block of all 16 rows
// (row n at bytes 4n .. 4n + 3) [2048 bytes]; then u8 sc[8][16], u8 mn[8][16] (the sub-blocks'
// 6-bit scales and mins per row), f16 d[16], f16 dmin[16] as in the file (vcvtph2ps makes them
// the floats of every other kernel exactly; as floats they took 64 bytes more of a block that
// decode streams from memory).
//
// Arithmetic: gantry_cpu_k.h's, exactly (exact isum and msum per block, then ACCUMULATE and
// ACCUMULATE_MIN), so these products have the bits of every other variant's.
#define _GNU_SOURCE
#include "gantry_cpu_k.h"

enum { PK4K_QS = 2048, PK4K_SC = 2048, PK4K_MN = 2176, PK4K_D = 2304, PK4K_DMIN = 2336, PK4K_BYTES = 2368 };
// Q5_K: the same, then the fifth bits [512 bytes]: per sub-block s and k-row k a 64-bit word at
// PK5K_HIGH + (8s + k) * 8 whose bit i is bit 4 of byte i of the k-row (AVX-512's byte masks).
enum { PK5K_HIGH = PK4K_BYTES, PK5K_BYTES = PK4K_BYTES + 512 };

static inline int64_t packed_block_bytes(int five) {
    return five ? PK5K_BYTES : PK4K_BYTES;
}

int64_t gantry_packed_q4k_bytes(int64_t rows, int64_t cols, int five) {
    return rows / 16 * (cols / QK_K) * packed_block_bytes(five);
}

void gantry_pack_q4k(const uint8_t *w, int64_t row_bytes, int64_t rows, int64_t cols, uint8_t *dst, int five) {
    int64_t blocks = cols / QK_K;
    const int64_t pk = packed_block_bytes(five), qs_at = five ? 48 : 16;
    for (int64_t g = 0; g < rows / 16; g++) {
        for (int64_t b = 0; b < blocks; b++) {
            uint8_t *out = dst + (g * blocks + b) * pk;
            memset(out, 0, pk);
            for (int n = 0; n < 16; n++) {
                const uint8_t *blk = w + (g * 16 + n) * row_bytes + b * (five ? Q5_K_BYTES : Q4_K_BYTES);
                uint8_t sc[8], mn[16];
                q4k_scales(blk + 4, sc, mn);
                for (int s = 0; s < 8; s++) {
                    out[PK4K_SC + 16 * s + n] = sc[s];
                    out[PK4K_MN + 16 * s + n] = mn[s];
                }
                memcpy(out + PK4K_D + 2 * n, blk, 2);  // the f16 d and dmin, as stored
                memcpy(out + PK4K_DMIN + 2 * n, blk + 2, 2);
                for (int s = 0; s < 8; s++) {
                    for (int l = 0; l < 32; l++) {
                        uint8_t byte = blk[qs_at + 32 * (s / 2) + l];
                        uint8_t q = s % 2 == 0 ? byte & 0x0f : byte >> 4;
                        int k = l / 4;
                        out[(4 * s + k / 2) * 64 + 4 * n + l % 4] |= (uint8_t)(k % 2 == 0 ? q : q << 4);
                        if (five && (blk[16 + l] >> s & 1)) {  // byte 4n + l % 4 of k-row k
                            out[PK5K_HIGH + (8 * s + k) * 8 + (4 * n + l % 4) / 8] |= (uint8_t)(1 << ((4 * n + l % 4) % 8));
                        }
                    }
                }
            }
        }
    }
}

#if defined(__x86_64__)
#define PK512 "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#define PKAMX "amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"

// The 8 k-rows of sub-block s of a packed block, as unsigned bytes (Q5_K: with their fifth bits).
#define SUB_KROWS(blk, s, v, five)                                                            \
    do {                                                                                      \
        const __m512i m4_ = _mm512_set1_epi8(0x0f);                                           \
        for (int p = 0; p < 4; p++) {                                                         \
            __m512i both = _mm512_loadu_si512((const void *)((blk) + (4 * (s) + p) * 64));    \
            v[2 * p] = _mm512_and_si512(both, m4_);                                           \
            v[2 * p + 1] = _mm512_and_si512(_mm512_srli_epi16(both, 4), m4_);                 \
        }                                                                                     \
        if (five) {                                                                           \
            for (int k_ = 0; k_ < 8; k_++) {                                                  \
                uint64_t high_;                                                               \
                memcpy(&high_, (blk) + PK5K_HIGH + (8 * (s) + k_) * 8, 8);                    \
                v[k_] = _mm512_or_si512(v[k_], _mm512_maskz_mov_epi8(high_, _mm512_set1_epi8(0x10))); \
            }                                                                                 \
        }                                                                                     \
    } while (0)

// The float part of a block for one token over 16 rows: ACCUMULATE, ACCUMULATE_MIN in 16 lanes.
// d, ndmin: the rows' d and -dmin (dx * -dmin is -(dx * dmin), bit for bit).
__attribute__((target(PK512))) static inline __m512 block_float(__m512 acc, float dx, __m512 d, __m512 ndmin,
                                                               __m512i isum, __m512i msum) {
    __m512 dxv = _mm512_set1_ps(dx);
    acc = _mm512_fmadd_ps(_mm512_mul_ps(dxv, d), _mm512_cvtepi32_ps(isum), acc);
    return _mm512_fmadd_ps(_mm512_mul_ps(dxv, ndmin), _mm512_cvtepi32_ps(msum), acc);
}

__attribute__((target(PK512))) static inline __m512 block_d(const uint8_t *blk) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + PK4K_D)));
}

__attribute__((target(PK512))) static inline __m512 block_ndmin(const uint8_t *blk) {
    return _mm512_sub_ps(_mm512_setzero_ps(), _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + PK4K_DMIN))));
}

// The block's 8 mins of the 16 rows as 4 pairs of 16-bit values (lane r of pair p: mn[2p][r] in the
// low half, mn[2p + 1][r] in the high one): operands of vpdpwssd, which multiplies a pair of
// sub-blocks at a time where vpmulld took one (two uops, on one port) and a broadcast.
__attribute__((target(PK512))) static inline void block_min_pairs(const uint8_t *blk, __m512i mp[4]) {
    for (int p = 0; p < 4; p++) {
        __m512i lo = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + PK4K_MN + 32 * p)));
        __m512i hi = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + PK4K_MN + 32 * p + 16)));
        mp[p] = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
    }
}

// Per token and block, its 8 sub-block sums (each two 16-value sums of xs) as 4 pairs of 16-bit
// values in one 32-bit word each, vpdpwssd's other operand: made once per call, where every
// group of rows made them again for every token (scalar loads, adds and a broadcast per pair).
// pairs: [ntok][blocks][4].
static void sub_block_pairs(const int16_t *xs, int64_t ntok, int64_t blocks, int32_t *pairs) {
    for (int64_t i = 0; i < ntok * blocks; i++) {
        const int16_t *bs = xs + i * 16;
        for (int p = 0; p < 4; p++) {
            int32_t lo = bs[4 * p] + bs[4 * p + 1], hi = bs[4 * p + 2] + bs[4 * p + 3];
            pairs[i * 4 + p] = (int32_t)(((uint32_t)hi << 16) | (uint16_t)lo);
        }
    }
}

// msum of one token over 16 rows: sum over sub-blocks of mn * (the token's sub-block sum), exact
// (a sub-block's sum is at most 32 * 128 in magnitude: a 16-bit operand). pair: the token's 4
// words for the block (sub_block_pairs).
__attribute__((target(PK512))) static inline __m512i block_msum(const __m512i mp[4], const int32_t *pair) {
    __m512i msum = _mm512_setzero_si512();
    for (int p = 0; p < 4; p++) {
        msum = _mm512_dpwssd_epi32(msum, mp[p], _mm512_set1_epi32(pair[p]));
    }
    return msum;
}

// One group by NT (1..4) tokens on AVX-512: 16 rows' sums per vpdpbusd, no horizontal sums.
__attribute__((target(PK512), always_inline)) static inline void group_avx512(const uint8_t *g, int64_t blocks,
                                                                             int64_t cols, const int8_t *xq,
                                                                             const float *xd, const int32_t *pairs,
                                                                             int64_t t0, const int NT, float *out,
                                                                             int64_t out_stride, const int five) {
    const int64_t pk = packed_block_bytes(five);
    __m512 acc[4];
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < blocks; b++, g += pk) {
        for (int64_t o = 0; o < pk; o += 64) {  // blocks ahead, into L2 (gantry_cpu_k.h, PREFETCH_BLOCKS_L2)
            _mm_prefetch((const char *)g + PREFETCH_BLOCKS_L2 * pk + o, _MM_HINT_T1);
        }
        __m512i isum[4];
        for (int t = 0; t < NT; t++) {
            isum[t] = _mm512_setzero_si512();
        }
        for (int s = 0; s < 8; s++) {
            __m512i v[8];
            SUB_KROWS(g, s, v, five);
            __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(g + PK4K_SC + 16 * s)));
            for (int t = 0; t < NT; t++) {
                const int8_t *y = xq + (t0 + t) * cols + b * QK_K + 32 * s;
                isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(gantry_krows_dot(v, y), sc));
            }
        }
        __m512i mp[4];
        block_min_pairs(g, mp);
        const __m512 d = block_d(g), ndmin = block_ndmin(g);
        for (int t = 0; t < NT; t++) {
            int64_t tok = t0 + t;
            acc[t] = block_float(acc[t], xd[tok * blocks + b], d, ndmin, isum[t], block_msum(mp, pairs + (tok * blocks + b) * 4));
        }
    }
    for (int t = 0; t < NT; t++) {
        _mm512_storeu_ps(out + (t0 + t) * out_stride, acc[t]);
    }
}

__attribute__((target(PK512))) static void groups_avx512(const uint8_t *packed, int64_t g0, int64_t g1, int64_t cols,
                                                          const int8_t *xq, const float *xd, const int32_t *pairs,
                                                          int64_t ntok, float *out, int64_t out_stride, int five) {
    int64_t blocks = cols / QK_K;
    for (int64_t g = g0; g < g1; g++) {
        const uint8_t *gp = packed + g * blocks * packed_block_bytes(five);
        int64_t t = 0;
        for (; t + 4 <= ntok; t += 4) {
            if (five) group_avx512(gp, blocks, cols, xq, xd, pairs, t, 4, out + g * 16, out_stride, 1);
            else group_avx512(gp, blocks, cols, xq, xd, pairs, t, 4, out + g * 16, out_stride, 0);
        }
        for (; t < ntok; t++) {
            if (five) group_avx512(gp, blocks, cols, xq, xd, pairs, t, 1, out + g * 16, out_stride, 1);
            else group_avx512(gp, blocks, cols, xq, xd, pairs, t, 1, out + g * 16, out_stride, 0);
        }
    }
}

// Up to two groups of 16 rows by up to two tiles of 16 tokens per pass (gantry_cpu_amx.c's tiles
// 0 to 7), as gantry_cpu_packed.c: per sub-block four independent tdpbsud, their B tiles unpacked
// from the packed nibbles (no transposition: they are packed in tile order), the activations read
// as laid out for tiles (gantry_amx_tile_activations).
__attribute__((target(PKAMX))) static void groups_amx(const uint8_t *packed, int64_t g0, int64_t g1, int64_t cols,
                                                       const int8_t *xq, const int8_t *tiled_in, const float *xd,
                                                       const int32_t *pairs, int64_t ntok, float *out, int64_t out_stride,
                                                       int five) {
    int64_t blocks = cols / QK_K;
    const int64_t pk = packed_block_bytes(five);
    const int8_t *tiled = tiled_in ? tiled_in : gantry_amx_tile_activations(xq, ntok, cols, 32);
    if (!tiled) {
        groups_avx512(packed, g0, g1, cols, xq, xd, pairs, ntok, out, out_stride, five);
        return;
    }
    uint8_t tile[2][2][512];  // [sub-block % 2][group]: B tiles
    int32_t c[4][256];        // [token tile * 2 + group][16 tokens][16 rows] exact sums of one sub-block
    __m512i isum[4][16];  // [token tile * 2 + group][token]: 16 rows' isum of the block
    __m512 acc[4][16];
    for (int64_t g = g0; g < g1; g += 2) {
        const int two_groups = g + 1 < g1;
        const uint8_t *gp[2] = {packed + g * blocks * pk, packed + (g + two_groups) * blocks * pk};
        for (int64_t t0 = 0; t0 < ntok; t0 += 32) {
            int nrows[2];
            gantry_amx_pass_rows(ntok, t0, nrows);
            const int nt = nrows[0], nt2 = nrows[1];
            gantry_amx_configure2(32, nt, nt2);
            const int lag = nt2 == 0;
            for (int i = 0; i < 4; i++) {
                for (int r = 0; r < 16; r++) acc[i][r] = _mm512_setzero_ps();
            }
            const int8_t *a = tiled + t0 * cols;  // tile (t0 / 16, chunk j) at a + j * 512
            for (int64_t b = 0; b < blocks; b++) {
                const uint8_t *blk[2] = {gp[0] + b * pk, gp[1] + b * pk};
                // few tokens do little work a byte, as decode: lines ahead (first pass only: later ones find them cached)
                for (int gi = 0; gi <= two_groups && t0 == 0; gi++) {
                    for (int64_t o = 0; o < pk; o += 64) {
                        _mm_prefetch((const char *)blk[gi] + PREFETCH_AHEAD + o, _MM_HINT_T0);
                    }
                }
                for (int i = 0; i < 4; i++) {
                    for (int r = 0; r < 16; r++) isum[i][r] = _mm512_setzero_si512();
                }
                // With one tile of tokens (B=16 decode), sub-block s's tile products run while
                // AVX-512 scales sub-block s - 1's sums, which are read before s's are stored (lag
                // 1): loads after a tile store in program order waited for it, and with it for the
                // products, so the two units took turns (figures: docs/native-cpu.md). With two
                // tiles the sums are scaled as soon as stored (lag 0), which was as fast or faster.
                for (int s = 0; s <= 8; s++) {
                    if (s < 8) {
                        for (int gi = 0; gi <= two_groups; gi++) {
                            __m512i v[8];
                            SUB_KROWS(blk[gi], s, v, five);
                            for (int k = 0; k < 8; k++) _mm512_storeu_si512((void *)(tile[s & 1][gi] + 64 * k), v[k]);
                        }
                        const int64_t j = b * 8 + s;
                        gantry_amx_compute(tile[s & 1][0], tile[s & 1][1], a + j * 512, a + 16 * cols + j * 512, 32,
                                           two_groups, nt2, 0);
                        if (!lag) {
                            gantry_amx_store_sums(two_groups, nt2, c);
                        }
                    }
                    const int k = s - lag;  // the sub-block whose sums are scaled now
                    if (k >= 0 && k < 8) {
                        const __m512i sc[2] = {
                            _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk[0] + PK4K_SC + 16 * k))),
                            _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk[1] + PK4K_SC + 16 * k)))};
                        gantry_amx_scale_sums(isum, c, sc, two_groups, nrows);
                    }
                    if (lag && s < 8) {
                        gantry_amx_store_sums(two_groups, nt2, c);
                    }
                }
                __m512i mp[2][4];
                block_min_pairs(blk[0], mp[0]);
                block_min_pairs(blk[1], mp[1]);
                const __m512 d[2] = {block_d(blk[0]), block_d(blk[1])};
                const __m512 ndmin[2] = {block_ndmin(blk[0]), block_ndmin(blk[1])};
                for (int i = 0; i < 4; i++) {
                    const int gi = i & 1, ti = i >> 1;
                    if (!gantry_amx_pass_has(i, two_groups, nrows)) {
                        continue;
                    }
                    for (int r = 0; r < nrows[ti]; r++) {
                        int64_t tok = t0 + 16 * ti + r;
                        acc[i][r] = block_float(acc[i][r], xd[tok * blocks + b], d[gi], ndmin[gi], isum[i][r],
                                                block_msum(mp[gi], pairs + (tok * blocks + b) * 4));
                    }
                }
            }
            gantry_amx_store(out, out_stride, t0, g, two_groups, nrows, acc);
        }
    }
}

void gantry_matmul_packed_q4k(const uint8_t *packed, int64_t g0, int64_t g1, int64_t cols, const int8_t *xq,
                              const int8_t *tiled, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                              int64_t out_stride, int five) {
    enum { STACK_PAIRS = 4096 };
    int32_t stack_pairs[STACK_PAIRS];
    const int64_t blocks = cols / QK_K, per_token = blocks * 4;
    int32_t *pairs = ntok * per_token <= STACK_PAIRS ? stack_pairs : malloc(sizeof(int32_t) * (size_t)(ntok * per_token));
    int64_t slice = ntok;  // tokens per pass over the rows: all of them, or as many as the stack holds without memory
    if (!pairs) {
        pairs = stack_pairs;
        slice = STACK_PAIRS / per_token > 0 ? STACK_PAIRS / per_token : 1;
        tiled = NULL;
    }
    for (int64_t t = 0; t < ntok; t += slice) {
        int64_t n = ntok - t < slice ? ntok - t : slice;
        sub_block_pairs(xs + t * (cols / 16), n, blocks, pairs);
        const int8_t *x = xq + t * cols;
        const float *d = xd + t * blocks;
        if (gantry_k_amx && n >= AMX_MIN_TOKENS) {
            groups_amx(packed, g0, g1, cols, x, tiled, d, pairs, n, out + t * out_stride, out_stride, five);
        } else {
            groups_avx512(packed, g0, g1, cols, x, d, pairs, n, out + t * out_stride, out_stride, five);
        }
    }
    if (pairs != stack_pairs) {
        free(pairs);
    }
}
#endif
