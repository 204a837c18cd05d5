// Attention of a tile of a sequence's consecutive rows (the query heads of one GQA group for each)
// in GCC's generic vectors of 8 floats: the kernel of every variant without AVX-512, compiled
// twice: as plain C (SSE2 on x86-64, NEON on aarch64, where it is the only attention kernel) and
// for AVX2. The structure is gantry_cpu_attn.c's AVX-512 tile: a block of positions' K slices
// widened to f32 into a slab once for the whole tile, every row's heads scored from it, a
// polynomial exp over the scores, then V likewise. Each (head, position) is computed the same way
// whatever tile it is in: a row's bits do not depend on how a prompt was cut into tiles.
#include <stddef.h>

#include "gantry_cpu.h"
#include "gantry_cpu_attn.h"

// The helpers below pass 32-byte vectors between static functions, all inlined: the warning that
// their ABI differs without AVX concerns calls across libraries only.
#pragma GCC diagnostic ignored "-Wpsabi"

#define INLINE __attribute__((always_inline))

typedef float vf8 __attribute__((vector_size(32)));
typedef int32_t vi8 __attribute__((vector_size(32)));

#define N(name) name##_plain
#include "gantry_cpu_attn_tile.h"
#undef N

void gantry_attend_tile_vec(int32_t dtype, const float *q, int64_t stride, int64_t tile, int64_t group,
                            const uint8_t *k, const uint8_t *v, int64_t row_bytes, int64_t kv_off, const int32_t *slots,
                            int64_t n0, int64_t hd, float scale, float *work, float *out) {
    tile_body_plain(dtype, q, stride, tile, group, k, v, row_bytes, kv_off, slots, n0, hd, scale, work, out);
}

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,f16c")
#define N(name) name##_avx2
#include "gantry_cpu_attn_tile.h"
#undef N

void gantry_attend_tile_avx2(int32_t dtype, const float *q, int64_t stride, int64_t tile, int64_t group,
                             const uint8_t *k, const uint8_t *v, int64_t row_bytes, int64_t kv_off,
                             const int32_t *slots, int64_t n0, int64_t hd, float scale, float *work, float *out) {
    tile_body_avx2(dtype, q, stride, tile, group, k, v, row_bytes, kv_off, slots, n0, hd, scale, work, out);
}
#pragma GCC pop_options
#endif
