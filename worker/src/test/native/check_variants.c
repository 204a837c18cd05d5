// Checks every native kernel variant this CPU runs against the plain C one (variant 0), on fresh
// random weights of every quantized type: the 32-value types to float rounding, the K-quants bit
// for bit (their arithmetic is fixed on every variant). Built and run by NativeCrossArchIT on this
// machine and, cross-compiled for aarch64, under qemu-user, where the Java tests cannot run. Also
// attention (gantry_attend_rows) on every variant against a reference in doubles.
// Prints one line per (type, variant); exits 1 on any mismatch, 2 when a product call fails.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gantry_cpu.h"

int32_t gantry_cpu_select(int32_t v);
int32_t gantry_cpu_variant(void);
void gantry_quantize_q8_0(const float *x, int64_t rows, int64_t cols, int8_t *q, float *d, int16_t *sums);
void gantry_quantize_q8_1(const float *x, int64_t rows, int64_t cols, int8_t *q, float *d, float *s);
void gantry_quantize_q8_k(const float *x, int64_t rows, int64_t cols, int8_t *q, float *d, int16_t *bsums);
int32_t gantry_matmul_q8k(int32_t type, const uint8_t *w, int64_t row_bytes, int64_t row_start, int64_t row_end,
                          int64_t cols, const int8_t *xq, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                          int64_t out_stride, const float *bias);

int32_t gantry_attend_rows(int32_t dtype, const float *q, int64_t q_off, int64_t stride, int64_t tile,
                           int64_t group, const uint8_t *k, const uint8_t *v, int64_t row_bytes, int64_t kv_off,
                           const int32_t *slots, int64_t n0, int64_t hd, float scale, float *work, float *out,
                           int64_t o_off);

typedef struct {
    const char *name;
    int32_t id, block, bytes;
    int32_t f16_at[2];  // offsets of the block's f16 scale and min/offset (-1: none)
    int k;              // Q8_K activations
} type_info;

static const type_info TYPES[] = {
    {"Q8_0", 8, 32, 34, {0, -1}, 0},    {"Q4_0", 2, 32, 18, {0, -1}, 0},  {"Q4_1", 3, 32, 20, {0, 2}, 0},
    {"Q5_0", 6, 32, 22, {0, -1}, 0},    {"Q5_1", 7, 32, 24, {0, 2}, 0},   {"Q4_K", 12, 256, 144, {0, 2}, 1},
    {"Q5_K", 13, 256, 176, {0, 2}, 1},  {"Q6_K", 14, 256, 210, {208, -1}, 1},
};

static uint64_t state = 88172645463325252ull;
static uint32_t next(void) {  // xorshift64
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 32);
}
static float uniform(void) { return (next() >> 8) * (1.0f / 16777216.0f); }
static float gaussian(void) { return sqrtf(-2 * logf(uniform() + 1e-12f)) * cosf(6.2831853f * uniform()); }

/** Value i of a cached row of the attention check (f32, f16, or q8_0 blocks of an f16 scale and 32 bytes). */
static double kv_at(int dtype, const uint8_t *row, int64_t i) {
    if (dtype == 0) {
        float f;
        memcpy(&f, row + 4 * i, 4);
        return f;
    }
    uint16_t h;
    if (dtype == 1) {
        memcpy(&h, row + 2 * i, 2);
        return f16_to_f32(h);
    }
    memcpy(&h, row + (i / 32) * 34, 2);
    return (double)f16_to_f32(h) * (int8_t)row[(i / 32) * 34 + 2 + i % 32];
}

/**
 * Attention (gantry_attend_rows) on every variant, each KV-cache dtype: a tile of 3 rows of a
 * 4-head group at contexts 70-72 over shuffled slots, against softmax(q.K * scale).V in doubles
 * here (within 1e-4 of the largest output), and the same bits as the rows one by one.
 */
static int check_attention(void) {
    enum { HD = 64, G = 4, KVH = 2, TILE = 3, N0 = 70, N = N0 + TILE - 1, HEADS = G * KVH };
    int failures = 0;
    int32_t slots[N];
    for (int t = 0; t < N; t++) {
        slots[t] = (t * 37) % N;  // a permutation: 37 and 72 are coprime
    }
    float q[TILE * HEADS * HD], out[TILE * HEADS * HD], one[TILE * HEADS * HD];
    for (int i = 0; i < TILE * HEADS * HD; i++) {
        q[i] = gaussian();
    }
    static float work[TILE * G * (N + HD + 1) + 2 * HD + N];
    for (int dtype = 0; dtype < 3; dtype++) {
        int64_t vals = KVH * HD, row_bytes = dtype == 0 ? 4 * vals : dtype == 1 ? 2 * vals : vals / 32 * 34;
        uint8_t *k = malloc(N * row_bytes), *v = malloc(N * row_bytes);
        for (int64_t b = 0; b < N * row_bytes; b++) {
            k[b] = (uint8_t)next(), v[b] = (uint8_t)next();
        }
        for (int t = 0; t < N; t++) {  // finite values: f32 and f16 from gaussians, q8_0 scales small
            for (int64_t i = 0; i < vals; i++) {
                if (dtype == 0) {
                    float a = gaussian(), c = gaussian();
                    memcpy(k + t * row_bytes + 4 * i, &a, 4), memcpy(v + t * row_bytes + 4 * i, &c, 4);
                } else if (dtype == 1) {
                    uint16_t a = f32_to_f16(gaussian()), c = f32_to_f16(gaussian());
                    memcpy(k + t * row_bytes + 2 * i, &a, 2), memcpy(v + t * row_bytes + 2 * i, &c, 2);
                } else if (i % 32 == 0) {
                    uint16_t a = f32_to_f16(0.02f * (0.5f + uniform())), c = f32_to_f16(0.02f * (0.5f + uniform()));
                    memcpy(k + t * row_bytes + (i / 32) * 34, &a, 2), memcpy(v + t * row_bytes + (i / 32) * 34, &c, 2);
                }
            }
        }
        for (int32_t var = 0; var < 8; var++) {
            if (!gantry_cpu_select(var)) {
                continue;
            }
            double diff = 0, max = 0;
            int rc = 0, same = 1;
            for (int g = 0; g < KVH; g++) {
                rc |= gantry_attend_rows(dtype, q, g * G * HD, HEADS * HD, TILE, G, k, v, row_bytes, g * HD, slots, N0, HD,
                                         0.125f, work, out, g * G * HD);
                for (int r = 0; r < TILE; r++) {
                    rc |= gantry_attend_rows(dtype, q, r * HEADS * HD + g * G * HD, 0, 1, G, k, v, row_bytes, g * HD,
                                             slots, N0 + r, HD, 0.125f, work, one, r * HEADS * HD + g * G * HD);
                }
            }
            for (int r = 0; r < TILE; r++) {
                for (int h = 0; h < HEADS; h++) {
                    const float *qh = q + (r * HEADS + h) * HD;
                    int64_t kv_off = (h / G) * HD;
                    double p[N], m = -1e300, sum = 0, o[HD] = {0};
                    for (int t = 0; t < N0 + r; t++) {
                        const uint8_t *kr = k + slots[t] * row_bytes, *vr = v + slots[t] * row_bytes;
                        (void)vr;
                        double d = 0;
                        for (int i = 0; i < HD; i++) {
                            d += qh[i] * kv_at(dtype, kr, kv_off + i);
                        }
                        p[t] = d * 0.125;
                        m = fmax(m, p[t]);
                    }
                    for (int t = 0; t < N0 + r; t++) {
                        p[t] = exp(p[t] - m), sum += p[t];
                        for (int i = 0; i < HD; i++) {
                            o[i] += p[t] * kv_at(dtype, v + slots[t] * row_bytes, kv_off + i);
                        }
                    }
                    for (int i = 0; i < HD; i++) {
                        int64_t at = (r * HEADS + h) * HD + i;
                        max = fmax(max, fabs(o[i] / sum));
                        diff = fmax(diff, fabs(out[at] - o[i] / sum));
                        same &= memcmp(&out[at], &one[at], sizeof(float)) == 0;
                    }
                }
            }
            // a head wider than the generic kernels' slab: refused there, never a loop of empty blocks
            float wide_q[8192] = {0}, wide_out[8192];
            static float wide_work[2 * 8192 + 3 * (1 + 8192 + 1)];
            int32_t wide_slot = 0;
            uint8_t *wide_kv = calloc(1, 4 * 8192);
            int wide_rc = gantry_attend_rows(0, wide_q, 0, 0, 1, 1, wide_kv, wide_kv, 4 * 8192, 0, &wide_slot, 1, 8192,
                                             1.0f, wide_work, wide_out, 0);
            free(wide_kv);
            int refused_ok = var == 4 || var == 5 ? wide_rc == 0 : wide_rc == -1;
            int ok = rc == 0 && diff <= 1e-4 * max && same && refused_ok;
            printf("attention dtype %d variant %d: max difference %.3g of %.3g, tile %s rows, head of 8192 %s %s\n", dtype,
                   var, diff, max, same ? "=" : "!=", wide_rc ? "refused" : "attended", ok ? "ok" : "FAILED");
            failures += !ok;
        }
        free(k), free(v);
    }
    return failures;
}

int main(void) {
    const int64_t rows = 37, cols = 1024, ntok = 11;
    int failures = 0;
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++) {
        const type_info *t = &TYPES[i];
        int64_t row_bytes = cols / t->block * t->bytes;
        uint8_t *w = malloc(rows * row_bytes);
        for (int64_t b = 0; b < rows * cols / t->block; b++) {
            uint8_t *blk = w + b * t->bytes;
            for (int j = 0; j < t->bytes; j++) {
                blk[j] = (uint8_t)next();
            }
            for (int f = 0; f < 2; f++) {
                if (t->f16_at[f] >= 0) {  // a small positive scale, a negative offset
                    uint16_t h = f32_to_f16((f ? -0.2f : 0.01f) * (0.5f + uniform()));
                    memcpy(blk + t->f16_at[f], &h, 2);
                }
            }
        }
        float *x = malloc(ntok * cols * sizeof(float));
        for (int64_t j = 0; j < ntok * cols; j++) {
            x[j] = 2 * gaussian();
        }
        int8_t *xq = malloc(ntok * cols);
        float *xd = malloc(ntok * cols / 32 * sizeof(float));
        float *x1 = malloc(ntok * cols / 32 * sizeof(float));
        int16_t *xs = malloc(ntok * cols / 16 * sizeof(int16_t));
        float *want = malloc(ntok * rows * sizeof(float)), *got = malloc(ntok * rows * sizeof(float));
        for (int32_t v = 0; v < 8; v++) {
            if (!gantry_cpu_select(v)) {
                continue;
            }
            // quantized under each variant: the quantizers must pick the same integers too
            int rc;
            if (t->k) {
                gantry_quantize_q8_k(x, ntok, cols, xq, xd, xs);
                rc = gantry_matmul_q8k(t->id, w, row_bytes, 0, rows, cols, xq, xd, xs, ntok, got, rows, NULL);
            } else {
                int offsets = t->f16_at[1] >= 0;
                if (offsets) {
                    gantry_quantize_q8_1(x, ntok, cols, xq, xd, x1);
                } else {
                    gantry_quantize_q8_0(x, ntok, cols, xq, xd, NULL);
                }
                rc = gantry_matmul_q8(t->id, w, row_bytes, 0, rows, cols, xq, xd, offsets ? x1 : NULL, ntok, got, rows,
                                      NULL);
            }
            if (rc != 0) {
                printf("%s variant %d: the product failed (%d)\n", t->name, v, rc);
                return 2;
            }
            if (v == 0) {
                memcpy(want, got, ntok * rows * sizeof(float));
                printf("%s variant 0: reference\n", t->name);
                continue;
            }
            double max = 0, diff = 0;
            for (int64_t j = 0; j < ntok * rows; j++) {
                max = fmax(max, fabs(want[j]));
                diff = fmax(diff, fabs((double)got[j] - want[j]));
            }
            int ok = t->k ? diff == 0 : diff <= 1e-5 * max;
            printf("%s variant %d: max difference %.3g of %.3g %s\n", t->name, v, diff, max, ok ? "ok" : "FAILED");
            failures += !ok;
        }
        free(w), free(x), free(xq), free(xd), free(x1), free(xs), free(want), free(got);
    }
    failures += check_attention();
    return failures ? 1 : 0;
}
