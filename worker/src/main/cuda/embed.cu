// Embedding gather: out[i][:] = row tokens[i] of the table, dequantized to float.
#include "quant.cuh"

namespace gantry {

// grid: (ceil(pieces per row / blockDim.x), n); one thread per piece (32 values, or 1 for floats).
// table: [vocab] rows of rowBytes; tokens: [n]; out: [n][cols].
template <class Q>
__device__ void embed(const uint8_t* __restrict__ table, const int* __restrict__ tokens, float* __restrict__ out,
                      int cols, long long rowBytes) {
    int piecesPerBlock = Q::kValues / Q::kPiece;
    int piece = blockIdx.x * blockDim.x + threadIdx.x;
    if (piece * Q::kPiece >= cols) {
        return;
    }
    int i = blockIdx.y;
    const uint8_t* row = table + static_cast<long long>(tokens[i]) * rowBytes;
    const uint8_t* block = row + static_cast<long long>(piece / piecesPerBlock) * Q::kBytes;
    Q::piece(block, piece % piecesPerBlock, out + static_cast<long long>(i) * cols + piece * Q::kPiece);
}

} // namespace gantry

#define GANTRY_EMBED(suffix, Type)                                                                \
    extern "C" __global__ void embed_##suffix(const uint8_t* table, const int* tokens, float* out, int cols,  \
                                              long long rowBytes) {                               \
        gantry::embed<Type>(table, tokens, out, cols, rowBytes);                                  \
    }                                                                                             \
    GANTRY_EXPORT(embed_##suffix);
GANTRY_FOR_EACH_TYPE(GANTRY_EMBED)
