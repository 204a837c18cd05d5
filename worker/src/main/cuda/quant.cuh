// GGUF weight types on the device: each a struct naming its block shape and dequantizing one
// "piece" (32 consecutive values of a block, or the one value of a float type) exactly as
// worker/.../Dequant.java does: the same float operations in the same order, each rounded on its
// own (the _rn intrinsics are never fused into an FMA), so embeddings match the CPU bit for bit.
#pragma once

#include "gantry.cuh"

namespace gantry {

// Plain float types: a block is one value.
struct TypeF32 {
    static constexpr int kValues = 1, kBytes = 4, kPiece = 1;
    __device__ static void piece(const uint8_t* b, int, float* y) { y[0] = load_f32(b); }
};
struct TypeF16 {
    static constexpr int kValues = 1, kBytes = 2, kPiece = 1;
    __device__ static void piece(const uint8_t* b, int, float* y) { y[0] = load_f16(b); }
};
struct TypeBF16 {
    static constexpr int kValues = 1, kBytes = 2, kPiece = 1;
    __device__ static void piece(const uint8_t* b, int, float* y) { y[0] = bf16_to_float(load_u16(b)); }
};

// block_q8_0: f16 d, i8 qs[32]; y = d * q.
struct TypeQ8_0 {
    static constexpr int kValues = 32, kBytes = 34, kPiece = 32;
    __device__ static void piece(const uint8_t* b, int, float* y) {
        float d = load_f16(b);
        for (int j = 0; j < 32; j++) {
            y[j] = __fmul_rn(d, static_cast<float>(static_cast<int8_t>(b[2 + j])));
        }
    }
};

// block_q4_0: f16 d, u8 qs[16] (value j in the low nibble of qs[j], value j+16 in the high one);
// y = (q - 8) * d.
struct TypeQ4_0 {
    static constexpr int kValues = 32, kBytes = 18, kPiece = 32;
    __device__ static void piece(const uint8_t* b, int, float* y) {
        float d = load_f16(b);
        for (int j = 0; j < 16; j++) {
            int q = b[2 + j];
            y[j] = __fmul_rn(static_cast<float>((q & 0xf) - 8), d);
            y[j + 16] = __fmul_rn(static_cast<float>((q >> 4) - 8), d);
        }
    }
};

// block_q4_1: f16 d, f16 m, u8 qs[16]; y = q * d + m.
struct TypeQ4_1 {
    static constexpr int kValues = 32, kBytes = 20, kPiece = 32;
    __device__ static void piece(const uint8_t* b, int, float* y) {
        float d = load_f16(b);
        float m = load_f16(b + 2);
        for (int j = 0; j < 16; j++) {
            int q = b[4 + j];
            y[j] = __fadd_rn(__fmul_rn(static_cast<float>(q & 0xf), d), m);
            y[j + 16] = __fadd_rn(__fmul_rn(static_cast<float>(q >> 4), d), m);
        }
    }
};

// block_q5_0: f16 d, u8 qh[4], u8 qs[16]: Q4_0's nibbles with bit j of qh (little-endian) above
// value j's; y = (q - 16) * d.
struct TypeQ5_0 {
    static constexpr int kValues = 32, kBytes = 22, kPiece = 32;
    __device__ static void piece(const uint8_t* b, int, float* y) {
        float d = load_f16(b);
        uint32_t qh = b[2] | b[3] << 8 | b[4] << 16 | static_cast<uint32_t>(b[5]) << 24;
        for (int j = 0; j < 16; j++) {
            int q = b[6 + j];
            y[j] = __fmul_rn(static_cast<float>(static_cast<int>((q & 0xf) | (qh >> j & 1) << 4) - 16), d);
            y[j + 16] = __fmul_rn(static_cast<float>(static_cast<int>((q >> 4) | (qh >> (j + 16) & 1) << 4) - 16), d);
        }
    }
};

// block_q5_1: f16 d, f16 m, u8 qh[4], u8 qs[16]; y = q * d + m.
struct TypeQ5_1 {
    static constexpr int kValues = 32, kBytes = 24, kPiece = 32;
    __device__ static void piece(const uint8_t* b, int, float* y) {
        float d = load_f16(b);
        float m = load_f16(b + 2);
        uint32_t qh = b[4] | b[5] << 8 | b[6] << 16 | static_cast<uint32_t>(b[7]) << 24;
        for (int j = 0; j < 16; j++) {
            int q = b[8 + j];
            y[j] = __fadd_rn(__fmul_rn(static_cast<float>((q & 0xf) | (qh >> j & 1) << 4), d), m);
            y[j + 16] = __fadd_rn(__fmul_rn(static_cast<float>((q >> 4) | (qh >> (j + 16) & 1) << 4), d), m);
        }
    }
};

// block_q4_K: f16 d, f16 dmin, u8 scales[12] (eight 6-bit scales and eight 6-bit mins), u8 qs[128].
// Piece p (32 values) has scale/min pair p; its values are the low nibbles (p even) or the high
// nibbles (p odd) of qs[32 * (p / 2) ..]; y = (d * scale) * q - (dmin * min).
struct TypeQ4_K {
    static constexpr int kValues = 256, kBytes = 144, kPiece = 32;
    __device__ static void scale_min(const uint8_t* q, int j, int* sc, int* m) { // ggml's get_scale_min_k4
        if (j < 4) {
            *sc = q[j] & 63;
            *m = q[j + 4] & 63;
        } else {
            *sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
            *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }
    __device__ static void piece(const uint8_t* b, int p, float* y) {
        float d = load_f16(b);
        float dmin = load_f16(b + 2);
        int sc, m;
        scale_min(b + 4, p, &sc, &m);
        float d1 = __fmul_rn(d, static_cast<float>(sc));
        float m1 = __fmul_rn(dmin, static_cast<float>(m));
        const uint8_t* qs = b + 16 + 32 * (p / 2);
        int shift = (p & 1) * 4;
        for (int l = 0; l < 32; l++) {
            y[l] = __fsub_rn(__fmul_rn(d1, static_cast<float>((qs[l] >> shift) & 0xf)), m1);
        }
    }
};

// block_q5_K: f16 d, f16 dmin, u8 scales[12] (as Q4_K's), u8 qh[32], u8 qs[128]. Piece p: Q4_K's
// nibbles with bit p of qh[l] above value l's.
struct TypeQ5_K {
    static constexpr int kValues = 256, kBytes = 176, kPiece = 32;
    __device__ static void piece(const uint8_t* b, int p, float* y) {
        float d = load_f16(b);
        float dmin = load_f16(b + 2);
        int sc, m;
        TypeQ4_K::scale_min(b + 4, p, &sc, &m);
        float d1 = __fmul_rn(d, static_cast<float>(sc));
        float m1 = __fmul_rn(dmin, static_cast<float>(m));
        const uint8_t* qh = b + 16;
        const uint8_t* qs = b + 48 + 32 * (p / 2);
        int shift = (p & 1) * 4;
        for (int l = 0; l < 32; l++) {
            int q = ((qs[l] >> shift) & 0xf) | ((qh[l] >> p) & 1) << 4;
            y[l] = __fsub_rn(__fmul_rn(d1, static_cast<float>(q)), m1);
        }
    }
};

// block_q6_K: u8 ql[128] (low 4 bits), u8 qh[64] (high 2 bits), i8 scales[16], f16 d. Piece p:
// half n = p / 4 of the block, quarter k = p % 4 of that half; y = (d * scale) * (q - 32), the scale
// being scales[8n + 2k + l / 16] for value l of the piece.
struct TypeQ6_K {
    static constexpr int kValues = 256, kBytes = 210, kPiece = 32;
    __device__ static void piece(const uint8_t* b, int p, float* y) {
        int n = p / 4;
        int k = p % 4;
        const uint8_t* ql = b + 64 * n + (k & 1) * 32;
        const uint8_t* qh = b + 128 + 32 * n;
        const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192) + 8 * n + 2 * k;
        float d = load_f16(b + 208);
        int lowShift = (k >> 1) * 4;
        int highShift = 2 * k;
        for (int l = 0; l < 32; l++) {
            int q = ((ql[l] >> lowShift) & 0xf) | (((qh[l] >> highShift) & 3) << 4);
            y[l] = __fmul_rn(__fmul_rn(d, static_cast<float>(sc[l / 16])), static_cast<float>(q - 32));
        }
    }
};

} // namespace gantry

// Instantiates MACRO(suffix, Type) once per supported weight type; the suffixes name the kernels
// (embed_q4_k ...) and match GgmlType's names in lower case.
#define GANTRY_FOR_EACH_TYPE(MACRO)                                                               \
    MACRO(f32, ::gantry::TypeF32)                                                                 \
    MACRO(f16, ::gantry::TypeF16)                                                                 \
    MACRO(bf16, ::gantry::TypeBF16)                                                               \
    MACRO(q8_0, ::gantry::TypeQ8_0)                                                               \
    MACRO(q4_0, ::gantry::TypeQ4_0)                                                               \
    MACRO(q4_1, ::gantry::TypeQ4_1)                                                               \
    MACRO(q5_0, ::gantry::TypeQ5_0)                                                               \
    MACRO(q5_1, ::gantry::TypeQ5_1)                                                               \
    MACRO(q4_k, ::gantry::TypeQ4_K)                                                               \
    MACRO(q5_k, ::gantry::TypeQ5_K)                                                               \
    MACRO(q6_k, ::gantry::TypeQ6_K)
