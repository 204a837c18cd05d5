// Matrix-vector products for decode batches: out[r][o] = sum_i x[r][i] * w[o][i] (+ bias[o]) for up
// to 8 activation rows at once, so each weight byte is read once per step whatever the batch. One
// warp per output row; its lanes take the row's 32-value pieces in turn, dequantize each in
// registers and multiply it into all activation rows; a warp sum per activation row finishes it.
#include "quant.cuh"

namespace gantry {

constexpr int kGemvMaxRows = 8;

// grid: ceil(outRows / warps); block: warps * 32. w: [outRows] rows of rowBytes; x: [rows][cols];
// bias: [outRows] floats or null; out: [rows][outRows]; rows <= 8.
template <class Q>
__device__ void gemv(const uint8_t* __restrict__ w, const float* __restrict__ x, const float* __restrict__ bias,
                     float* __restrict__ out, int rows, int outRows, int cols, long long rowBytes) {
    int lane = threadIdx.x % 32;
    int o = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (o >= outRows) {
        return; // the whole warp: no barrier below spans warps
    }
    const uint8_t* wr = w + static_cast<long long>(o) * rowBytes;
    constexpr int piecesPerBlock = Q::kValues / Q::kPiece;
    int pieces = cols / Q::kPiece;
    float acc[kGemvMaxRows];
    for (int r = 0; r < kGemvMaxRows; r++) {
        acc[r] = 0.0f;
    }
    for (int p = lane; p < pieces; p += 32) {
        float y[Q::kPiece]; // the piece's weights, dequantized
        Q::piece(wr + static_cast<long long>(p / piecesPerBlock) * Q::kBytes, p % piecesPerBlock, y);
        const float* xp = x + p * Q::kPiece;
        for (int r = 0; r < kGemvMaxRows; r++) {
            if (r < rows) {
                float s = 0.0f;
                for (int j = 0; j < Q::kPiece; j++) {
                    s += y[j] * xp[static_cast<long long>(r) * cols + j];
                }
                acc[r] += s;
            }
        }
    }
    for (int r = 0; r < kGemvMaxRows; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) {
                out[static_cast<long long>(r) * outRows + o] = bias == nullptr ? s : s + bias[o];
            }
        }
    }
}

} // namespace gantry

#define GANTRY_GEMV(suffix, Type)                                                                 \
    extern "C" __global__ void gemv_##suffix(const uint8_t* w, const float* x, const float* bias, float* out,  \
                                             int rows, int outRows, int cols, long long rowBytes) {  \
        gantry::gemv<Type>(w, x, bias, out, rows, outRows, cols, rowBytes);                       \
    }                                                                                             \
    GANTRY_EXPORT(gemv_##suffix);
GANTRY_FOR_EACH_TYPE(GANTRY_GEMV)
