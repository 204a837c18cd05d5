// Kernels that touch each value once: SwiGLU, residual add, row gather.
#include "gantry.cuh"

// One thread per value, grid-stride. gate, up, out: [n] (out may be gate).
extern "C" __global__ void swiglu(const float* gate, const float* __restrict__ up, float* out, long long n) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
GANTRY_EXPORT(swiglu);

// x[i] += y[i] for i < n.
extern "C" __global__ void add(float* x, const float* __restrict__ y, long long n) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        x[i] += y[i];
    }
}
GANTRY_EXPORT(add);

// grid: (ceil(dim / blockDim.x), n). out[i][:] = x[rows[i]][:]; x: [*][dim]; out: [n][dim].
extern "C" __global__ void gather_rows(const float* __restrict__ x, const int* __restrict__ rows,
                                       float* __restrict__ out, int dim) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j < dim) {
        out[static_cast<long long>(blockIdx.y) * dim + j] = x[static_cast<long long>(rows[blockIdx.y]) * dim + j];
    }
}
GANTRY_EXPORT(gather_rows);
