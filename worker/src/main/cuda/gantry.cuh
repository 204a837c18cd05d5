// What every Gantry kernel includes: CUDA itself under nvcc, or its host emulation (emu/cuda_emu.h)
// under g++ for the tests; the export macro that names a kernel to both; and small helpers.
#pragma once

#ifdef GANTRY_EMU
#include "emu/cuda_emu.h"
// Registers the kernel with the emulation's launcher under its own (extern "C") name.
#define GANTRY_EXPORT(name)                                                                       \
    static ::gantry_emu::Registrar GANTRY_EMU_CONCAT(gantry_kernel_, name)(                     \
        #name, &::gantry_emu::Trampoline<decltype(&name), &name>::call)
// The block's dynamic shared memory (the launch's sharedMemBytes) as an array of T.
#define GANTRY_DYNAMIC_SHARED(T, var) T* var = reinterpret_cast<T*>(::gantry_emu::dynamic_shared())
#else
#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>
#define GANTRY_EXPORT(name) static_assert(true, "")
#define GANTRY_DYNAMIC_SHARED(T, var)                                                             \
    extern __shared__ __align__(16) unsigned char gantry_dynamic_shared_[];                       \
    T* var = reinterpret_cast<T*>(gantry_dynamic_shared_)
#endif

namespace gantry {

// IEEE binary16 bits to float (exact), without cuda_fp16.h's types so the emulation needs none.
__device__ __forceinline__ float f16_to_float(uint16_t h) {
#ifdef GANTRY_EMU
    uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); // inf, nan
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { // subnormal: normalise
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while ((man & 0x400u) == 0);
        bits = sign | static_cast<uint32_t>(112 - e) << 23 | ((man & 0x3ffu) << 13);
    }
    return __uint_as_float(bits);
#else
    return __half2float(__ushort_as_half(h));
#endif
}

// bfloat16 bits to float: the top half of a float.
__device__ __forceinline__ float bf16_to_float(uint16_t h) { return __uint_as_float(static_cast<uint32_t>(h) << 16); }

// Little-endian loads at any byte address: GGUF blocks are 18, 20, 34 ... bytes, so the fields of
// most blocks are not aligned to their size.
__device__ __forceinline__ uint16_t load_u16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
__device__ __forceinline__ float load_f16(const uint8_t* p) { return f16_to_float(load_u16(p)); }
__device__ __forceinline__ float load_f32(const uint8_t* p) {
    return __uint_as_float(static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                           static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24);
}

// Sum and max over the 32 lanes of a full warp (a butterfly of xor shuffles); every lane gets the
// result. The emulation computes the same butterfly in one exchange (cuda_emu.h).
__device__ __forceinline__ float warp_sum_shuffles(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}
__device__ __forceinline__ float warp_max_shuffles(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    }
    return v;
}
#ifdef GANTRY_EMU
__device__ __forceinline__ float warp_sum(float v) { return ::gantry_emu::warp_butterfly(v, false); }
__device__ __forceinline__ float warp_max(float v) { return ::gantry_emu::warp_butterfly(v, true); }
#else
__device__ __forceinline__ float warp_sum(float v) { return warp_sum_shuffles(v); }
__device__ __forceinline__ float warp_max(float v) { return warp_max_shuffles(v); }
#endif

// Sum over all threads of a block (blockDim.x a multiple of 32, at most 1024); every thread gets
// the result. `scratch` is 32 floats of shared memory, free again when this returns.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x % 32;
    int warp = threadIdx.x / 32;
    int warps = blockDim.x / 32;
    v = warp_sum(v);
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    v = warp_sum(v);
    __syncthreads();
    return v;
}

} // namespace gantry
