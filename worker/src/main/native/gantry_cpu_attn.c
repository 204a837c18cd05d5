// Decode-and-prefill attention of a tile of a sequence's consecutive rows (the query heads of one
// GQA group for each) over the paged KV cache, reading K and V where they lie in the off-heap
// cache (HostKvStorage) as f32, f16 or q8_0 (KvCacheDtype) and widening them to floats: on
// AVX-512 here (f16 with F16C's vcvtph2ps, q8_0 bytes with vpmovsxbd), on every other variant in
// gantry_cpu_attn_vec.c.
// The Java side (cpu/Attention.java) walks the (KV head, tile of a sequence's rows) items on its
// threads and calls gantry_attend_rows once per item (or, with fewer items than threads, once per
// (row, head): a tile of one row, a group of one); Attention's Vector API code is the fallback,
// ReferenceBackend the truth.
#include <stddef.h>

#include "gantry_cpu.h"
#include "gantry_cpu_attn.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

int32_t gantry_cpu_variant(void);

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,f16c,fma")))

/** The sum of q[i] times value i of a cached head slice, for i in [from, hd): the tail past the vectors. */
static inline float dot_from(int32_t dtype, const float *q, const uint8_t *row, int64_t from, int64_t hd) {
    float s = 0;
    for (int64_t i = from; i < hd; i++) {
        s += q[i] * kv_value(dtype, row, i);
    }
    return s;
}

/** acc[i] += pt * value i of a cached head slice, for i in [from, hd). */
static inline void accumulate_from(int32_t dtype, float pt, const uint8_t *row, float *acc, int64_t from,
                                   int64_t hd) {
    for (int64_t i = from; i < hd; i++) {
        acc[i] += pt * kv_value(dtype, row, i);
    }
}

/**
 * e^x for x <= 0 (scores less their max), 16 lanes: x = n ln2 + r with |r| <= ln2/2, e^r by a
 * degree-6 polynomial (Taylor; relative error below 2e-7 on that range), 2^n added to the
 * exponent; below -87.3 (where e^x is no longer a normal float) 0.
 */
AVX512 static inline __m512 exp16(__m512 x) {
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_cvtps_epi32(n), 23);
    __m512 y = _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), e));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_GE_OQ), y);
}

/** p[t] = exp(p[t] - max) for t < n, 16 at a time; returns their sum. */
AVX512 static float softmax_numerators16(float *p, int64_t n, float max) {
    __m512 m = _mm512_set1_ps(max);
    __m512 sum = _mm512_setzero_ps();
    int64_t t = 0;
    for (; t + 16 <= n; t += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(p + t), m));
        _mm512_storeu_ps(p + t, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (t < n) {
        __mmask16 k = (__mmask16)((1u << (n - t)) - 1);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + t), m));
        e = _mm512_maskz_mov_ps(k, e);
        _mm512_mask_storeu_ps(p + t, k, e);
        sum = _mm512_add_ps(sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

/** 16 values of a cached head slice from value i (i a multiple of 16), widened to floats. */
AVX512 static inline __m512 load16(int32_t dtype, const uint8_t *row, int64_t i) {
    switch (dtype) {
        case KV_F32: return _mm512_loadu_ps(row + 4 * i);
        case KV_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 2 * i)));
        default: {
            const uint8_t *b = row + (i / Q8) * Q8_BYTES;
            uint16_t h;
            memcpy(&h, b, 2);
            __m512 d = _mm512_set1_ps(f16_to_f32(h));
            __m512i x = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b + 2 + i % Q8)));
            return _mm512_mul_ps(d, _mm512_cvtepi32_ps(x));
        }
    }
}

/** The dot product of q with cached head slices at rows[0..3], four at once (their reductions share shuffles). */
AVX512 static inline __m128 dot4(int32_t dtype, const float *q, const uint8_t *r0, const uint8_t *r1,
                                 const uint8_t *r2, const uint8_t *r3, int64_t vec) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    for (int64_t i = 0; i < vec; i += 16) {
        __m512 qi = _mm512_loadu_ps(q + i);
        s0 = _mm512_fmadd_ps(qi, load16(dtype, r0, i), s0);
        s1 = _mm512_fmadd_ps(qi, load16(dtype, r1, i), s1);
        s2 = _mm512_fmadd_ps(qi, load16(dtype, r2, i), s2);
        s3 = _mm512_fmadd_ps(qi, load16(dtype, r3, i), s3);
    }
    // 512 -> 256 bits each, pairs interleaved, then 128, then one lane per row.
    __m256 a0 = _mm256_add_ps(_mm512_castps512_ps256(s0), _mm512_extractf32x8_ps(s0, 1));
    __m256 a1 = _mm256_add_ps(_mm512_castps512_ps256(s1), _mm512_extractf32x8_ps(s1, 1));
    __m256 a2 = _mm256_add_ps(_mm512_castps512_ps256(s2), _mm512_extractf32x8_ps(s2, 1));
    __m256 a3 = _mm256_add_ps(_mm512_castps512_ps256(s3), _mm512_extractf32x8_ps(s3, 1));
    __m256 b01 = _mm256_hadd_ps(a0, a1);  // r0 r0 r1 r1 | r0 r0 r1 r1
    __m256 b23 = _mm256_hadd_ps(a2, a3);
    __m256 c = _mm256_hadd_ps(b01, b23);  // r0 r1 r2 r3 | r0 r1 r2 r3
    return _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
}

/** Positions whose K (or V) head slices one pass over a GQA group's query heads shares (16 KB of f32 rows of 64: L1). */
enum { GROUP_BLOCK = 64, SLAB_HD = 128, SLICES_AHEAD = 16 };

/** p[t] *= scale for t < n, 16 at a time (the same products as scale_scores); returns the largest. */
AVX512 static float scale_scores16(float *p, int64_t n, float scale) {
    __m512 s = _mm512_set1_ps(scale), m = _mm512_set1_ps(-INFINITY);
    int64_t t = 0;
    for (; t + 16 <= n; t += 16) {
        __m512 x = _mm512_mul_ps(_mm512_loadu_ps(p + t), s);
        _mm512_storeu_ps(p + t, x);
        m = _mm512_max_ps(m, x);
    }
    if (t < n) {
        __mmask16 k = (__mmask16)((1u << (n - t)) - 1);
        __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + t), s);
        _mm512_mask_storeu_ps(p + t, k, x);
        m = _mm512_mask_max_ps(m, k, m, x);
    }
    return _mm512_reduce_max_ps(m);
}

/** Bytes of one head's slice of a cached row. */
static inline int64_t slice_bytes(int32_t dtype, int64_t hd) {
    return dtype == KV_F32 ? 4 * hd : dtype == KV_F16 ? 2 * hd : hd / Q8 * Q8_BYTES;
}

/**
 * The head slices of positions t0 .. t1 - 1 (rows[t - t0]): where they lie in the cache, or, with
 * a slab, widened to f32 into it one after another ([t1 - t0][hd]). In the cache a block's slices
 * lie row_bytes apart, a power of two for most models, and so fall into a few sets of the L1
 * cache, too few to keep a block's 256 lines for the group's next heads; in the slab they stay,
 * and f16 or q8_0 are widened once per group instead of once per head (the same floats). The
 * slices SLICES_AHEAD positions on (of n) are asked for meanwhile: rows row_bytes apart are a
 * stride the hardware prefetchers follow poorly, and a decode's walk over its context, whose rows
 * the weights streamed since the last token have evicted, waited on each.
 */
AVX512 __attribute__((always_inline)) static inline void block_rows(int32_t dtype, const uint8_t *base,
                                                                    const int32_t *slots, int64_t t0, int64_t t1,
                                                                    int64_t n, int64_t row_bytes, int64_t kv_off,
                                                                    int64_t hd, float *slab, const uint8_t **rows) {
    int64_t vec = hd / 16 * 16;
    const int64_t slice = slice_bytes(dtype, hd);
    for (int64_t t = t0; t < t1; t++) {
        const uint8_t *row = head_of(dtype, base + slots[t] * row_bytes, kv_off);
        if (t + SLICES_AHEAD < n) {
            const char *ahead = (const char *)head_of(dtype, base + slots[t + SLICES_AHEAD] * row_bytes, kv_off);
            for (int64_t o = 0; o < slice; o += 64) {
                _mm_prefetch(ahead + o, _MM_HINT_T0);
            }
            _mm_prefetch(ahead + slice - 1, _MM_HINT_T0);
        }
        if (!slab) {
            rows[t - t0] = row;
            continue;
        }
        float *dst = slab + (t - t0) * hd;
        for (int64_t i = 0; i < vec; i += 16) {
            _mm512_storeu_ps(dst + i, load16(dtype, row, i));
        }
        for (int64_t i = vec; i < hd; i++) {
            dst[i] = kv_value(dtype, row, i);
        }
        rows[t - t0] = (const uint8_t *)dst;
    }
}

/** Scores of the group's heads against positions t0 .. t1 - 1 (slices rows[], encoded as dtype) into p[j * n + t]. */
AVX512 __attribute__((always_inline)) static inline void block_scores(int32_t dtype, const float *q, int64_t group,
                                                                      const uint8_t *const *rows, int64_t t0,
                                                                      int64_t t1, int64_t n, int64_t hd, float *p) {
    int64_t vec = hd / 16 * 16;
    for (int64_t j = 0; j < group; j++) {
        const float *qj = q + j * hd;
        float *pj = p + j * n;
        int64_t t = t0;
        for (; t + 4 <= t1; t += 4) {
            const uint8_t *const *r = rows + (t - t0);
            _mm_storeu_ps(pj + t, dot4(dtype, qj, r[0], r[1], r[2], r[3], vec));
            for (int i = 0; i < 4 && vec < hd; i++) {
                pj[t + i] += dot_from(dtype, qj, r[i], vec, hd);
            }
        }
        for (; t < t1; t++) {
            const uint8_t *row = rows[t - t0];
            __m512 s = _mm512_setzero_ps();
            for (int64_t i = 0; i < vec; i += 16) {
                s = _mm512_fmadd_ps(_mm512_loadu_ps(qj + i), load16(dtype, row, i), s);
            }
            pj[t] = _mm512_reduce_add_ps(s) + dot_from(dtype, qj, row, vec, hd);
        }
    }
}

/**
 * acc[i] += p[j * n + t] * value i of rows[t - t0] (acc: [JN][HD]) for JN heads j, t in order: each
 * row's strips loaded once for them, the sums in registers (JN * HD / 16 of them, at most 16).
 */
AVX512 __attribute__((always_inline)) static inline void values_heads(int32_t dtype, const uint8_t *const *rows,
                                                                      int64_t t0, int64_t t1, int64_t n,
                                                                      const int64_t HD, const float *p, float *acc,
                                                                      const int JN) {
    const int64_t strips = HD / 16;
    __m512 a[16];
    for (int64_t r = 0; r < JN * strips; r++) a[r] = _mm512_loadu_ps(acc + 16 * r);
    for (int64_t t = t0; t < t1; t++) {
        const uint8_t *row = rows[t - t0];
        for (int64_t i = 0; i < strips; i++) {
            __m512 x = load16(dtype, row, 16 * i);
            for (int h = 0; h < JN; h++) {
                a[h * strips + i] = _mm512_fmadd_ps(_mm512_set1_ps(p[h * n + t]), x, a[h * strips + i]);
            }
        }
    }
    for (int64_t r = 0; r < JN * strips; r++) _mm512_storeu_ps(acc + 16 * r, a[r]);
}

/**
 * acc[j * hd + i] += p[j * n + t] * value i of rows[t - t0], t in order, for the group's heads. Where
 * hd is 64 or 128 (constant in the copies), as many heads at once as 16 registers of sums hold
 * (values_heads): the fma chains, each of which waits on its last, are up to 16 instead of hd / 16.
 * The same fma, in the same order, for every sum.
 */
AVX512 __attribute__((always_inline)) static inline void block_values(int32_t dtype, int64_t group,
                                                                      const uint8_t *const *rows, int64_t t0,
                                                                      int64_t t1, int64_t n, int64_t hd,
                                                                      const float *p, float *acc) {
    int64_t vec = hd / 16 * 16, j = 0;
    if (hd == 64) {
        for (; j < group; j += 4) {
            const float *pj = p + j * n;
            float *aj = acc + j * hd;
            switch (group - j) {
                case 1: values_heads(dtype, rows, t0, t1, n, 64, pj, aj, 1); break;
                case 2: values_heads(dtype, rows, t0, t1, n, 64, pj, aj, 2); break;
                case 3: values_heads(dtype, rows, t0, t1, n, 64, pj, aj, 3); break;
                default: values_heads(dtype, rows, t0, t1, n, 64, pj, aj, 4); break;
            }
        }
        return;
    }
    if (hd == 128) {
        for (; j < group; j += 2) {
            if (group - j == 1) {
                values_heads(dtype, rows, t0, t1, n, 128, p + j * n, acc + j * hd, 1);
            } else {
                values_heads(dtype, rows, t0, t1, n, 128, p + j * n, acc + j * hd, 2);
            }
        }
        return;
    }
    for (; j < group; j++) {
        const float *pj = p + j * n;
        float *aj = acc + j * hd;
        for (int64_t t = t0; t < t1; t++) {
            const uint8_t *row = rows[t - t0];
            __m512 pt = _mm512_set1_ps(pj[t]);
            for (int64_t i = 0; i < vec; i += 16) {
                _mm512_storeu_ps(aj + i, _mm512_fmadd_ps(pt, load16(dtype, row, i), _mm512_loadu_ps(aj + i)));
            }
            accumulate_from(dtype, pj[t], row, aj, vec, hd);
        }
    }
}

/**
 * The query heads of one GQA group at once against their shared KV head, for `tile` consecutive
 * rows of one sequence (row r's context is n0 + r positions; its queries at q + r * stride, its
 * outputs at out + r * stride): each block of positions' K slices is read from memory once and
 * reused from L1 by every head of every row of the tile (from a slab of f32 rows, block_rows,
 * where there are several), then likewise V. A prompt's rows read the same slices; a tile of 4
 * reads them a quarter as often. Each row's arithmetic is that of the row alone (the same blocks,
 * its own bound within the last one), so its bits do not depend on the tile it is in. work:
 * [tile * group][n] scores (n: the last row's context), [tile * group] inverse sums,
 * [tile * group][hd] accumulators. Inlined into copies with dtype and hd constant
 * (attend_tile_avx512): a variable one left the dtype's switch in the innermost loops and the
 * output strips in memory, a store and reload per fma.
 */
AVX512 __attribute__((always_inline)) static inline void attend_tile_body(
    int32_t dtype, const float *q, int64_t stride, int64_t tile, int64_t group, const uint8_t *k, const uint8_t *v,
    int64_t row_bytes, int64_t kv_off, const int32_t *slots, int64_t n0, int64_t hd, float scale, float *work,
    float *out) {
    const int64_t n = n0 + tile - 1;  // every position the tile reads
    const int64_t heads = tile * group;
    float *p, *inv, *acc;  // [heads][n], [heads], [heads][hd]
    attn_work(work, heads, n, &p, &inv, &acc);
    float slab_mem[GROUP_BLOCK * SLAB_HD] __attribute__((aligned(64)));  // [GROUP_BLOCK][hd]
    float *slab = heads > 1 && hd <= SLAB_HD ? slab_mem : NULL;
    const uint8_t *rows[GROUP_BLOCK];
    for (int64_t t0 = 0; t0 < n; t0 += GROUP_BLOCK) {
        int64_t t1 = t0 + GROUP_BLOCK < n ? t0 + GROUP_BLOCK : n;
        block_rows(dtype, k, slots, t0, t1, n, row_bytes, kv_off, hd, slab, rows);
        for (int64_t r = 0; r < tile; r++) {
            int64_t tr = t1 < n0 + r ? t1 : n0 + r;  // row r's own bound
            if (slab) {
                block_scores(KV_F32, q + r * stride, group, rows, t0, tr, n, hd, p + r * group * n);
            } else {
                block_scores(dtype, q + r * stride, group, rows, t0, tr, n, hd, p + r * group * n);
            }
        }
    }
    for (int64_t h = 0; h < heads; h++) {
        float *ph = p + h * n;
        int64_t nh = n0 + h / group;
        inv[h] = 1.0f / softmax_numerators16(ph, nh, scale_scores16(ph, nh, scale));
    }
    memset(acc, 0, sizeof(float) * (size_t)(heads * hd));
    for (int64_t t0 = 0; t0 < n; t0 += GROUP_BLOCK) {
        int64_t t1 = t0 + GROUP_BLOCK < n ? t0 + GROUP_BLOCK : n;
        block_rows(dtype, v, slots, t0, t1, n, row_bytes, kv_off, hd, slab, rows);
        for (int64_t r = 0; r < tile; r++) {
            int64_t tr = t1 < n0 + r ? t1 : n0 + r;
            if (slab) {
                block_values(KV_F32, group, rows, t0, tr, n, hd, p + r * group * n, acc + r * group * hd);
            } else {
                block_values(dtype, group, rows, t0, tr, n, hd, p + r * group * n, acc + r * group * hd);
            }
        }
    }
    for (int64_t h = 0; h < heads; h++) {
        float *o = out + (h / group) * stride + (h % group) * hd;
        for (int64_t i = 0; i < hd; i++) {
            o[i] = acc[h * hd + i] * inv[h];
        }
    }
}

#define ATTEND_COPY(name, DTYPE, HD)                                                                            \
    AVX512 static void name(const float *q, int64_t stride, int64_t tile, int64_t group, const uint8_t *k,      \
                            const uint8_t *v, int64_t row_bytes, int64_t kv_off, const int32_t *slots, int64_t n0, \
                            float scale, float *work, float *out) {                                             \
        attend_tile_body(DTYPE, q, stride, tile, group, k, v, row_bytes, kv_off, slots, n0, HD, scale, work, out); \
    }
ATTEND_COPY(attend_f32_64, KV_F32, 64)
ATTEND_COPY(attend_f16_64, KV_F16, 64)
ATTEND_COPY(attend_q8_64, KV_Q8_0, 64)
ATTEND_COPY(attend_f32_128, KV_F32, 128)
ATTEND_COPY(attend_f16_128, KV_F16, 128)
ATTEND_COPY(attend_q8_128, KV_Q8_0, 128)
#undef ATTEND_COPY

/** attend_tile_body with the common head sizes (64, 128) and each dtype in its own copy; the same arithmetic. */
AVX512 static void attend_tile_avx512(int32_t dtype, const float *q, int64_t stride, int64_t tile, int64_t group,
                                      const uint8_t *k, const uint8_t *v, int64_t row_bytes, int64_t kv_off,
                                      const int32_t *slots, int64_t n0, int64_t hd, float scale, float *work,
                                      float *out) {
    typedef void (*copy_fn)(const float *, int64_t, int64_t, int64_t, const uint8_t *, const uint8_t *, int64_t,
                            int64_t, const int32_t *, int64_t, float, float *, float *);
    static const copy_fn copies[2][3] = {{attend_f32_64, attend_f16_64, attend_q8_64},
                                         {attend_f32_128, attend_f16_128, attend_q8_128}};
    if (hd == 64 || hd == 128) {
        copies[hd == 128][dtype](q, stride, tile, group, k, v, row_bytes, kv_off, slots, n0, scale, work, out);
    } else {
        attend_tile_body(dtype, q, stride, tile, group, k, v, row_bytes, kv_off, slots, n0, hd, scale, work, out);
    }
}

#endif

/**
 * Attention of the {@code group} query heads that share one KV head, for {@code tile} consecutive
 * rows of one sequence: row r's heads at q[q_off + r * stride + j * hd ..) for j < group, into out
 * at o_off + r * stride + j * hd, each softmax_t(q . K[slots[t]] * scale) . V[slots[t]] over the
 * first n0 + r positions of slots[] (K and V rows row_bytes apart, encoded as dtype, the KV head's
 * values from value kv_off of each). Each block of positions' slices is read once for all the
 * tile's heads; each row's bits are those of the row alone (on a given variant). work: at least
 * tile * group * (n + hd + 1) floats, n = n0 + tile - 1 (attn_work). Returns 0, or -1 for an
 * unknown dtype, a q8_0 head not on a 32-value boundary, a tile, group or context below 1, or
 * (without AVX-512) a head of more than ATTN_VEC_SLAB_FLOATS (4096) values.
 */
int32_t gantry_attend_rows(int32_t dtype, const float *q, int64_t q_off, int64_t stride, int64_t tile,
                           int64_t group, const uint8_t *k, const uint8_t *v, int64_t row_bytes, int64_t kv_off,
                           const int32_t *slots, int64_t n0, int64_t hd, float scale, float *work, float *out,
                           int64_t o_off) {
    if (dtype < KV_F32 || dtype > KV_Q8_0 || group < 1 || tile < 1 || n0 < 1
        || (dtype == KV_Q8_0 && (kv_off % Q8 != 0 || hd % Q8 != 0))) {
        return -1;
    }
#if defined(__x86_64__)
    int32_t variant = gantry_cpu_variant();
    if (variant == 4 || variant == 5) {
        attend_tile_avx512(dtype, q + q_off, stride, tile, group, k, v, row_bytes, kv_off, slots, n0, hd, scale,
                           work, out + o_off);
        return 0;
    }
#endif
    if (hd > ATTN_VEC_SLAB_FLOATS) {
        return -1;
    }
#if defined(__x86_64__)
    if (variant >= 1 && variant <= 3) {
        gantry_attend_tile_avx2(dtype, q + q_off, stride, tile, group, k, v, row_bytes, kv_off, slots, n0, hd, scale,
                                work, out + o_off);
        return 0;
    }
#endif
    gantry_attend_tile_vec(dtype, q + q_off, stride, tile, group, k, v, row_bytes, kv_off, slots, n0, hd, scale, work,
                           out + o_off);
    return 0;
}
