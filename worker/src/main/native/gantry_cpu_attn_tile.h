// The generic-vector attention tile of gantry_cpu_attn_vec.c, included there once per target
// (plain, and on x86-64 AVX2) with N(name) naming that copy's functions: each copy is compiled
// for its own target from the start (an always_inline helper of the default target inlined into
// an AVX2 function came out built of SSE halves: a broadcast as eight inserts).
// No include guard: included once per target on purpose.

INLINE static inline vf8 N(splat)(float f) { return (vf8){f, f, f, f, f, f, f, f}; }
INLINE static inline vf8 N(ld8)(const float *p) {
    vf8 x;
    memcpy(&x, p, sizeof x);
    return x;
}
INLINE static inline void N(st8)(float *p, vf8 x) { memcpy(p, &x, sizeof x); }

/** The lanes' sum, in a fixed order. */
INLINE static inline float N(hsum8)(vf8 x) {
    return ((x[0] + x[4]) + (x[1] + x[5])) + ((x[2] + x[6]) + (x[3] + x[7]));
}

/**
 * e^x for x <= 0 (scores less their max), 8 lanes: exp16 of gantry_cpu_attn.c in generic vectors
 * (x = n ln2 + r, e^r by a degree-6 polynomial, 2^n added to the exponent; below -87.3, and for
 * NaN, 0). n rounds half away from zero here (x <= 0: truncating x log2 e - 0.5).
 */
INLINE static inline vf8 N(exp8)(vf8 x) {
    vi8 ni = __builtin_convertvector(x * N(splat)(1.44269504f) - N(splat)(0.5f), vi8);
    vf8 n = __builtin_convertvector(ni, vf8);
    vf8 r = x - n * N(splat)(0.693145751953125f);
    r = r - n * N(splat)(1.428606765330187e-06f);
    vf8 p = N(splat)(1.0f / 720);
    p = p * r + N(splat)(1.0f / 120);
    p = p * r + N(splat)(1.0f / 24);
    p = p * r + N(splat)(1.0f / 6);
    p = p * r + N(splat)(0.5f);
    p = p * r + N(splat)(1.0f);
    p = p * r + N(splat)(1.0f);
    vi8 y = (vi8)p + (ni << 23);
    vi8 keep = x >= N(splat)(-87.3f);  // all ones where x is at least -87.3, else 0 (NaN too)
    return (vf8)(y & keep);
}

/** p[t] = exp(p[t] * scale - max) for t < n, max the largest p[t] * scale; returns their sum. */
INLINE static inline float N(softmax8)(float *p, int64_t n, float scale) {
    float max = -INFINITY;
    for (int64_t t = 0; t < n; t++) {
        p[t] *= scale;
        max = p[t] > max ? p[t] : max;
    }
    vf8 sum = N(splat)(0);
    int64_t t = 0;
    for (; t + 8 <= n; t += 8) {
        vf8 e = N(exp8)(N(ld8)(p + t) - N(splat)(max));
        N(st8)(p + t, e);
        sum += e;
    }
    float s = N(hsum8)(sum);
    for (; t < n; t++) {
        p[t] = expf(p[t] - max);
        s += p[t];
    }
    return s;
}

/** Slices of positions t0 .. t1 - 1 widened to f32 into slab ([t1 - t0][hd]). */
INLINE static inline void N(fill_slab)(int32_t dtype, const uint8_t *base, const int32_t *slots, int64_t t0,
                                       int64_t t1, int64_t row_bytes, int64_t kv_off, int64_t hd, float *slab) {
    for (int64_t t = t0; t < t1; t++) {
        const uint8_t *row = head_of(dtype, base + slots[t] * row_bytes, kv_off);
        float *dst = slab + (t - t0) * hd;
        if (dtype == KV_F32) {
            memcpy(dst, row, sizeof(float) * (size_t)hd);
        } else {
            for (int64_t i = 0; i < hd; i++) {
                dst[i] = kv_value(dtype, row, i);
            }
        }
    }
}

/**
 * q . k over hd values: four chains of 8-lane partial sums (strip i in chain i % 4, so that the
 * adds do not wait on each other), joined in a fixed order, then the tail.
 */
INLINE static inline float N(dot8)(const float *q, const float *k, int64_t hd) {
    int64_t vec = hd / 8 * 8, i = 0;
    vf8 s0 = N(splat)(0), s1 = N(splat)(0), s2 = N(splat)(0), s3 = N(splat)(0);
    for (; i + 32 <= vec; i += 32) {
        s0 += N(ld8)(q + i) * N(ld8)(k + i);
        s1 += N(ld8)(q + i + 8) * N(ld8)(k + i + 8);
        s2 += N(ld8)(q + i + 16) * N(ld8)(k + i + 16);
        s3 += N(ld8)(q + i + 24) * N(ld8)(k + i + 24);
    }
    for (; i < vec; i += 8) {
        s0 += N(ld8)(q + i) * N(ld8)(k + i);
    }
    float r = N(hsum8)((s0 + s1) + (s2 + s3));
    for (; i < hd; i++) {
        r += q[i] * k[i];
    }
    return r;
}

/**
 * acc[i] += p[t] * rows[t - t0][i] for t0 <= t < t1 in order, i < hd: 32 values at a time in
 * registers over the positions (four independent chains), then 8, then one.
 */
INLINE static inline void N(values8)(const float *p, const float *rows, int64_t t0, int64_t t1, float *acc, int64_t hd) {
    int64_t vec = hd / 8 * 8, i = 0;
    for (; i + 32 <= vec; i += 32) {
        vf8 a0 = N(ld8)(acc + i), a1 = N(ld8)(acc + i + 8), a2 = N(ld8)(acc + i + 16), a3 = N(ld8)(acc + i + 24);
        for (int64_t t = t0; t < t1; t++) {
            const float *x = rows + (t - t0) * hd + i;
            vf8 pt = N(splat)(p[t]);
            a0 += pt * N(ld8)(x);
            a1 += pt * N(ld8)(x + 8);
            a2 += pt * N(ld8)(x + 16);
            a3 += pt * N(ld8)(x + 24);
        }
        N(st8)(acc + i, a0), N(st8)(acc + i + 8, a1), N(st8)(acc + i + 16, a2), N(st8)(acc + i + 24, a3);
    }
    for (; i < vec; i += 8) {
        vf8 a = N(ld8)(acc + i);
        for (int64_t t = t0; t < t1; t++) {
            a += N(splat)(p[t]) * N(ld8)(rows + (t - t0) * hd + i);
        }
        N(st8)(acc + i, a);
    }
    for (; i < hd; i++) {
        for (int64_t t = t0; t < t1; t++) {
            acc[i] += p[t] * rows[(t - t0) * hd + i];
        }
    }
}

/** See gantry_attend_rows; work as there. */
INLINE static inline void N(tile_body)(int32_t dtype, const float *q, int64_t stride, int64_t tile, int64_t group,
                                       const uint8_t *k, const uint8_t *v, int64_t row_bytes, int64_t kv_off,
                                       const int32_t *slots, int64_t n0, int64_t hd, float scale, float *work,
                                       float *out) {
    const int64_t n = n0 + tile - 1;  // every position the tile reads
    const int64_t heads = tile * group;
    float *p, *inv, *acc;  // [heads][n], [heads], [heads][hd]
    attn_work(work, heads, n, &p, &inv, &acc);
    float slab[ATTN_VEC_SLAB_FLOATS];  // [block][hd]: 64 positions of a head of 64, in L1 for the tile's heads
    const int64_t block = ATTN_VEC_SLAB_FLOATS / hd;
    for (int64_t t0 = 0; t0 < n; t0 += block) {
        int64_t t1 = t0 + block < n ? t0 + block : n;
        N(fill_slab)(dtype, k, slots, t0, t1, row_bytes, kv_off, hd, slab);
        for (int64_t h = 0; h < heads; h++) {
            int64_t r = h / group, tr = t1 < n0 + r ? t1 : n0 + r;  // row r's own bound
            const float *qh = q + r * stride + (h % group) * hd;
            for (int64_t t = t0; t < tr; t++) {
                p[h * n + t] = N(dot8)(qh, slab + (t - t0) * hd, hd);
            }
        }
    }
    for (int64_t h = 0; h < heads; h++) {
        inv[h] = 1.0f / N(softmax8)(p + h * n, n0 + h / group, scale);
    }
    memset(acc, 0, sizeof(float) * (size_t)(heads * hd));
    for (int64_t t0 = 0; t0 < n; t0 += block) {
        int64_t t1 = t0 + block < n ? t0 + block : n;
        N(fill_slab)(dtype, v, slots, t0, t1, row_bytes, kv_off, hd, slab);
        for (int64_t h = 0; h < heads; h++) {
            int64_t r = h / group, tr = t1 < n0 + r ? t1 : n0 + r;
            N(values8)(p + h * n, slab, t0, tr, acc + h * hd, hd);
        }
    }
    for (int64_t h = 0; h < heads; h++) {
        float *o = out + (h / group) * stride + (h % group) * hd;
        for (int64_t i = 0; i < hd; i++) {
            o[i] = acc[h * hd + i] * inv[h];
        }
    }
}

