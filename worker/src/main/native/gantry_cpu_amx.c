// The K-quant products of many tokens on AMX tiles (Intel Sapphire Rapids and later), for prefill
// and batched decode. One tile instruction multiplies 16 tokens' 8-bit activations by 16 weight
// rows over one sub-block (32 values of Q4_K and Q5_K, 16 of Q6_K) into 16 x 16 exact 32-bit sums; AVX-512
// then scales those by the rows' integer sub-block scales (exact), and the float part of each
// 256-value block is gantry_cpu_k.h's ACCUMULATE, done in 16 lanes: the same bits as every other
// variant, so a token's result does not depend on whether its batch ran here.
//
// Tiles: 0 the activations A (tokens x K bytes, laid out as tiles: gantry_amx_tile_activations), 1 the
// weights B (K / 4 rows of 64 bytes: the 16 weight rows' 4-value groups side by side, the "VNNI"
// order the instruction takes), 2 the sums C (tokens x 16 int32). A group of 16 weight rows is
// unpacked once into B tiles (in a per-thread buffer) and used by every tile of tokens.
#define _GNU_SOURCE  // syscall
#include "gantry_cpu_k.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AMX "amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"

int gantry_amx_usable(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d >> 24 & 1) || !(d >> 25 & 1)) {  // AMX-TILE, AMX-INT8
        return 0;
    }
    // Linux gives a process the tiles' register state only when asked (5.16 and later).
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
}

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

// The configuration is per thread; each thread sets it when its shape (K, tokens) changes. Tiles:
// 0 A (nt x k bytes), 1 B (k / 4 x 64 bytes), 2 C (nt x 16 int32) for one tile of tokens and one
// group of 16 rows; with a second tile of nt2 tokens and a second group (gantry_cpu_packed.c):
// 3 A2 (nt2 x k), 4 B2 (k / 4 x 64), 5 C = A x B2 (nt x 16), 6 C = A2 x B (nt2 x 16), 7 C = A2 x B2.
static __thread int configured_k, configured_nt, configured_nt2;

__attribute__((target(AMX))) void gantry_amx_configure2(int k, int nt, int nt2) {
    if (configured_k == k && configured_nt == nt && configured_nt2 == nt2) {
        return;
    }
    tile_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    const int a[2] = {0, 3}, b[2] = {1, 4}, cc[4] = {2, 5, 6, 7}, rows[2] = {nt, nt2};
    for (int i = 0; i < 2; i++) {
        c.rows[a[i]] = (uint8_t)rows[i];
        c.colsb[a[i]] = rows[i] ? (uint16_t)k : 0;
        c.rows[b[i]] = (uint8_t)(k / 4);
        c.colsb[b[i]] = 64;
    }
    for (int i = 0; i < 4; i++) {
        c.rows[cc[i]] = (uint8_t)rows[i / 2];
        c.colsb[cc[i]] = rows[i / 2] ? 64 : 0;
    }
    // gcc 12's ldtilecfg intrinsic does not tell the compiler that it reads the struct, which
    // then may store the fields after the instruction: a barrier keeps the stores before it.
    __asm__ volatile("" : : "r"(&c) : "memory");
    _tile_loadconfig(&c);
    configured_k = k;
    configured_nt = nt;
    configured_nt2 = nt2;
}

void gantry_amx_configure(int k, int nt) {
    gantry_amx_configure2(k, nt, 0);
}

// Activations laid out as A tiles: rows `cols` bytes apart (a power of two times 32 in every model)
// fall into one or two sets of the L1 cache, so a tile load of 16 rows missed it every time. Per
// tile of 16 tokens and chunk of k bytes, the 16 rows' k bytes one after another (a tile load with
// stride k); rows past the last token are left as they are (the tiles' shorter configuration
// never reads them). Per thread, reused from call to call.
static __thread int8_t *a_buf;
static __thread size_t a_cap;
static __thread uint8_t *group_buf;  // gantry_matmul_q8k_amx's unpacked group
static __thread size_t group_cap;

// The per-thread buffers are freed when their thread ends (a backend's pool closed), through a
// pthread key whose destructor runs in the ending thread.
static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;

static void free_buffers(void *unused) {
    (void)unused;
    free(a_buf);
    a_buf = NULL;
    a_cap = 0;
    free(group_buf);
    group_buf = NULL;
    group_cap = 0;
}

static void create_buffers_key(void) {
    pthread_key_create(&buffers_key, free_buffers);
}

static void track_buffers(void) {
    pthread_once(&buffers_once, create_buffers_key);
    pthread_setspecific(buffers_key, (void *)1);
}

void gantry_amx_tile_into(const int8_t *xq, int64_t ntok, int64_t cols, int k, int8_t *dst) {
    int64_t chunks = cols / k;
    for (int64_t t = 0; t < ntok; t++) {
        int8_t *row = dst + (t / 16) * 16 * cols + (t % 16) * k;
        const int8_t *src = xq + t * cols;
        for (int64_t j = 0; j < chunks; j++) {
            memcpy(row + j * 16 * k, src + j * k, (size_t)k);
        }
    }
}

const int8_t *gantry_amx_tile_activations(const int8_t *xq, int64_t ntok, int64_t cols, int k) {
    size_t bytes = (size_t)((ntok + 15) / 16 * 16 * cols);
    if (a_cap < bytes) {
        free(a_buf);
        a_buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
        a_cap = a_buf ? bytes : 0;
        if (!a_buf) {
            return NULL;
        }
        track_buffers();
    }
    gantry_amx_tile_into(xq, ntok, cols, k, a_buf);
    return a_buf;
}

// A group's unpacked blocks, per block: the B tiles (8 x 512 bytes for Q4_K and Q5_K, 16 x 256 for
// Q6_K, 4096 either way), then int32 scales [sub-blocks][16 rows], (Q4_K, Q5_K) int32 mins [8][16],
// float d[16], (Q4_K, Q5_K) float dmin[16].
enum { TILES_BYTES = 4096, Q4K_GROUP_BLOCK = 4096 + 512 + 512 + 64 + 64, Q6K_GROUP_BLOCK = 4096 + 1024 + 64 };

static uint8_t *group_buffer(size_t bytes) {
    if (group_cap < bytes) {
        free(group_buf);
        group_buf = malloc(bytes);
        group_cap = group_buf ? bytes : 0;
        track_buffers();
    }
    return group_buf;
}

// Dword k4 of the 32 bytes of row n goes to B row k4, dword n: 8 rows 64 bytes apart.
#define SCATTER_ROWS _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112)

// Q4_K, or Q5_K (five): the same tiles, each value with its fifth bit from qh (0..31, still unsigned).
__attribute__((target(AMX))) static void unpack_q4k(const uint8_t *w, int64_t row_bytes, int64_t blocks, uint8_t *buf,
                                                   int five) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1), rows = SCATTER_ROWS;
    const int64_t block_bytes = five ? Q5_K_BYTES : Q4_K_BYTES, qs_at = five ? 48 : 16;
    for (int64_t b = 0; b < blocks; b++) {
        uint8_t *tiles = buf + b * Q4K_GROUP_BLOCK;
        int32_t *sc = (int32_t *)(tiles + TILES_BYTES), *mn = sc + 128;
        float *d = (float *)(mn + 128), *dmin = d + 16;
        for (int n = 0; n < 16; n++) {
            const uint8_t *blk = w + n * row_bytes + b * block_bytes;
            uint8_t s8[8], m8[16];
            q4k_scales(blk + 4, s8, m8);
            for (int s = 0; s < 8; s++) {
                sc[s * 16 + n] = s8[s];
                mn[s * 16 + n] = m8[s];
            }
            d[n] = _cvtsh_ss(load_u16(blk));
            dmin[n] = _cvtsh_ss(load_u16(blk + 2));
            for (int j = 0; j < 4; j++) {  // sub-blocks 2j (low nibbles) and 2j + 1 (high)
                __m256i bits = _mm256_loadu_si256((const __m256i *)(blk + qs_at + 32 * j));
                __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                if (five) {  // bits 2j and 2j + 1 of qh[l], as 16
                    __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 16));
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4));
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4));
                }
                _mm256_i32scatter_epi32(tiles + 2 * j * 512 + 4 * n, rows, lo, 4);
                _mm256_i32scatter_epi32(tiles + (2 * j + 1) * 512 + 4 * n, rows, hi, 4);
            }
        }
    }
}

__attribute__((target(AMX))) static void unpack_q6k(const uint8_t *w, int64_t row_bytes, int64_t blocks, uint8_t *buf) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30), bias = _mm256_set1_epi8(32);
    // A quarter's 32 values are groups g, g + 1 of 16: dword i to group tile g + i / 4 (256 bytes
    // apart), B row i % 4; the same offsets in dwords as SCATTER_ROWS.
    const __m256i rows = SCATTER_ROWS;
    for (int64_t b = 0; b < blocks; b++) {
        uint8_t *tiles = buf + b * Q6K_GROUP_BLOCK;
        int32_t *sc = (int32_t *)(tiles + TILES_BYTES);
        float *d = (float *)(sc + 256);
        for (int n = 0; n < 16; n++) {
            const uint8_t *blk = w + n * row_bytes + b * Q6_K_BYTES;
            for (int g = 0; g < 16; g++) {
                sc[g * 16 + n] = (int8_t)blk[192 + g];
            }
            d[n] = _cvtsh_ss(load_u16(blk + 208));
            for (int h = 0; h < 2; h++) {
                __m256i ql0 = _mm256_loadu_si256((const __m256i *)(blk + 64 * h));
                __m256i ql1 = _mm256_loadu_si256((const __m256i *)(blk + 64 * h + 32));
                __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h));
                for (int k = 0; k < 4; k++) {
                    __m256i q = _mm256_sub_epi8(Q6_BYTES(k, ql0, ql1, qh, m4, m30), bias);  // -32..31
                    _mm256_i32scatter_epi32(tiles + (8 * h + 2 * k) * 256 + 4 * n, rows, q, 4);
                }
            }
        }
    }
}

// One group of 16 weight rows (unpacked in buf) by tokens t0 .. t0 + nt (nt <= 16).
__attribute__((target(AMX))) static void group_tokens(int32_t type, const uint8_t *buf, int64_t blocks, int64_t cols,
                                                       const int8_t *xq, const int8_t *tiled, const float *xd,
                                                       const int16_t *xs, int64_t t0, int nt, float *out,
                                                       int64_t out_stride) {
    const int q4 = type == TYPE_Q4_K || type == TYPE_Q5_K;  // sub-blocks of 32 unsigned values with mins
    const int subs = q4 ? 8 : 16, k = q4 ? 32 : 16;
    const __m512i sign = _mm512_set1_epi32((int32_t)0x80000000);
    __m512 acc[16];
    int32_t c[16 * 16];
    for (int r = 0; r < nt; r++) {
        acc[r] = _mm512_setzero_ps();
    }
    gantry_amx_configure(k, nt);
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *tiles = buf + b * (q4 ? Q4K_GROUP_BLOCK : Q6K_GROUP_BLOCK);
        const int32_t *sc = (const int32_t *)(tiles + TILES_BYTES);
        __m512i isum[16];
        for (int r = 0; r < nt; r++) {
            isum[r] = _mm512_setzero_si512();
        }
        for (int s = 0; s < subs; s++) {
            if (tiled) {  // gantry_amx_tile_activations' tile (t0 / 16, chunk b * QK_K / k + s)
                _tile_loadd(0, tiled + t0 * cols + (b * QK_K + k * s) * 16, k);
            } else {
                _tile_loadd(0, xq + t0 * cols + b * QK_K + k * s, cols);
            }
            _tile_loadd(1, tiles + s * 16 * k, 64);
            _tile_zero(2);
            if (q4) {
                _tile_dpbsud(2, 0, 1);  // signed activations by unsigned 4- or 5-bit values
            } else {
                _tile_dpbssd(2, 0, 1);  // signed by signed (q - 32)
            }
            _tile_stored(2, c, 64);
            __m512i scale = _mm512_loadu_si512((const void *)(sc + 16 * s));
            for (int r = 0; r < nt; r++) {
                isum[r] = _mm512_add_epi32(isum[r], _mm512_mullo_epi32(_mm512_loadu_si512((const void *)(c + 16 * r)), scale));
            }
        }
        const float *d = (const float *)(sc + 256);  // after Q4_K's 8 x 16 scales and mins, or Q6_K's 16 x 16 scales
        __m512 dw = _mm512_loadu_ps(d);
        for (int r = 0; r < nt; r++) {
            int64_t t = t0 + r;
            __m512 dx = _mm512_set1_ps(xd[t * blocks + b]);
            acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw), _mm512_cvtepi32_ps(isum[r]), acc[r]);  // ACCUMULATE
            if (q4) {
                const int32_t *mn = sc + 128;
                const int16_t *bs = xs + t * (cols / 16) + b * 16;
                __m512i msum = _mm512_setzero_si512();
                for (int s = 0; s < 8; s++) {
                    msum = _mm512_add_epi32(msum, _mm512_mullo_epi32(_mm512_loadu_si512((const void *)(mn + 16 * s)),
                                                                     _mm512_set1_epi32(bs[2 * s] + bs[2 * s + 1])));
                }
                __m512 neg = _mm512_castsi512_ps(  // -(dx * dmin), exactly as C's unary minus
                    _mm512_xor_si512(_mm512_castps_si512(_mm512_mul_ps(dx, _mm512_loadu_ps(d + 16))), sign));
                acc[r] = _mm512_fmadd_ps(neg, _mm512_cvtepi32_ps(msum), acc[r]);  // ACCUMULATE_MIN
            }
        }
    }
    for (int r = 0; r < nt; r++) {
        float v[16];
        _mm512_storeu_ps(v, acc[r]);
        for (int i = 0; i < 16; i++) {
            out[(t0 + r) * out_stride + i] = v[i];
        }
    }
}

__attribute__((target(AMX))) void gantry_matmul_q8k_amx(int32_t type, const uint8_t *w, int64_t row_bytes,
                                                        int64_t row_start, int64_t row_end, int64_t cols,
                                                        const int8_t *xq, const float *xd, const int16_t *xs,
                                                        int64_t ntok, float *out, int64_t out_stride) {
    int64_t blocks = cols / QK_K;
    int64_t o = row_start;
    const int q4 = type == TYPE_Q4_K || type == TYPE_Q5_K;
    uint8_t *buf = group_buffer((size_t)blocks * (q4 ? Q4K_GROUP_BLOCK : Q6K_GROUP_BLOCK));
    if (buf) {
        // rows `cols` apart would fall into one L1 set: read the activations laid out as tiles
        const int8_t *tiled = row_end - o >= 16 ? gantry_amx_tile_activations(xq, ntok, cols, q4 ? 32 : 16) : NULL;
        for (; o + 16 <= row_end; o += 16) {
            if (q4) {
                unpack_q4k(w + o * row_bytes, row_bytes, blocks, buf, type == TYPE_Q5_K);
            } else {
                unpack_q6k(w + o * row_bytes, row_bytes, blocks, buf);
            }
            for (int64_t t0 = 0; t0 < ntok; t0 += 16) {
                int nt = ntok - t0 < 16 ? (int)(ntok - t0) : 16;
                group_tokens(type, buf, blocks, cols, xq, tiled, xd, xs, t0, nt, out + o, out_stride);
            }
        }
    }
    for (; o < row_end; o++) {  // rows outside whole groups: the AVX-512 kernel, same bits
        gantry_k_rows_avx512(type, w + o * row_bytes, xq, xd, xs, blocks, ntok, out + o, out_stride);
    }
}
#endif
