// The packed products of one decode step of a 1B Llama (Q4_0), in C with no Java around them: per
// layer Q+K+V (2048 + 512 + 512 rows), the attention output (2048), gate+up (2 x 8192) and down
// (2048 rows of 8192 columns), then the 128256-row output projection: 695 MB of packed weights a
// step. Two threads take 16-row groups and meet at a spin barrier after each product, as the
// worker's thread pool does. It separates the kernels' speed from the Java around them
// (docs/native-cpu.md, "On AMD Zen 4, again"). Random weights; twelve steps, each printed as ms
// and GB/s.
//
//   worker/src/main/native/build.sh /tmp/gc && L=/tmp/gc/dev/gantry/worker/native/linux-x86_64
//   gcc -O2 -Wall scripts/native/step_products.c -o /tmp/step -L$L -lgantry_cpu -Wl,-rpath,$L -pthread
//   /tmp/step [mode]   # 0: guided chunks (the pool's); 1: halves; N > 1: chunks of N - 1 groups in order
//   HUGE=1 /tmp/step   # the packed weights on 2 MB pages (madvise), as the worker's HostMemory puts them
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

int64_t gantry_packed_bytes(int32_t type, int64_t rows, int64_t cols);
int32_t gantry_pack(int32_t type, const uint8_t *w, int64_t row_bytes, int64_t rows, int64_t cols, uint8_t *dst);
int32_t gantry_matmul_packed(int32_t type, const uint8_t *packed, const uint8_t *w, int64_t row_bytes,
                             int64_t rows_total, int64_t row_start, int64_t row_end, int64_t cols, const int8_t *xq,
                             const int8_t *tiled, const float *xd, const int16_t *xs, int64_t ntok, float *out,
                             int64_t out_stride, const float *bias);

enum { Q4_0 = 2, THREADS = 2, STEPS = 12, MAX_COLS = 8192 };

// One call of Backend.matmuls: up to three weights sharing an input, taken as one run of 16-row units.
typedef struct {
    int n;
    uint8_t *packed[3];
    int64_t rows[3];
    int64_t cols;
} Product;

static Product products[16 * 4 + 1];
static int num_products, mode;
static double bytes_per_step;
static int8_t xq[MAX_COLS];             // [cols] the token's activations, quantized
static float xd[MAX_COLS / 32];         // [cols / 32] their block scales
static int16_t xs[MAX_COLS / 32];       // [cols / 32] their block sums
static float out[131072];               // [rows] of the product being computed
static atomic_long next_unit;
static atomic_int arrived, generation;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void barrier(void) {
    int g = atomic_load(&generation);
    if (atomic_fetch_add(&arrived, 1) == THREADS - 1) {
        atomic_store(&arrived, 0);
        atomic_fetch_add(&generation, 1);
    } else {
        while (atomic_load(&generation) == g) __builtin_ia32_pause();
    }
}

// A random Q4_0 weight of rows x cols, packed.
static uint8_t *packed_weight(int64_t rows, int64_t cols) {
    int64_t row_bytes = cols / 32 * 18;
    uint8_t *w = malloc(rows * row_bytes);
    for (int64_t i = 0; i < rows * row_bytes; i += 18) {
        uint16_t d = 0x2000;  // a small f16 scale
        memcpy(w + i, &d, 2);
        for (int j = 2; j < 18; j++) w[i + j] = (uint8_t)rand();
    }
    int64_t bytes = gantry_packed_bytes(Q4_0, rows, cols);
    uint8_t *p;
    if (getenv("HUGE")) {  // 2 MB pages where the kernel gives them (THP in madvise mode)
        size_t len = (bytes + (2 << 20) - 1) / (2 << 20) * (2 << 20);
        uint8_t *m = mmap(NULL, len + (2 << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p = (uint8_t *)(((uintptr_t)m + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
        madvise(p, len, MADV_HUGEPAGE);
    } else {
        p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    }
    gantry_pack(Q4_0, w, row_bytes, rows, cols, p);
    free(w);
    bytes_per_step += bytes;
    return p;
}

static void add(int n, int64_t cols, int64_t r0, int64_t r1, int64_t r2) {
    Product *p = &products[num_products++];
    int64_t rows[3] = {r0, r1, r2};
    p->n = n;
    p->cols = cols;
    for (int i = 0; i < n; i++) {
        p->rows[i] = rows[i];
        p->packed[i] = packed_weight(rows[i], cols);
    }
}

// Units [start, end) of product p: each weight's part of them.
static void compute(const Product *p, const int64_t *first, int64_t start, int64_t end) {
    for (int i = 0; i < p->n; i++) {
        int64_t from = start > first[i] ? start : first[i], to = end < first[i + 1] ? end : first[i + 1];
        if (from < to) {
            gantry_matmul_packed(Q4_0, p->packed[i], NULL, 0, p->rows[i], (from - first[i]) * 16,
                                 (to - first[i]) * 16, p->cols, xq, NULL, xd, xs, 1, out, p->rows[i], NULL);
        }
    }
}

static void *step(void *arg) {
    long id = (long)arg;
    for (int k = 0; k < num_products; k++) {
        const Product *p = &products[k];
        int64_t first[4] = {0};
        for (int i = 0; i < p->n; i++) first[i + 1] = first[i] + p->rows[i] / 16;
        int64_t units = first[p->n];
        if (mode == 1) {
            compute(p, first, id * units / THREADS, (id + 1) * units / THREADS);
        } else if (mode == 0) {  // guided: what remains / (2 x threads), at least one unit
            for (;;) {
                long at = atomic_load(&next_unit), left = units - at;
                if (left <= 0) break;
                long take = left / (2 * THREADS) > 1 ? left / (2 * THREADS) : 1;
                if (atomic_compare_exchange_weak(&next_unit, &at, at + take)) compute(p, first, at, at + take);
            }
        } else {  // fixed chunks of mode - 1 units, in order
            for (long at; (at = atomic_fetch_add(&next_unit, mode - 1)) < units;) {
                compute(p, first, at, at + mode - 1 < units ? at + mode - 1 : units);
            }
        }
        barrier();
        if (id == 0) atomic_store(&next_unit, 0);
        barrier();
    }
    return NULL;
}

int main(int argc, char **argv) {
    mode = argc > 1 ? atoi(argv[1]) : 0;
    for (int layer = 0; layer < 16; layer++) {
        add(3, 2048, 2048, 512, 512);  // Q, K, V
        add(1, 2048, 2048, 0, 0);      // attention output
        add(2, 2048, 8192, 8192, 0);   // gate, up
        add(1, 8192, 2048, 0, 0);      // down
    }
    add(1, 2048, 128256, 0, 0);        // output projection
    for (int i = 0; i < MAX_COLS; i++) xq[i] = (int8_t)(rand() % 255 - 127);
    for (int b = 0; b < MAX_COLS / 32; b++) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += xq[b * 32 + j];
        xd[b] = 0.01f;
        xs[b] = (int16_t)sum;
    }
    for (int s = 0; s < STEPS; s++) {
        pthread_t threads[THREADS];
        double t0 = now();
        for (long i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, step, (void *)i);
        for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
        double dt = now() - t0;
        printf("%.1f ms %.1f GB/s\n", dt * 1e3, bytes_per_step / dt / 1e9);
    }
    printf("mode %d, %.0f MB of packed weights a step\n", mode, bytes_per_step / 1e6);
    FILE *smaps = fopen("/proc/self/smaps_rollup", "r");
    for (char line[256]; smaps && fgets(line, sizeof line, smaps);) {
        if (strncmp(line, "AnonHugePages", 13) == 0) fputs(line, stdout);
    }
    return 0;
}
