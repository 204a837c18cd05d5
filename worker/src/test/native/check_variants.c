// Checks every native kernel variant this CPU runs against the plain C one (variant 0), on fresh
// random weights of every quantized type: the 32-value types to float rounding, the K-quants bit
// for bit (their arithmetic is fixed on every variant). Built and run by NativeCrossArchIT on this
// machine and, cross-compiled for aarch64, under qemu-user, where the Java tests cannot run.
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
    return failures ? 1 : 0;
}
