// RMS norm: out[r][i] = x[r][i] / sqrt(mean_j(x[r][j]^2) + eps) * weight[i].
#include "gantry.cuh"

// grid: rows; block: a multiple of 32 threads striding over the row. x, out: [rows][dim] (out may
// be x: each thread reads its values before the reduction and writes the same ones after it);
// weight: [dim] floats (the backend keeps vectors as floats on the device).
extern "C" __global__ void rms_norm(const float* x, const float* __restrict__ weight, float* out, int dim,
                                    float eps) {
    __shared__ float scratch[32];
    const float* xr = x + static_cast<long long>(blockIdx.x) * dim;
    float* outr = out + static_cast<long long>(blockIdx.x) * dim;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        ss += xr[i] * xr[i];
    }
    ss = gantry::block_sum(ss, scratch);
    float scale = rsqrtf(ss / static_cast<float>(dim) + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        outr[i] = xr[i] * scale * weight[i];
    }
}
GANTRY_EXPORT(rms_norm);
