// Activation quantization in AVX-512 (variants 4 and 5), and the read loop of the memory bandwidth
// test (end of file). The quantizers give the same integers, scales and sums as the
// plain C of gantry_quantize_q8_0 (gantry_cpu.c) and gantry_quantize_q8_k (gantry_cpu_k.c), which
// stay the statement. The plain loops call fmaxf and lrintf per value; one thread quantizing a
// prompt's 128 x 8192 activations that way took a quarter of the time of the product that follows,
// with the other threads waiting.
//
// Why the bits agree: a maximum is exact whatever the order (and _mm512_max_ps(v, acc) keeps acc
// for a NaN v, as fmaxf and the strict > do); the scales are computed by the same scalar
// expressions; the products v * scale are the same single float multiplications; vcvtps2dq rounds
// to nearest even as lrintf does in the default rounding mode; integer sums are exact.
#include "gantry_cpu_k.h"

#if defined(__x86_64__)

#define Q512 "avx512f,avx512bw,avx512vl,avx2,fma,f16c"

__attribute__((target(Q512))) static inline __m512 abs_ps(__m512 v) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}

__attribute__((target(Q512))) void gantry_quantize_q8_0_avx512(const float *x, int64_t rows, int64_t cols, int8_t *q,
                                                               float *d, int16_t *sums) {
    const int64_t blocks = cols / 32;
    for (int64_t b = 0; b < rows * blocks; b++) {  // rows are cols apart, a whole number of blocks
        const float *v = x + b * 32;
        __m512 lo = _mm512_loadu_ps(v), hi = _mm512_loadu_ps(v + 16);
        __m512 m = _mm512_max_ps(abs_ps(hi), _mm512_max_ps(abs_ps(lo), _mm512_setzero_ps()));
        float amax = _mm512_reduce_max_ps(m);
        float inverse = amax != 0 ? 127.0f / amax : 0.0f;
        if (isinf(inverse)) {
            inverse = 0;
        }
        __m512 s = _mm512_set1_ps(inverse);
        __m512i ilo = _mm512_cvtps_epi32(_mm512_mul_ps(lo, s)), ihi = _mm512_cvtps_epi32(_mm512_mul_ps(hi, s));
        _mm_storeu_si128((__m128i *)(q + b * 32), _mm512_cvtepi32_epi8(ilo));
        _mm_storeu_si128((__m128i *)(q + b * 32 + 16), _mm512_cvtepi32_epi8(ihi));
        d[b] = f16_round(amax / 127.0f);
        if (sums) {
            // the int8 values, sign-extended again: a NaN's int32 is INT_MIN, whose int8 is 0
            __m512i q32 = _mm512_add_epi32(_mm512_cvtepi8_epi32(_mm512_cvtepi32_epi8(ilo)),
                                           _mm512_cvtepi8_epi32(_mm512_cvtepi32_epi8(ihi)));
            sums[b] = (int16_t)_mm512_reduce_add_epi32(q32);
        }
    }
}

__attribute__((target(Q512))) void gantry_quantize_q8_k_avx512(const float *x, int64_t rows, int64_t cols, int8_t *q,
                                                               float *d, int16_t *bsums) {
    for (int64_t b = 0; b < rows * (cols / QK_K); b++) {
        const float *v = x + b * QK_K;
        int8_t *out = q + b * QK_K;
        __m512 m = _mm512_setzero_ps();
        for (int j = 0; j < QK_K; j += 16) {
            m = _mm512_max_ps(abs_ps(_mm512_loadu_ps(v + j)), m);
        }
        float amax = _mm512_reduce_max_ps(m), max = 0;
        if (amax != 0) {  // the first value of that magnitude, as the plain loop's strict > keeps it
            __m512 am = _mm512_set1_ps(amax);
            for (int j = 0; j < QK_K; j += 16) {
                __mmask16 hit = _mm512_cmp_ps_mask(abs_ps(_mm512_loadu_ps(v + j)), am, _CMP_EQ_OQ);
                if (hit) {
                    max = v[j + __builtin_ctz(hit)];
                    break;
                }
            }
        }
        float iscale = amax != 0 ? -127.0f / max : 0.0f;
        if (isinf(iscale)) {  // below ~1e-38 ggml's integers overflow; such a block adds nothing
            iscale = 0;
        }
        __m512 s = _mm512_set1_ps(iscale);
        for (int g = 0; g < QK_K / 16; g++) {
            __m512i i = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(v + 16 * g), s)),
                                         _mm512_set1_epi32(127));
            __m128i i8 = _mm512_cvtepi32_epi8(i);
            _mm_storeu_si128((__m128i *)(out + 16 * g), i8);
            bsums[b * (QK_K / 16) + g] = (int16_t)_mm512_reduce_add_epi32(_mm512_cvtepi8_epi32(i8));
        }
        d[b] = iscale != 0 ? 1 / iscale : 0;
    }
}


// The memory read test of gantry bench-model (perf/MemoryBandwidth): 64-byte loads, four chains,
// as a kernel streams its weights. The Vector API's loop read 16 GB/s on 2 threads where this reads
// 24: its loads, one per bounds-checked step, held too few lines in flight.
__attribute__((target(Q512))) static int64_t read_avx512(const uint8_t *p, int64_t n) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t i = 0; i + 256 <= n; i += 256) {
        s0 = _mm512_add_epi64(s0, _mm512_loadu_si512((const void *)(p + i)));
        s1 = _mm512_add_epi64(s1, _mm512_loadu_si512((const void *)(p + i + 64)));
        s2 = _mm512_add_epi64(s2, _mm512_loadu_si512((const void *)(p + i + 128)));
        s3 = _mm512_add_epi64(s3, _mm512_loadu_si512((const void *)(p + i + 192)));
    }
    return _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}
#endif

/** Reads the n bytes at p (whole 256-byte steps) and returns their 64-bit sum, for a read-bandwidth test. */
int64_t gantry_read_bytes(const uint8_t *p, int64_t n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        return read_avx512(p, n);
    }
#endif
    int64_t s = 0;
    for (int64_t i = 0; i + 8 <= n; i += 8) {
        int64_t v;
        memcpy(&v, p + i, 8);
        s += v;
    }
    return s;
}
