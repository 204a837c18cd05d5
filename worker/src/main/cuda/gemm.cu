// Matrix products for prefill and large batches on the tensor cores: out[r][o] = sum_i x[r][i] *
// w[o][i] (+ bias[o]). A block computes a 64x64 tile of out (64 activation rows x 64 weight rows),
// stepping through the columns 32 at a time: activations rounded to half and the weights' 32-value
// pieces dequantized and rounded to half are staged in shared memory, and each of the 4 warps
// multiplies its 32x32 part with 16x16x16 wmma products accumulating in float. So every weight
// byte is read once per 64 activation rows instead of once per 8 (gemv.cu). Operands in half:
// each product is exact in float, but both factors carry half's rounding (relative 2^-11), the
// precision CudaBackend declares for products of more than 8 rows.
#include "quant.cuh"

namespace gantry {

using namespace nvcuda;

constexpr int kGemmTileRows = 64; // activation rows per block
constexpr int kGemmTileOut = 64;  // weight rows (outputs) per block
constexpr int kGemmStep = 32;     // columns per step: one quant piece
constexpr int kGemmPad = 8;       // halves of padding per staged row (keeps 32-byte alignment)

// grid: (ceil(outRows / 64), ceil(rows / 64)); block: 128 threads (4 warps). w: [outRows] rows of
// rowBytes; x: [rows][cols]; bias: [outRows] floats or null; out: [rows][outRows].
template <class Q>
__device__ void gemm(const uint8_t* __restrict__ w, const float* __restrict__ x, const float* __restrict__ bias,
                     float* __restrict__ out, int rows, int outRows, int cols, long long rowBytes) {
    __shared__ __align__(32) __half xs[kGemmTileRows][kGemmStep + kGemmPad]; // [row][k]
    __shared__ __align__(32) __half ws[kGemmTileOut][kGemmStep + kGemmPad];  // [out][k]: B in column-major
    __shared__ __align__(32) float cs[4][32 * 32];                          // per warp, its 32x32 result
    int tid = threadIdx.x;
    int warp = tid / 32;
    int lane = tid % 32;
    int r0 = blockIdx.y * kGemmTileRows;
    int o0 = blockIdx.x * kGemmTileOut;
    int wr = (warp / 2) * 32; // the warp's rows within the tile
    int wc = (warp % 2) * 32; // the warp's outputs within the tile

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            wmma::fill_fragment(acc[i][j], 0.0f);
        }
    }
    for (int k0 = 0; k0 < cols; k0 += kGemmStep) {
        for (int i = tid; i < kGemmTileRows * kGemmStep; i += blockDim.x) {
            int r = i / kGemmStep;
            int k = i % kGemmStep;
            bool inside = r0 + r < rows && k0 + k < cols;
            xs[r][k] = __float2half(inside ? x[static_cast<long long>(r0 + r) * cols + k0 + k] : 0.0f);
        }
        if (Q::kPiece == kGemmStep) { // a block quant: one piece per weight row
            for (int o = tid; o < kGemmTileOut; o += blockDim.x) {
                float y[kGemmStep];
                if (o0 + o < outRows) {
                    const uint8_t* block = w + static_cast<long long>(o0 + o) * rowBytes
                            + static_cast<long long>(k0 / Q::kValues) * Q::kBytes;
                    Q::piece(block, (k0 % Q::kValues) / Q::kPiece, y);
                } else {
                    for (int j = 0; j < kGemmStep; j++) {
                        y[j] = 0.0f;
                    }
                }
                for (int j = 0; j < kGemmStep; j++) {
                    ws[o][j] = __float2half(y[j]);
                }
            }
        } else { // a float type: one value per piece
            for (int i = tid; i < kGemmTileOut * kGemmStep; i += blockDim.x) {
                int o = i / kGemmStep;
                int k = i % kGemmStep;
                float v = 0.0f;
                if (o0 + o < outRows && k0 + k < cols) {
                    Q::piece(w + static_cast<long long>(o0 + o) * rowBytes + static_cast<long long>(k0 + k) * Q::kBytes, 0, &v);
                }
                ws[o][k] = __float2half(v);
            }
        }
        __syncthreads();
        for (int kk = 0; kk < kGemmStep; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> b[2];
            for (int i = 0; i < 2; i++) {
                wmma::load_matrix_sync(a[i], &xs[wr + 16 * i][kk], kGemmStep + kGemmPad);
                wmma::load_matrix_sync(b[i], &ws[wc + 16 * i][kk], kGemmStep + kGemmPad);
            }
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
                }
            }
        }
        __syncthreads();
    }
    float* mine = cs[warp];
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            wmma::store_matrix_sync(mine + 16 * i * 32 + 16 * j, acc[i][j], 32, wmma::mem_row_major);
        }
    }
    __syncwarp();
    for (int e = lane; e < 32 * 32; e += 32) {
        int r = r0 + wr + e / 32;
        int o = o0 + wc + e % 32;
        if (r < rows && o < outRows) {
            out[static_cast<long long>(r) * outRows + o] = bias == nullptr ? mine[e] : mine[e] + bias[o];
        }
    }
}

} // namespace gantry

#define GANTRY_GEMM(suffix, Type)                                                                 \
    extern "C" __global__ void __launch_bounds__(128)                                             \
        gemm_##suffix(const uint8_t* w, const float* x, const float* bias, float* out, int rows,  \
                      int outRows, int cols, long long rowBytes) {                                \
        gantry::gemm<Type>(w, x, bias, out, rows, outRows, cols, rowBytes);                       \
    }                                                                                             \
    GANTRY_EXPORT(gemm_##suffix);
GANTRY_FOR_EACH_TYPE(GANTRY_GEMM)
