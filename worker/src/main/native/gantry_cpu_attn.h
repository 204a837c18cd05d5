// What the attention kernels share (gantry_cpu_attn.c: AVX-512; gantry_cpu_attn_vec.c: generic
// vectors for the other variants): the KV cache's encodings, reading one value of a cached row.
#ifndef GANTRY_CPU_ATTN_H
#define GANTRY_CPU_ATTN_H

#include <stdint.h>
#include <string.h>

#include "gantry_cpu.h"

enum { KV_F32 = 0, KV_F16 = 1, KV_Q8_0 = 2 };
enum { Q8 = 32, Q8_BYTES = 34 };

/** Value i of a cached row at byte row (head offset already applied: for q8_0, off is in blocks of 32). */
static inline float kv_value(int32_t dtype, const uint8_t *row, int64_t i) {
    switch (dtype) {
        case KV_F32: {
            float f;
            memcpy(&f, row + 4 * i, 4);
            return f;
        }
        case KV_F16: {
            uint16_t h;
            memcpy(&h, row + 2 * i, 2);
            return f16_to_f32(h);
        }
        default: {
            const uint8_t *b = row + (i / Q8) * Q8_BYTES;
            uint16_t h;
            memcpy(&h, b, 2);
            return f16_to_f32(h) * (float)(int8_t)b[2 + i % Q8];
        }
    }
}

/** The head's slice of a cached row: kv_off values into it. */
static inline const uint8_t *head_of(int32_t dtype, const uint8_t *row, int64_t kv_off) {
    switch (dtype) {
        case KV_F32: return row + 4 * kv_off;
        case KV_F16: return row + 2 * kv_off;
        default: return row + (kv_off / Q8) * Q8_BYTES;
    }
}

/**
 * gantry_attend_rows' work, split: p [heads][n] scores (row r's head j at (r * group + j) * n), inv
 * [heads] inverse sums, acc [heads][hd] accumulators; heads = tile * group, n = n0 + tile - 1.
 * tile * group * (n + hd + 1) floats in all.
 */
static inline void attn_work(float *work, int64_t heads, int64_t n, float **p, float **inv, float **acc) {
    *p = work;
    *inv = work + heads * n;
    *acc = *inv + heads;
}

/** f32 values of the generic-vector kernels' slab (16 KB, in L1): their largest head too. */
enum { ATTN_VEC_SLAB_FLOATS = 4096 };

/**
 * The tile of gantry_attend_rows in generic vectors of 8 floats (gantry_cpu_attn_vec.c): plain C,
 * and on x86-64 compiled for AVX2. hd at most ATTN_VEC_SLAB_FLOATS.
 */
void gantry_attend_tile_vec(int32_t dtype, const float *q, int64_t stride, int64_t tile, int64_t group,
                            const uint8_t *k, const uint8_t *v, int64_t row_bytes, int64_t kv_off, const int32_t *slots,
                            int64_t n0, int64_t hd, float scale, float *work, float *out);
#if defined(__x86_64__)
void gantry_attend_tile_avx2(int32_t dtype, const float *q, int64_t stride, int64_t tile, int64_t group,
                             const uint8_t *k, const uint8_t *v, int64_t row_bytes, int64_t kv_off,
                             const int32_t *slots, int64_t n0, int64_t hd, float scale, float *work, float *out);
#endif

#endif
