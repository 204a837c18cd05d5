// The K-quant products (Q4_K, Q5_K and Q6_K weights, the types of the Q4_K_M and Q5_K_M files
// most models are published in) with activations quantized to 8 bits in blocks of 256, as llama.cpp's CPU backend
// computes them: ggml's Q8_K activation blocks, integer dot products per 16 or 32 values scaled by
// the weight's integer sub-block scales and summed in 32-bit integers, then one float
// multiply-add per 256-value block and token.
//
// Layouts (ggml's):
//   Q4_K block (144 bytes): f16 d, f16 dmin, u8 scales[12] (eight 6-bit scales and eight 6-bit
//     mins), u8 qs[128]; value 64j + l (l < 32) is the low nibble of qs[32j + l], value
//     64j + 32 + l its high nibble; w = d * sc * q - dmin * m, sc and m those of the 32 values.
//   Q5_K block (176 bytes): f16 d, f16 dmin, u8 scales[12] (as Q4_K's), u8 qh[32], u8 qs[128];
//     Q4_K's nibbles with a fifth bit each: bit 2j of qh[l] above value 64j + l's, bit 2j + 1
//     above value 64j + 32 + l's.
//   Q6_K block (210 bytes): u8 ql[128], u8 qh[64], i8 scales[16], f16 d; w = d * sc * (q - 32),
//     one scale per 16 values; the bits of value 128h + 32k + l (l < 32) are described at
//     Q6_BYTES below.
//   Q8_K activations: int8 q[cols]; float d[cols / 256]; int16 bsums[cols / 16], the sums of
//     each 16 q.
//
// Every variant computes each (weight row, token) product with the same arithmetic, so a token
// gets the same bits alone and in a batch, and every variant (SIMD width, AMX tiles) the same bits
// as the plain C one: per 256-value block the integer sums are exact (isum = sum over sub-blocks
// of scale * sum(q * q_x); Q4_K's msum = sum of min * the activations' sums), and the float part
// is, block after block, ACCUMULATE below, in one fixed order (the build keeps the compiler from
// contracting or reordering it: -ffp-contract=off, no -ffast-math).
#include "gantry_cpu_k.h"



// ---- quantizing activation rows to Q8_K: ggml's quantize_row_q8_K_ref (scale -127 / the value of
// largest magnitude, ties to even, 127 at most; d its inverse, a float; all-zero blocks stay 0)

void gantry_quantize_q8_k(const float *x, int64_t rows, int64_t cols, int8_t *q, float *d, int16_t *bsums) {
#if defined(__x86_64__)
    if (gantry_packed_variant) {  // AVX-512: the same integers
        gantry_quantize_q8_k_avx512(x, rows, cols, q, d, bsums);
        return;
    }
#endif
    for (int64_t b = 0; b < rows * (cols / QK_K); b++) {
        const float *v = x + b * QK_K;
        int8_t *out = q + b * QK_K;
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++) {
            float ax = fabsf(v[j]);
            if (ax > amax) {
                amax = ax;
                max = v[j];
            }
        }
        float iscale = amax != 0 ? -127.0f / max : 0.0f;
        if (isinf(iscale)) {  // below ~1e-38 ggml's integers overflow; such a block adds nothing
            iscale = 0;
        }
        for (int j = 0; j < QK_K; j++) {
            long i = lrintf(iscale * v[j]);
            out[j] = (int8_t)(i > 127 ? 127 : i);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) {
                sum += out[g * 16 + j];
            }
            bsums[b * (QK_K / 16) + g] = (int16_t)sum;
        }
        d[b] = iscale != 0 ? 1 / iscale : 0;
    }
}

// ---- plain C: the statement of the products (and the variant for CPUs without AVX2)

// Q4_K, or Q5_K (five): the same with a fifth bit per value from qh.
static float q4k_dot_scalar(const uint8_t *w, const int8_t *y, const float *yd, const int16_t *ys, int64_t blocks,
                            int five) {
    float sum = 0;
    for (int64_t b = 0; b < blocks; b++, w += five ? Q5_K_BYTES : Q4_K_BYTES, y += QK_K) {
        uint8_t sc[8], mn[8];
        q4k_scales(w + 4, sc, mn);
        const uint8_t *qh = w + 16, *qs = w + (five ? 48 : 16);
        int32_t isum = 0, msum = 0;
        for (int j = 0; j < 4; j++) {
            int32_t lo = 0, hi = 0;
            for (int l = 0; l < 32; l++) {
                int hl = five ? (qh[l] >> (2 * j) & 1) << 4 : 0, hh = five ? (qh[l] >> (2 * j + 1) & 1) << 4 : 0;
                lo += ((qs[32 * j + l] & 0x0f) | hl) * y[64 * j + l];
                hi += ((qs[32 * j + l] >> 4) | hh) * y[64 * j + 32 + l];
            }
            isum += sc[2 * j] * lo + sc[2 * j + 1] * hi;
        }
        for (int i = 0; i < 8; i++) {
            msum += mn[i] * (ys[b * 16 + 2 * i] + ys[b * 16 + 2 * i + 1]);
        }
        sum = ACCUMULATE(sum, yd[b], f16_to_f32(load_u16(w)), isum);
        sum = ACCUMULATE_MIN(sum, yd[b], f16_to_f32(load_u16(w + 2)), msum);
    }
    return sum;
}

static float q6k_dot_scalar(const uint8_t *w, const int8_t *y, const float *yd, int64_t blocks) {
    float sum = 0;
    for (int64_t b = 0; b < blocks; b++, w += Q6_K_BYTES, y += QK_K) {
        const int8_t *sc = (const int8_t *)(w + 192);
        int32_t isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
            const int8_t *yy = y + 128 * h;
            for (int l = 0; l < 32; l++) {
                int s = 8 * h + l / 16;
                isum += sc[s] * (((ql[l] & 0x0f) | (qh[l] & 3) << 4) - 32) * yy[l];
                isum += sc[s + 2] * (((ql[l + 32] & 0x0f) | (qh[l] >> 2 & 3) << 4) - 32) * yy[l + 32];
                isum += sc[s + 4] * (((ql[l] >> 4) | (qh[l] >> 4 & 3) << 4) - 32) * yy[l + 64];
                isum += sc[s + 6] * (((ql[l + 32] >> 4) | (qh[l] >> 6) << 4) - 32) * yy[l + 96];
            }
        }
        sum = ACCUMULATE(sum, yd[b], f16_to_f32(load_u16(w + 208)), isum);
    }
    return sum;
}

void gantry_k_rows_scalar(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs,
                          int64_t blocks, int64_t ntok, float *out, int64_t out_stride) {
    for (int64_t t = 0; t < ntok; t++) {
        const int8_t *y = xq + t * blocks * QK_K;
        const float *yd = xd + t * blocks;
        out[t * out_stride] = type == TYPE_Q6_K ? q6k_dot_scalar(w, y, yd, blocks)
                                                : q4k_dot_scalar(w, y, yd, xs + t * blocks * 16, blocks, type == TYPE_Q5_K);
    }
}

#if defined(__x86_64__)

// ---- AVX2 and VNNI. Per 32 weight values: vpmaddubsw (unsigned weight bytes by signed
// activation bytes, adjacent pairs summed to 16 bits: at most 2 * 63 * 127, no saturation) then
// the pairs times the sub-block scale summed into 32-bit lanes: vpmaddwd + vpaddd with AVX2, one
// vpdpwssd with VNNI. Tokens come 4 at a time, sharing each block's loads and unpacking.

#define DPW_AVX2(acc, p, s) _mm256_add_epi32(acc, _mm256_madd_epi16(p, s))
#define DPW_VNNI(acc, p, s) _mm256_dpwssd_avx_epi32(acc, p, s)
#define DPW_VNNI512(acc, p, s) _mm256_dpwssd_epi32(acc, p, s)

#define DEFINE_K_ROWS(NAME, TARGET, DPW)                                                                      \
    /* the exact integer sum of 8 lanes */                                                                    \
    __attribute__((target(TARGET))) static inline int32_t NAME##_hsum(__m256i v) {                            \
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));                 \
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));                                                     \
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));                                                     \
        return _mm_cvtsi128_si32(s);                                                                          \
    }                                                                                                         \
                                                                                                              \
    /* One Q4_K (FIVE = 0) or Q5_K (FIVE = 1) row by NT (1..4) tokens: y[t] their q, yd[t] their d, */     \
    /* ys[t] their bsums. */                                                                                  \
    __attribute__((target(TARGET), always_inline)) static inline void NAME##_q4k(                            \
        const uint8_t *w, int64_t blocks, const int8_t *const *y, const float *const *yd,                      \
        const int16_t *const *ys, const int NT, const int FIVE, float *res) {                                 \
        const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);                                \
        const int64_t block_bytes = FIVE ? Q5_K_BYTES : Q4_K_BYTES, qs_at = FIVE ? 48 : 16;                   \
        float acc[4];                                                                                         \
        for (int t = 0; t < NT; t++) {                                                                        \
            acc[t] = 0;                                                                                       \
        }                                                                                                     \
        for (int64_t b = 0; b < blocks; b++, w += block_bytes) {                                              \
            uint8_t sc[8], mn[16];                                                                            \
            q4k_scales(w + 4, sc, mn);                                                                        \
            float dw = _cvtsh_ss(load_u16(w)), dmin = _cvtsh_ss(load_u16(w + 2));                             \
            /* each min twice, as 16-bit lanes: mins[2i] = mins[2i + 1] = mn[i], against the 16 bsums */      \
            __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)mn),        \
                                                                 _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7))); \
            __m256i isum[4];                                                                                  \
            for (int t = 0; t < NT; t++) {                                                                    \
                isum[t] = _mm256_setzero_si256();                                                             \
            }                                                                                                 \
            for (int j = 0; j < 4; j++) {                                                                     \
                __m256i bits = _mm256_loadu_si256((const __m256i *)(w + qs_at + 32 * j));                     \
                __m256i lo = _mm256_and_si256(bits, m4);                                                      \
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);                                \
                if (FIVE) { /* the fifth bits: 2j and 2j + 1 of qh[l], as 16 */                               \
                    __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 16));                               \
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(                                               \
                                                 _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4));    \
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(                                               \
                                                 _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4)); \
                }                                                                                             \
                __m256i slo = _mm256_set1_epi16(sc[2 * j]), shi = _mm256_set1_epi16(sc[2 * j + 1]);           \
                for (int t = 0; t < NT; t++) {                                                                \
                    const int8_t *yy = y[t] + b * QK_K + 64 * j;                                              \
                    isum[t] = DPW(isum[t], _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)yy)), slo); \
                    isum[t] = DPW(isum[t], _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(yy + 32))), shi); \
                }                                                                                             \
            }                                                                                                 \
            for (int t = 0; t < NT; t++) {                                                                    \
                __m256i msum = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)(ys[t] + b * 16))); \
                acc[t] = ACCUMULATE(acc[t], yd[t][b], dw, NAME##_hsum(isum[t]));                              \
                acc[t] = ACCUMULATE_MIN(acc[t], yd[t][b], dmin, NAME##_hsum(msum));                           \
            }                                                                                                 \
        }                                                                                                     \
        for (int t = 0; t < NT; t++) {                                                                        \
            res[t] = acc[t];                                                                                  \
        }                                                                                                     \
    }                                                                                                         \
                                                                                                              \
    /* One Q6_K row by NT (1..4) tokens. The -32 of every value is taken off once per block: */              \
    /* 32 * sum(sc * bsum), from the activations' 16-value sums. */                                           \
    __attribute__((target(TARGET), always_inline)) static inline void NAME##_q6k(                            \
        const uint8_t *w, int64_t blocks, const int8_t *const *y, const float *const *yd,                      \
        const int16_t *const *ys, const int NT, float *res) {                                                 \
        const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);                              \
        float acc[4];                                                                                         \
        for (int t = 0; t < NT; t++) {                                                                        \
            acc[t] = 0;                                                                                       \
        }                                                                                                     \
        for (int64_t b = 0; b < blocks; b++, w += Q6_K_BYTES) {                                               \
            const int8_t *sc = (const int8_t *)(w + 192);                                                     \
            float dw = _cvtsh_ss(load_u16(w + 208));                                                          \
            __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));                        \
            __m256i isum[4];                                                                                  \
            for (int t = 0; t < NT; t++) {                                                                    \
                isum[t] = _mm256_setzero_si256();                                                             \
            }                                                                                                 \
            for (int h = 0; h < 2; h++) {                                                                     \
                __m256i ql0 = _mm256_loadu_si256((const __m256i *)(w + 64 * h));                              \
                __m256i ql1 = _mm256_loadu_si256((const __m256i *)(w + 64 * h + 32));                         \
                __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * h));                         \
                for (int k = 0; k < 4; k++) {                                                                 \
                    __m256i q = Q6_BYTES(k, ql0, ql1, qh, m4, m30);                                           \
                    /* values 0..15 of the 32 take scale 8h + 2k, values 16..31 the next */                   \
                    __m256i s = _mm256_setr_m128i(_mm_set1_epi16(sc[8 * h + 2 * k]),                          \
                                                  _mm_set1_epi16(sc[8 * h + 2 * k + 1]));                     \
                    for (int t = 0; t < NT; t++) {                                                            \
                        const int8_t *yy = y[t] + b * QK_K + 128 * h + 32 * k;                                \
                        isum[t] = DPW(isum[t], _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)yy)), s); \
                    }                                                                                         \
                }                                                                                             \
            }                                                                                                 \
            for (int t = 0; t < NT; t++) {                                                                    \
                /* 32 * sum(sc * bsum) in 8 lanes, taken off the lanes of the integer sum */                 \
                __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)(ys[t] + b * 16)));  \
                __m256i exact = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(off, 5));                         \
                acc[t] = ACCUMULATE(acc[t], yd[t][b], dw, NAME##_hsum(exact));                                \
            }                                                                                                 \
        }                                                                                                     \
        for (int t = 0; t < NT; t++) {                                                                        \
            res[t] = acc[t];                                                                                  \
        }                                                                                                     \
    }                                                                                                         \
                                                                                                              \
    __attribute__((target(TARGET))) void gantry_k_rows_##NAME(                                                \
        int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs, int64_t blocks, \
        int64_t ntok, float *out, int64_t out_stride) {                                                       \
        int64_t t = 0;                                                                                        \
        for (; t < ntok; t += 4) {                                                                            \
            const int8_t *y[4];                                                                               \
            const float *yd[4];                                                                               \
            const int16_t *ys[4];                                                                             \
            float res[4];                                                                                     \
            int n = ntok - t < 4 ? (int)(ntok - t) : 4;                                                       \
            for (int i = 0; i < n; i++) {                                                                     \
                y[i] = xq + (t + i) * blocks * QK_K;                                                          \
                yd[i] = xd + (t + i) * blocks;                                                                \
                ys[i] = xs + (t + i) * blocks * 16;                                                           \
            }                                                                                                 \
            if (type == TYPE_Q4_K) {                                                                          \
                if (n == 4) NAME##_q4k(w, blocks, y, yd, ys, 4, 0, res);                                      \
                else for (int i = 0; i < n; i++) NAME##_q4k(w, blocks, y + i, yd + i, ys + i, 1, 0, res + i); \
            } else if (type == TYPE_Q5_K) {                                                                   \
                if (n == 4) NAME##_q4k(w, blocks, y, yd, ys, 4, 1, res);                                      \
                else for (int i = 0; i < n; i++) NAME##_q4k(w, blocks, y + i, yd + i, ys + i, 1, 1, res + i); \
            } else {                                                                                          \
                if (n == 4) NAME##_q6k(w, blocks, y, yd, ys, 4, res);                                         \
                else for (int i = 0; i < n; i++) NAME##_q6k(w, blocks, y + i, yd + i, ys + i, 1, res + i);    \
            }                                                                                                 \
            for (int i = 0; i < n; i++) {                                                                     \
                out[(t + i) * out_stride] = res[i];                                                           \
            }                                                                                                 \
        }                                                                                                     \
    }

// ---- AVX-512 (512-bit): 64 weight values per instruction. A Q4_K pair of sub-blocks (the low
// and high nibbles of 32 bytes) and a Q6_K pair of quarters are each 64 consecutive values, so one
// vpmaddubsw and one vpdpwssd take them against 64 activation bytes; the scales, one per 32 or 16
// values, are spread over the 16-bit lanes they cover. The 16 integer lanes are folded to 8
// (exactly) before the float part, which is the 256-bit variants'.

#define K512 "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#ifndef TILE512
#define TILE512 8  // tokens sharing each block's unpacking: 32 registers hold 8 tokens' accumulators
#endif

__attribute__((target(K512))) static inline int32_t hsum256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target(K512))) static inline __m256i fold512(__m512i v) {
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

// One Q4_K (FIVE = 0) or Q5_K (FIVE = 1) row by NT tokens.
__attribute__((target(K512), always_inline)) static inline void q4k_512(const uint8_t *w, int64_t blocks,
                                                                        const int8_t *const *y, const float *const *yd,
                                                                        const int16_t *const *ys, const int NT,
                                                                        const int FIVE, float *res) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), one = _mm512_set1_epi8(1);
    const int64_t block_bytes = FIVE ? Q5_K_BYTES : Q4_K_BYTES, qs_at = FIVE ? 48 : 16;
    float acc[TILE512];
    for (int t = 0; t < NT; t++) {
        acc[t] = 0;
    }
    for (int64_t b = 0; b < blocks; b++, w += block_bytes) {
        for (int o = 0; o < block_bytes; o += 64) {  // rows lie one after another: the next ones
            _mm_prefetch((const char *)w + PREFETCH_AHEAD + o, _MM_HINT_T0);
        }
        uint8_t sc[8], mn[16];
        q4k_scales(w + 4, sc, mn);
        float dw = _cvtsh_ss(load_u16(w)), dmin = _cvtsh_ss(load_u16(w + 2));
        __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)mn),
                                                             _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)));
        __m512i isum[TILE512];
        for (int t = 0; t < NT; t++) {
            isum[t] = _mm512_setzero_si512();
        }
        for (int j = 0; j < 4; j++) {
            __m256i bits = _mm256_loadu_si256((const __m256i *)(w + qs_at + 32 * j));
            // values 64j .. 64j + 63: the low nibbles, then the high ones
            __m512i q = _mm512_and_si512(
                _mm512_inserti64x4(_mm512_castsi256_si512(bits), _mm256_srli_epi16(bits, 4), 1), m4);
            if (FIVE) {  // their fifth bits: 2j (low nibbles) and 2j + 1 (high) of qh[l], as 16
                __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 16));
                __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(qh, 2 * j)),
                                               _mm256_srli_epi16(qh, 2 * j + 1), 1);
                q = _mm512_or_si512(q, _mm512_slli_epi16(_mm512_and_si512(h, one), 4));
            }
            __m512i s = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(sc[2 * j])),
                                           _mm256_set1_epi16(sc[2 * j + 1]), 1);
            for (int t = 0; t < NT; t++) {
                __m512i yy = _mm512_loadu_si512((const void *)(y[t] + b * QK_K + 64 * j));
                isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(q, yy), s);
            }
        }
        for (int t = 0; t < NT; t++) {
            __m256i msum = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)(ys[t] + b * 16)));
            acc[t] = ACCUMULATE(acc[t], yd[t][b], dw, hsum256(fold512(isum[t])));
            acc[t] = ACCUMULATE_MIN(acc[t], yd[t][b], dmin, hsum256(msum));
        }
    }
    for (int t = 0; t < NT; t++) {
        res[t] = acc[t];
    }
}

__attribute__((target(K512), always_inline)) static inline void q6k_512(const uint8_t *w, int64_t blocks,
                                                                        const int8_t *const *y, const float *const *yd,
                                                                        const int16_t *const *ys, const int NT,
                                                                        float *res) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    // 16-bit lane i of the scales of quarter pair p (64 values) takes scale 4p + i / 8
    __m512i spread[4];
    for (int p = 0; p < 4; p++) {
        int16_t idx[32];
        for (int i = 0; i < 32; i++) {
            idx[i] = (int16_t)(4 * p + i / 8);
        }
        spread[p] = _mm512_loadu_si512((const void *)idx);
    }
    float acc[TILE512];
    for (int t = 0; t < NT; t++) {
        acc[t] = 0;
    }
    for (int64_t b = 0; b < blocks; b++, w += Q6_K_BYTES) {
        for (int o = 0; o < Q6_K_BYTES; o += 64) {  // rows lie one after another: the next ones
            _mm_prefetch((const char *)w + PREFETCH_AHEAD + o, _MM_HINT_T0);
        }
        float dw = _cvtsh_ss(load_u16(w + 208));
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 192)));
        __m512i sc512 = _mm512_castsi256_si512(sc16);
        __m512i isum[TILE512];
        for (int t = 0; t < NT; t++) {
            isum[t] = _mm512_setzero_si512();
        }
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = _mm256_loadu_si256((const __m256i *)(w + 64 * h));
            __m256i ql1 = _mm256_loadu_si256((const __m256i *)(w + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * h));
            __m512i q01 = _mm512_inserti64x4(_mm512_castsi256_si512(Q6_BYTES(0, ql0, ql1, qh, m4, m30)),
                                             Q6_BYTES(1, ql0, ql1, qh, m4, m30), 1);
            __m512i q23 = _mm512_inserti64x4(_mm512_castsi256_si512(Q6_BYTES(2, ql0, ql1, qh, m4, m30)),
                                             Q6_BYTES(3, ql0, ql1, qh, m4, m30), 1);
            __m512i s01 = _mm512_permutexvar_epi16(spread[2 * h], sc512);
            __m512i s23 = _mm512_permutexvar_epi16(spread[2 * h + 1], sc512);
            for (int t = 0; t < NT; t++) {
                const int8_t *yy = y[t] + b * QK_K + 128 * h;
                isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(q01, _mm512_loadu_si512((const void *)yy)), s01);
                isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(q23, _mm512_loadu_si512((const void *)(yy + 64))), s23);
            }
        }
        for (int t = 0; t < NT; t++) {
            __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)(ys[t] + b * 16)));
            __m256i exact = _mm256_sub_epi32(fold512(isum[t]), _mm256_slli_epi32(off, 5));
            acc[t] = ACCUMULATE(acc[t], yd[t][b], dw, hsum256(exact));
        }
    }
    for (int t = 0; t < NT; t++) {
        res[t] = acc[t];
    }
}

__attribute__((target(K512))) void gantry_k_rows_avx512(int32_t type, const uint8_t *w, const int8_t *xq,
                                                        const float *xd, const int16_t *xs, int64_t blocks,
                                                        int64_t ntok, float *out, int64_t out_stride) {
    for (int64_t t = 0; t < ntok; t += TILE512) {
        const int8_t *y[TILE512];
        const float *yd[TILE512];
        const int16_t *ys[TILE512];
        float res[TILE512];
        int n = ntok - t < TILE512 ? (int)(ntok - t) : TILE512;
        for (int i = 0; i < n; i++) {
            y[i] = xq + (t + i) * blocks * QK_K;
            yd[i] = xd + (t + i) * blocks;
            ys[i] = xs + (t + i) * blocks * 16;
        }
        if (type == TYPE_Q4_K || type == TYPE_Q5_K) {
            const int five = type == TYPE_Q5_K;
            if (n == TILE512) q4k_512(w, blocks, y, yd, ys, TILE512, five, res);
            else for (int i = 0; i < n; i++) q4k_512(w, blocks, y + i, yd + i, ys + i, 1, five, res + i);
        } else {
            if (n == TILE512) q6k_512(w, blocks, y, yd, ys, TILE512, res);
            else for (int i = 0; i < n; i++) q6k_512(w, blocks, y + i, yd + i, ys + i, 1, res + i);
        }
        for (int i = 0; i < n; i++) {
            out[(t + i) * out_stride] = res[i];
        }
    }
}

DEFINE_K_ROWS(avx2, "avx2,fma,f16c", DPW_AVX2)
DEFINE_K_ROWS(vnni, "avx2,fma,f16c,avxvnni", DPW_VNNI)
DEFINE_K_ROWS(vnni512, "avx2,fma,f16c,avx512vnni,avx512vl", DPW_VNNI512)
#endif

/**
 * out[t * out_stride + o] = dot(weight row o, activation row t) (+ bias[o]) for Q4_K, Q5_K or Q6_K
 * weight rows o in [row_start, row_end) and Q8_K activation rows t < ntok (xq cols apart, xd
 * cols / 256 apart, xs cols / 16 apart). Returns 0, or -1 for another type.
 */
int32_t gantry_matmul_q8k(int32_t type, const uint8_t *w, int64_t row_bytes, int64_t row_start, int64_t row_end,
                          int64_t cols, const int8_t *xq, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                          int64_t out_stride, const float *bias) {
    if (type != TYPE_Q4_K && type != TYPE_Q5_K && type != TYPE_Q6_K) {
        return -1;
    }
    int64_t blocks = cols / QK_K;
    int64_t row_tiles_end = row_end;  // rows the loop below computes
#if defined(__x86_64__)
    if (gantry_k_amx && ntok >= AMX_MIN_TOKENS) {
        gantry_matmul_q8k_amx(type, w, row_bytes, row_start, row_end, cols, xq, xd, xs, ntok, out, out_stride);
        row_tiles_end = row_start;
    }
#endif
    // Blocked for the caches: a chunk of weight rows stays in L2 while the tokens pass over it a
    // tile at a time, each tile's activations in L1 (the whole prompt's do not fit there).
    for (int64_t r0 = row_start; r0 < row_tiles_end; r0 += ROW_CHUNK) {
        int64_t r1 = r0 + ROW_CHUNK < row_tiles_end ? r0 + ROW_CHUNK : row_tiles_end;
        for (int64_t t0 = 0; t0 < ntok; t0 += TOKEN_TILE) {
            int64_t nt = ntok - t0 < TOKEN_TILE ? ntok - t0 : TOKEN_TILE;
            for (int64_t o = r0; o < r1; o++) {
                gantry_k_rows(type, w + o * row_bytes, xq + t0 * cols, xd + t0 * blocks, xs + t0 * (cols / 16), blocks,
                              nt, out + t0 * out_stride + o, out_stride);
            }
        }
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
