// Native CPU kernels for the worker's quantized matrix products, called through the FFM API
// (dev.gantry.worker.backend.cpu.NativeCpu). The JDK's Vector API has no 8-bit integer dot
// product, so llama.cpp's way of multiplying a quantized weight by an activation row (both as
// 8-bit integers, products summed in 32-bit integers, one float multiply per 32-value block) is
// done here: with AVX-512 VNNI or AVX-VNNI (vpdpbusd), with AVX2 (vpmaddubsw + vpmaddwd), or in
// plain C. One variant is chosen when the library loads, from the CPU's features, and used for
// every call, so a result never depends on which path ran.
//
// Every product sums each (weight row, token row) pair in the same order whatever the number of
// token rows, so a token gets the same bits alone and in a batch.
//
// Layouts (ggml's): Q8_0 block = f16 d, int8 q[32]; Q4_0 block = f16 d, uint8 q[16] (value j in
// the low nibble of byte j, value j + 16 in its high nibble, both offset by 8); Q5_0 block = f16
// d, uint8 qh[4], uint8 q[16]: Q4_0's nibbles with bit j of the 32-bit qh above value j's, offset by 16.
// Activations (quantized here, as ActivationQuant/Q8Activations do in Java): int8 q[cols] and
// float d[cols / 32], the block scale rounded to f16.
#include "gantry_cpu.h"
#include "gantry_cpu_k.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { QK = 32 };
enum { TYPE_Q8_0 = 8, TYPE_Q4_0 = 2, TYPE_Q4_1 = 3, TYPE_Q5_0 = 6, TYPE_Q5_1 = 7 };  // ggml's type ids

static inline int64_t block_bytes(int32_t type) {
    switch (type) {
        case TYPE_Q8_0: return 34;
        case TYPE_Q4_1: return 20;
        case TYPE_Q5_0: return 22;
        case TYPE_Q5_1: return 24;
        default: return 18;
    }
}

// Whether blocks of the type hold an offset m (values q * d + m), met by the activations' Q8_1 sums.
static inline int has_offset(int32_t type) {
    return type == TYPE_Q4_1 || type == TYPE_Q5_1;
}

// ---- quantizing activation rows (the same integers as Q8Activations: 127 / amax, ties to even)

// The plain C quantizer: sums (may be NULL) as gantry_quantize_q8_0's, s (may be NULL) as gantry_quantize_q8_1's.
static void quantize_blocks(const float *x, int64_t rows, int64_t cols, int8_t *q, float *d, int16_t *sums, float *s) {
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t b = 0; b < cols / QK; b++) {
            const float *v = x + r * cols + b * QK;
            float amax = 0;
            for (int j = 0; j < QK; j++) {
                amax = fmaxf(amax, fabsf(v[j]));
            }
            float inverse = amax != 0 ? 127.0f / amax : 0.0f;
            if (isinf(inverse)) {
                inverse = 0;
            }
            int8_t *out = q + r * cols + b * QK;
            int sum = 0;
            for (int j = 0; j < QK; j++) {
                out[j] = (int8_t)lrintf(v[j] * inverse);
                sum += out[j];
            }
            float scale = amax / 127.0f;
            d[r * (cols / QK) + b] = f16_round(scale);
            if (sums) {
                sums[r * (cols / QK) + b] = (int16_t)sum;
            }
            if (s) {
                s[r * (cols / QK) + b] = f16_round(scale * (float)sum);
            }
        }
    }
}

// sums (may be NULL): [rows][cols / 32] the sum of each block's 32 integers, for the packed kernels.
void gantry_quantize_q8_0(const float *x, int64_t rows, int64_t cols, int8_t *q, float *d, int16_t *sums) {
#if defined(__x86_64__)
    if (gantry_packed_variant) {  // AVX-512: the same integers
        gantry_quantize_q8_0_avx512(x, rows, cols, q, d, sums);
        return;
    }
#endif
    quantize_blocks(x, rows, cols, q, d, sums, NULL);
}

/**
 * Quantizes as gantry_quantize_q8_0, and writes each block's Q8_1 sum s = d * sum(q) (d before
 * its f16 rounding, s rounded to f16, as ggml's quantize_row_q8_1 and Q8Activations) into s:
 * [rows][cols / 32], for Q4_1 and Q5_1 weights.
 */
void gantry_quantize_q8_1(const float *x, int64_t rows, int64_t cols, int8_t *q, float *d, float *s) {
    quantize_blocks(x, rows, cols, q, d, NULL, s);
}

// ---- one weight row by every token row, per variant. Each (row, token) is summed block by
// block in one order, the same for every token count: alone or in a batch, the same bits.

// xs: the activations' Q8_1 block sums ([ntok][blocks]) for the types with offsets, else NULL.
typedef void (*rows_fn)(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const float *xs,
                        int64_t blocks, int64_t ntok, float *out, int64_t out_stride);

static void rows_scalar(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const float *xs,
                        int64_t blocks, int64_t ntok, float *out, int64_t out_stride) {
    int64_t bytes = block_bytes(type);
    for (int64_t t = 0; t < ntok; t++) {
        float sum = 0, offsets = 0;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = w + b * bytes;
            const int8_t *y = xq + t * blocks * QK + b * QK;
            uint16_t dh;
            memcpy(&dh, blk, 2);
            int32_t isum = 0;
            if (type == TYPE_Q8_0) {
                const int8_t *q = (const int8_t *)(blk + 2);
                for (int j = 0; j < QK; j++) {
                    isum += q[j] * y[j];
                }
            } else if (type == TYPE_Q4_0) {
                const uint8_t *q = blk + 2;
                for (int j = 0; j < 16; j++) {
                    isum += ((q[j] & 0x0f) - 8) * y[j] + ((q[j] >> 4) - 8) * y[j + 16];
                }
            } else if (type == TYPE_Q4_1) {
                const uint8_t *q = blk + 4;
                for (int j = 0; j < 16; j++) {
                    isum += (q[j] & 0x0f) * y[j] + (q[j] >> 4) * y[j + 16];
                }
            } else {  // Q5_0 (values offset by 16) and Q5_1
                int five1 = type == TYPE_Q5_1;
                int zero = five1 ? 0 : 16;
                uint32_t qh;
                memcpy(&qh, blk + (five1 ? 4 : 2), 4);
                const uint8_t *q = blk + (five1 ? 8 : 6);
                for (int j = 0; j < 16; j++) {
                    isum += ((int)((q[j] & 0x0f) | (qh >> j & 1) << 4) - zero) * y[j] +
                            ((int)((q[j] >> 4) | (qh >> (j + 16) & 1) << 4) - zero) * y[j + 16];
                }
            }
            sum += f16_to_f32(dh) * xd[t * blocks + b] * (float)isum;
            if (has_offset(type)) {
                offsets += f16_to_f32(load_u16(blk + 2)) * xs[t * blocks + b];
            }
        }
        out[t * out_stride] = sum + offsets;
    }
}

#if defined(__x86_64__)

// 32 unsigned 4-bit values of 16 bytes as bytes: values j and j + 16 as ggml orders them.
#define Q4_NIBBLES(q)                                                                                \
    _mm256_and_si256(_mm256_insertf128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(q))), \
                                             _mm_srli_epi16(_mm_loadu_si128((const __m128i *)(q)), 4), 1), \
                     _mm256_set1_epi8(0x0f))

// The 32 values of a Q4_0 block's 16 bytes, minus 8.
#define Q4_BYTES(q) _mm256_sub_epi8(Q4_NIBBLES(q), _mm256_set1_epi8(8))

// Bit i of a 32-bit word as byte i of 32: 0x10 where set, 0 where not (Q5_0's fifth bits).
__attribute__((target("avx2,fma,f16c"))) static inline __m256i q5_high_bits(const uint8_t *qh_bytes) {
    uint32_t qh;
    memcpy(&qh, qh_bytes, 4);
    // byte i of the result takes byte i / 8 of qh, then keeps bit i % 8 of it
    __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
                                         _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2,
                                                          2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// The 32 values of a Q5_0 block as signed bytes -16..15, in value order.
#define Q5_BYTES(blk)                                                                                \
    _mm256_sub_epi8(_mm256_or_si256(Q4_NIBBLES((blk) + 6), q5_high_bits((blk) + 2)), _mm256_set1_epi8(16))

__attribute__((target("avx2,fma,f16c"))) static inline float hsum_avx(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// The 32-bit sums of |x| * sign(y, x) over groups of 4 bytes, x the weight's bytes: AVX2's
// vpmaddubsw then vpmaddwd, or VNNI's single vpdpbusd.
#define ISUM_AVX2(ax, sy) _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1))
#define ISUM_VNNI(ax, sy) _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ax, sy)
#define ISUM_VNNI512(ax, sy) _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy)

// One token's step for one block: acc += (d_w * d_x) * isum, in float lanes.
#define BLOCK_STEP(acc, ax, x, yptr, scale_x, ISUM)                                                  \
    do {                                                                                             \
        __m256i y_ = _mm256_loadu_si256((const __m256i *)(yptr));                                    \
        __m256i isum_ = ISUM(ax, _mm256_sign_epi8(y_, x));                                           \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * (scale_x)), _mm256_cvtepi32_ps(isum_), acc);      \
    } while (0)

// A weight block: its scale dw, its offset mw (Q4_1, Q5_1; else 0), its 32 values x as bytes
// (signed, or unsigned for the types with offsets), and |x| (for the unsigned side of the product).
#define LOAD_BLOCK(blk_)                                                                             \
    const uint8_t *blk = (blk_);                                                                     \
    float dw = _cvtsh_ss(load_u16(blk));                                                             \
    float mw = offset ? _cvtsh_ss(load_u16(blk + 2)) : 0;                                            \
    __m256i x = type == TYPE_Q8_0   ? _mm256_loadu_si256((const __m256i *)(blk + 2))                 \
                : type == TYPE_Q4_0 ? Q4_BYTES(blk + 2)                                              \
                : type == TYPE_Q5_0 ? Q5_BYTES(blk)                                                  \
                : type == TYPE_Q4_1 ? Q4_NIBBLES(blk + 4)                                            \
                                    : _mm256_or_si256(Q4_NIBBLES(blk + 8), q5_high_bits(blk + 4));   \
    __m256i ax = _mm256_sign_epi8(x, x)

// A weight row by every token: 4 tokens at a time share each block's load and unpacking.
#define DEFINE_ROWS(NAME, TARGET, ISUM)                                                              \
    __attribute__((target(TARGET))) static void NAME(int32_t type, const uint8_t *w, const int8_t *xq, \
                                                     const float *xd, const float *xs, int64_t blocks, \
                                                     int64_t ntok, float *out, int64_t out_stride) {  \
        int64_t bytes = block_bytes(type);                                                           \
        int64_t cols = blocks * QK;                                                                  \
        const int offset = has_offset(type);                                                         \
        int64_t t = 0;                                                                               \
        for (; t + 4 <= ntok; t += 4) {                                                              \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                              \
            float o0 = 0, o1 = 0, o2 = 0, o3 = 0; /* sums of m * s, as the plain C variant's */      \
            const int8_t *y = xq + t * cols;                                                         \
            const float *d = xd + t * blocks;                                                        \
            for (int64_t b = 0; b < blocks; b++) {                                                   \
                LOAD_BLOCK(w + b * bytes);                                                           \
                BLOCK_STEP(a0, ax, x, y + b * QK, d[b], ISUM);                                       \
                BLOCK_STEP(a1, ax, x, y + cols + b * QK, d[blocks + b], ISUM);                       \
                BLOCK_STEP(a2, ax, x, y + 2 * cols + b * QK, d[2 * blocks + b], ISUM);               \
                BLOCK_STEP(a3, ax, x, y + 3 * cols + b * QK, d[3 * blocks + b], ISUM);               \
                if (offset) {                                                                        \
                    const float *s = xs + t * blocks + b;                                            \
                    o0 += mw * s[0];                                                                 \
                    o1 += mw * s[blocks];                                                            \
                    o2 += mw * s[2 * blocks];                                                        \
                    o3 += mw * s[3 * blocks];                                                        \
                }                                                                                    \
            }                                                                                        \
            out[t * out_stride] = hsum_avx(a0) + o0;                                                 \
            out[(t + 1) * out_stride] = hsum_avx(a1) + o1;                                           \
            out[(t + 2) * out_stride] = hsum_avx(a2) + o2;                                           \
            out[(t + 3) * out_stride] = hsum_avx(a3) + o3;                                           \
        }                                                                                            \
        for (; t < ntok; t++) {                                                                      \
            __m256 a0 = _mm256_setzero_ps();                                                         \
            float o0 = 0;                                                                            \
            const int8_t *y = xq + t * cols;                                                         \
            const float *d = xd + t * blocks;                                                        \
            for (int64_t b = 0; b < blocks; b++) {                                                   \
                LOAD_BLOCK(w + b * bytes);                                                           \
                BLOCK_STEP(a0, ax, x, y + b * QK, d[b], ISUM);                                       \
                if (offset) {                                                                        \
                    o0 += mw * xs[t * blocks + b];                                                   \
                }                                                                                    \
            }                                                                                        \
            out[t * out_stride] = hsum_avx(a0) + o0;                                                 \
        }                                                                                            \
    }

DEFINE_ROWS(rows_avx2, "avx2,fma,f16c", ISUM_AVX2)
DEFINE_ROWS(rows_vnni, "avx2,fma,f16c,avxvnni", ISUM_VNNI)
// CPUs with AVX-512 VNNI but not AVX-VNNI: Ice Lake, Zen 4.
DEFINE_ROWS(rows_vnni512, "avx2,fma,f16c,avx512vnni,avx512vl", ISUM_VNNI512)
#endif


#if defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

// Armv8.2's dot product (sdot): every Arm server core since Neoverse N1 (Graviton 2, Ampere Altra).
#define NEON_DOT "arch=armv8.2-a+dotprod"

// The 32 values of a 32-value block as two vectors of 16 bytes (values 0..15, then 16..31): signed
// for Q8_0, Q4_0 (minus 8) and Q5_0 (minus 16), the unsigned codes (0..31, valid as signed bytes)
// for Q4_1 and Q5_1, whose offsets the caller adds.
__attribute__((target(NEON_DOT))) static inline void neon_values(int32_t type, const uint8_t *blk, int8x16_t *v0,
                                                                int8x16_t *v1) {
    if (type == TYPE_Q8_0) {
        *v0 = vld1q_s8((const int8_t *)blk + 2);
        *v1 = vld1q_s8((const int8_t *)blk + 18);
        return;
    }
    int five = type == TYPE_Q5_0 || type == TYPE_Q5_1;
    int qs_at = type == TYPE_Q4_0 ? 2 : type == TYPE_Q4_1 ? 4 : type == TYPE_Q5_0 ? 6 : 8;
    uint8x16_t q = vld1q_u8(blk + qs_at);
    uint8x16_t lo = vandq_u8(q, vdupq_n_u8(0x0f)), hi = vshrq_n_u8(q, 4);
    if (five) {  // bit j of qh above value j: byte j takes byte j / 8 of qh, then tests bit j % 8
        static const uint8_t first[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
        static const uint8_t second[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
        static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
        uint32_t qh;
        memcpy(&qh, blk + (type == TYPE_Q5_0 ? 2 : 4), 4);
        uint8x16_t h = vreinterpretq_u8_u32(vdupq_n_u32(qh)), b = vld1q_u8(bit), sixteen = vdupq_n_u8(0x10);
        lo = vorrq_u8(lo, vandq_u8(vtstq_u8(vqtbl1q_u8(h, vld1q_u8(first)), b), sixteen));
        hi = vorrq_u8(hi, vandq_u8(vtstq_u8(vqtbl1q_u8(h, vld1q_u8(second)), b), sixteen));
    }
    int8x16_t zero = vdupq_n_s8(type == TYPE_Q4_0 ? 8 : type == TYPE_Q5_0 ? 16 : 0);
    *v0 = vsubq_s8(vreinterpretq_s8_u8(lo), zero);
    *v1 = vsubq_s8(vreinterpretq_s8_u8(hi), zero);
}

// A weight row by every token with sdot: per block the exact integer sum, then one fused
// multiply-add of (d_w * d_x) into 4 float lanes; offsets (m * s) summed apart, as the other variants.
__attribute__((target(NEON_DOT))) static void rows_neon(int32_t type, const uint8_t *w, const int8_t *xq,
                                                       const float *xd, const float *xs, int64_t blocks, int64_t ntok,
                                                       float *out, int64_t out_stride) {
    int64_t bytes = block_bytes(type);
    const int offset = has_offset(type);
    for (int64_t t = 0; t < ntok; t++) {
        float32x4_t acc = vdupq_n_f32(0);
        float offsets = 0;
        const int8_t *y = xq + t * blocks * QK;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = w + b * bytes;
            int8x16_t v0, v1;
            neon_values(type, blk, &v0, &v1);
            int32x4_t isum = vdotq_s32(vdotq_s32(vdupq_n_s32(0), v0, vld1q_s8(y + b * QK)), v1,
                                       vld1q_s8(y + b * QK + 16));
            float scale = f16_to_f32(load_u16(blk)) * xd[t * blocks + b];
            acc = vfmaq_f32(acc, vcvtq_f32_s32(isum), vdupq_n_f32(scale));
            if (offset) {
                offsets += f16_to_f32(load_u16(blk + 2)) * xs[t * blocks + b];
            }
        }
        out[t * out_stride] = vaddvq_f32(acc) + offsets;
    }
}
#endif

static rows_fn rows = rows_scalar;
k_rows_fn gantry_k_rows = gantry_k_rows_scalar;
int gantry_k_amx = 0;
int gantry_packed_variant = 0;
static int variant = 0;

/**
 * The kernels of a variant, if this CPU runs it. The variants, best last: 0 plain C; on x86-64 1
 * AVX2, 2 AVX-512 VNNI (256-bit), 3 AVX-VNNI, 4 AVX-512 (the K-quants in 512-bit registers, the
 * rest as 2), 5 AMX (as 4, and the K-quants of 4 or more tokens on AMX tiles); on aarch64 6 NEON
 * with the dot product (the 32-value types; the K-quants as 0).
 */
enum { VARIANTS = 7 };
#if defined(__x86_64__)
static int avx512(int avx2) {
    return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}
#endif

static int variant_fns(int32_t v, rows_fn *r, k_rows_fn *k, int *amx) {
    *amx = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    switch (v) {
        case 0: *r = rows_scalar; *k = gantry_k_rows_scalar; return 1;
        case 1: *r = rows_avx2; *k = gantry_k_rows_avx2; return avx2;
        case 2: *r = rows_vnni512; *k = gantry_k_rows_vnni512;
            return avx2 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
        case 3: *r = rows_vnni; *k = gantry_k_rows_vnni; return avx2 && __builtin_cpu_supports("avxvnni");
        case 4: *r = rows_vnni512; *k = gantry_k_rows_avx512;
            return avx512(avx2);
        case 5: {
            static int amx_state = -1;  // asked of the CPU and the kernel once
            if (amx_state < 0) {
                amx_state = avx512(avx2) && gantry_amx_usable();
            }
            *r = rows_vnni512; *k = gantry_k_rows_avx512; *amx = 1;
            return amx_state;
        }
        default: return 0;
    }
#elif defined(__aarch64__)
    *k = gantry_k_rows_scalar;  // the K-quants in plain C on Arm for now
    switch (v) {
        case 0: *r = rows_scalar; return 1;
        case 6: *r = rows_neon; return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
        default: return 0;
    }
#else
    *r = rows_scalar;
    *k = gantry_k_rows_scalar;
    return v == 0;
#endif
}

/** Chooses the best variant this CPU runs, when the library loads. */
__attribute__((constructor)) static void choose_variant(void) {
    for (int32_t v = VARIANTS - 1; v >= 0; v--) {
        rows_fn r;
        k_rows_fn k;
        int amx;
        if (variant_fns(v, &r, &k, &amx)) {
            rows = r;
            gantry_k_rows = k;
            gantry_k_amx = amx;
            gantry_packed_variant = v == 4 || v == 5;
            variant = v;
            return;
        }
    }
}

int32_t gantry_cpu_variant(void) {
    return variant;
}

/**
 * Selects variant v if this CPU runs it (returns 1), else changes nothing (returns 0). For tests
 * of every variant the machine has, and GANTRY_NATIVE_VARIANT; not while products run.
 */
int32_t gantry_cpu_select(int32_t v) {
    rows_fn r;
    k_rows_fn k;
    int amx;
    if (!variant_fns(v, &r, &k, &amx)) {
        return 0;
    }
    rows = r;
    gantry_k_rows = k;
    gantry_k_amx = amx;
    gantry_packed_variant = v == 4 || v == 5;
    variant = v;
    return 1;
}

/**
 * out[t * out_stride + o] = dot(weight row o, activation row t) (+ bias[o]) for o in
 * [row_start, row_end) and t < ntok. Weight rows are row_bytes apart; activation rows cols apart
 * (xd, and xs: cols / 32 apart). xs: the Q8_1 block sums of gantry_quantize_q8_1 for Q4_1 and
 * Q5_1 weights, else unread. Returns 0, or -1 for a type it does not know (or no xs where needed).
 */
int32_t gantry_matmul_q8(int32_t type, const uint8_t *w, int64_t row_bytes, int64_t row_start, int64_t row_end,
                         int64_t cols, const int8_t *xq, const float *xd, const float *xs, int64_t ntok, float *out,
                         int64_t out_stride, const float *bias) {
    if (type != TYPE_Q8_0 && type != TYPE_Q4_0 && type != TYPE_Q5_0 && !has_offset(type)) {
        return -1;
    }
    if (has_offset(type) && !xs) {
        return -1;
    }
    int64_t blocks = cols / QK;
    // Blocked for the caches, as gantry_matmul_q8k.
    for (int64_t r0 = row_start; r0 < row_end; r0 += ROW_CHUNK) {
        int64_t r1 = r0 + ROW_CHUNK < row_end ? r0 + ROW_CHUNK : row_end;
        for (int64_t t0 = 0; t0 < ntok; t0 += TOKEN_TILE) {
            int64_t nt = ntok - t0 < TOKEN_TILE ? ntok - t0 : TOKEN_TILE;
            for (int64_t o = r0; o < r1; o++) {
                rows(type, w + o * row_bytes, xq + t0 * cols, xd + t0 * blocks, xs ? xs + t0 * blocks : NULL, blocks, nt,
                     out + t0 * out_stride + o, out_stride);
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
