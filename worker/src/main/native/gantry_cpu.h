// Shared by the native CPU kernels' source files: half-precision conversions done in plain C, so
// that every SIMD variant (and the plain C one) rounds exactly as Java's Float.floatToFloat16, and
// the per-variant kernels of the K-quants (gantry_cpu_k.c) that gantry_cpu.c selects at load.
#ifndef GANTRY_CPU_H
#define GANTRY_CPU_H
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while ((man & 0x400) == 0);
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t f32_to_f16(float f) {  // round to nearest even, as F16C and Java's Float.floatToFloat16
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t abs = x & 0x7fffffff;
    if (abs >= 0x7f800000) {
        return (uint16_t)(sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0));
    }
    if (abs >= 0x477ff000) {  // rounds to infinity
        return (uint16_t)(sign | 0x7c00);
    }
    if (abs < 0x38800000) {  // f16 subnormal or zero
        float a;
        memcpy(&a, &abs, 4);
        return (uint16_t)(sign | (uint32_t)lrintf(a * 16777216.0f));  // a / 2^-24, ties to even
    }
    uint32_t mant = abs & 0x7fffff;
    uint32_t exp = (abs >> 23) - 127 + 15;
    uint32_t h = exp << 10 | mant >> 13;
    uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) {
        h++;
    }
    return (uint16_t)(sign | h);
}

static inline float f16_round(float f) {
    return f16_to_f32(f32_to_f16(f));
}

// The products' cache blocking: ROW_CHUNK weight rows (36 to 300 KB of a 2048- to 8192-column
// matrix: L2) meet TOKEN_TILE activation rows at a time (8 to 64 KB: L1). Any tile size gives the
// same bits: every kernel sums each (row, token) in one order whatever the tokens beside it.
enum { ROW_CHUNK = 32, TOKEN_TILE = 8 };

// One weight row (Q4_K or Q6_K) by ntok token rows of Q8_K activations: out[t * out_stride].
// Each token summed in one order whatever ntok is.
typedef void (*k_rows_fn)(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs,
                          int64_t blocks, int64_t ntok, float *out, int64_t out_stride);

void gantry_k_rows_scalar(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs,
                          int64_t blocks, int64_t ntok, float *out, int64_t out_stride);
#if defined(__x86_64__)
void gantry_k_rows_avx2(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs,
                        int64_t blocks, int64_t ntok, float *out, int64_t out_stride);
void gantry_k_rows_vnni(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs,
                        int64_t blocks, int64_t ntok, float *out, int64_t out_stride);
void gantry_k_rows_avx512(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs,
                          int64_t blocks, int64_t ntok, float *out, int64_t out_stride);
void gantry_k_rows_vnni512(int32_t type, const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs,
                           int64_t blocks, int64_t ntok, float *out, int64_t out_stride);
#endif

/** The K-quant kernels of the variant selected by gantry_cpu.c, and whether it multiplies many tokens on AMX tiles. */
extern k_rows_fn gantry_k_rows;
extern int gantry_k_amx;
/** Whether the selected variant multiplies Q8_0/Q4_0 weights packed at load (gantry_cpu_packed.c). */
extern int gantry_packed_variant;

// The products of Q8_0, Q4_0, Q5_0, Q4_1 and Q5_1 weights on unpacked rows (gantry_cpu.c).
int32_t gantry_matmul_q8(int32_t type, const uint8_t *w, int64_t row_bytes, int64_t row_start, int64_t row_end,
                         int64_t cols, const int8_t *xq, const float *xd, const float *xs, int64_t ntok, float *out,
                         int64_t out_stride, const float *bias);

// The activation quantizers in AVX-512 (gantry_cpu_quant.c), used by variants 4 and 5.
void gantry_quantize_q8_0_avx512(const float *x, int64_t rows, int64_t cols, int8_t *q, float *d, int16_t *sums);
void gantry_quantize_q8_k_avx512(const float *x, int64_t rows, int64_t cols, int8_t *q, float *d, int16_t *bsums);

#endif
