// Host emulation of the CUDA C++ that Gantry's kernels use, so that the same .cu sources compile
// with g++ into a library the Java tests call (GANTRY_EMU is defined by build.sh). Blocks run one
// after another on the calling thread; the threads of a block are fibers that switch
// only at barriers (__syncthreads, __syncwarp, warp shuffles), so a kernel's shared memory, barrier
// and warp logic run as written. Not a simulator of timing or of data races: a kernel that races
// on real hardware may pass here; one that deadlocks on a barrier, or whose threads disagree on
// one, is reported as an error by the launch.
#pragma once

#include <cmath>
#include <math.h>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Blocks run one at a time and one launch runs at a time (cuda_emu.cpp holds a lock), so a
// function-local static is exactly one block's shared memory.
#define __shared__ static

struct uint3 { unsigned int x, y, z; };
struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(16) uint4 { unsigned int x, y, z, w; };
struct alignas(4) ushort2 { unsigned short x, y; };

namespace gantry_emu {

struct Thread {
    uint3 thread_idx;
    unsigned int linear; // threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)
};

struct Launch {
    uint3 block_idx;
    dim3 block_dim;
    dim3 grid_dim;
};

extern thread_local Thread* current_thread;
extern thread_local const Launch* current_launch;
void* dynamic_shared();
void sync_block();
void sync_warp();
// Every live lane of the calling thread's warp publishes 8 bytes and reads those of lane `src`
// (a lane index within the warp, or -1 to read its own), with a warp barrier on either side.
uint64_t exchange(uint64_t mine, int src);
unsigned int lane();
// The butterfly all-reduce over a full warp that gantry::warp_sum / warp_max write with five
// __shfl_xor_sync steps, computed here in one exchange (two barriers instead of ten): every lane
// gets the same bits as the shuffle code gives (float + and max commute, so both partners of each
// step agree). EmulatorTest checks the two against each other.
float warp_butterfly(float v, bool max);
[[noreturn]] void fail(const char* message);

template <typename T>
T shuffle(T v, int src) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a value wider than 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    uint64_t got = exchange(bits, src);
    T r;
    std::memcpy(&r, &got, sizeof(T));
    return r;
}

using Entry = void (*)(void** params);
struct Registrar {
    Registrar(const char* name, Entry entry);
};

// Calls kernel f with the arguments cuLaunchKernel would pass: params[i] points at argument i.
template <typename F, F f>
struct Trampoline;
template <typename... A, void (*f)(A...)>
struct Trampoline<void (*)(A...), f> {
    static void call(void** params) { call_with(params, std::index_sequence_for<A...>{}); }
    template <std::size_t... I>
    static void call_with(void** params, std::index_sequence<I...>) {
        f(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(params[I])...);
    }
};

} // namespace gantry_emu

#define threadIdx (::gantry_emu::current_thread->thread_idx)
#define blockIdx (::gantry_emu::current_launch->block_idx)
#define blockDim (::gantry_emu::current_launch->block_dim)
#define gridDim (::gantry_emu::current_launch->grid_dim)
static constexpr int warpSize = 32;

inline void __syncthreads() { ::gantry_emu::sync_block(); }
inline void __syncwarp(unsigned int = 0xffffffffu) { ::gantry_emu::sync_warp(); }
inline void __threadfence() {}
inline void __threadfence_block() {}

template <typename T>
T __shfl_sync(unsigned int, T v, int src, int width = 32) {
    int l = static_cast<int>(::gantry_emu::lane());
    return ::gantry_emu::shuffle(v, (l / width) * width + ((src % width) + width) % width);
}
template <typename T>
T __shfl_xor_sync(unsigned int, T v, int mask, int width = 32) {
    int l = static_cast<int>(::gantry_emu::lane());
    int src = l ^ mask;
    return ::gantry_emu::shuffle(v, src / width == l / width ? src : -1);
}
template <typename T>
T __shfl_down_sync(unsigned int, T v, unsigned int delta, int width = 32) {
    int l = static_cast<int>(::gantry_emu::lane());
    int src = l + static_cast<int>(delta);
    return ::gantry_emu::shuffle(v, src / width == l / width ? src : -1);
}
template <typename T>
T __shfl_up_sync(unsigned int, T v, unsigned int delta, int width = 32) {
    int l = static_cast<int>(::gantry_emu::lane());
    int src = l - static_cast<int>(delta);
    return ::gantry_emu::shuffle(v, src >= 0 && src / width == l / width ? src : -1);
}

// Atomics: blocks never run at the same time, so plain read-modify-write is atomic here.
template <typename T>
T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <typename T>
T atomicMax(T* p, T v) { T old = *p; *p = old < v ? v : old; return old; }
inline unsigned int atomicInc(unsigned int* p, unsigned int limit) {
    unsigned int old = *p; *p = old >= limit ? 0 : old + 1; return old;
}

// Float intrinsics with explicit rounding: the device rounds each to nearest even and never fuses
// them, as IEEE float arithmetic on the host does when built with -ffp-contract=off.
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline unsigned int __float_as_uint(float f) { unsigned int i; std::memcpy(&i, &f, 4); return i; }
inline float __uint_as_float(unsigned int i) { float f; std::memcpy(&f, &i, 4); return f; }
template <typename T>
T __ldg(const T* p) { return *p; }

// binary16 as cuda_fp16.h's __half, converted by the compiler's _Float16 (IEEE, round to nearest even).
struct __half {
    uint16_t bits;
};
inline __half __float2half(float f) {
    _Float16 h = static_cast<_Float16>(f);
    __half r;
    std::memcpy(&r.bits, &h, 2);
    return r;
}
inline __half __float2half_rn(float f) { return __float2half(f); }
inline float __half2float(__half h) {
    _Float16 v;
    std::memcpy(&v, &h.bits, 2);
    return static_cast<float>(v);
}

// The tensor-core fragments of mma.h that the kernels use (16x16x16, half inputs, float
// accumulators). On the GPU a fragment is spread over the warp's 32 lanes in an unspecified
// layout; here every lane holds the whole tile and computes the whole product, which gives each
// lane the values the warp holds together (kernels never index a fragment's elements).
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static_assert(M == 16 && N == 16 && K == 16, "the emulation has 16x16x16 fragments only");
    float v[16][16]; // matrix_a: [m][k]; matrix_b: [k][n]; accumulator: [m][n]
};

template <class T, class L>
inline void load_matrix_sync(fragment<matrix_a, 16, 16, 16, T, L>& a, const __half* p, unsigned ldm) {
    for (int i = 0; i < 16; i++) {
        for (int k = 0; k < 16; k++) {
            a.v[i][k] = __half2float(std::is_same<L, row_major>::value ? p[i * ldm + k] : p[k * ldm + i]);
        }
    }
}
template <class T, class L>
inline void load_matrix_sync(fragment<matrix_b, 16, 16, 16, T, L>& b, const __half* p, unsigned ldm) {
    for (int k = 0; k < 16; k++) {
        for (int j = 0; j < 16; j++) {
            b.v[k][j] = __half2float(std::is_same<L, row_major>::value ? p[k * ldm + j] : p[j * ldm + k]);
        }
    }
}
inline void fill_fragment(fragment<accumulator, 16, 16, 16, float>& c, float value) {
    for (auto& row : c.v) {
        for (float& x : row) {
            x = value;
        }
    }
}
template <class LA, class LB>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float>& d, const fragment<matrix_a, 16, 16, 16, __half, LA>& a,
                     const fragment<matrix_b, 16, 16, 16, __half, LB>& b,
                     const fragment<accumulator, 16, 16, 16, float>& c) {
    float r[16][16];
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 16; j++) {
            float acc = c.v[i][j];
            for (int k = 0; k < 16; k++) {
                acc += a.v[i][k] * b.v[k][j]; // products of two halves are exact in float
            }
            r[i][j] = acc;
        }
    }
    std::memcpy(d.v, r, sizeof r);
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& c, unsigned ldm, layout_t layout) {
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 16; j++) {
            p[layout == mem_row_major ? i * ldm + j : j * ldm + i] = c.v[i][j];
        }
    }
}
} // namespace wmma
} // namespace nvcuda

#define GANTRY_EMU_CONCAT2(a, b) a##b
#define GANTRY_EMU_CONCAT(a, b) GANTRY_EMU_CONCAT2(a, b)
