// The runtime behind cuda_emu.h: a registry of kernels by name, and a launch that runs every
// block of a grid in turn, each block's threads as fibers scheduled round-robin between barriers.
#include "cuda_emu.h"

#include <sys/mman.h>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace gantry_emu {

thread_local Thread* current_thread = nullptr;
thread_local const Launch* current_launch = nullptr;

namespace {

// A fiber's saved execution state, and the switch between two. On x86-64 a few instructions
// (callee-saved registers, the stack pointer, the float control words): swapcontext would also
// save and restore the signal mask, a system call on every switch, the bulk of a kernel's time.
#if defined(__x86_64__)
extern "C" void gantry_emu_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .globl gantry_emu_switch
    .hidden gantry_emu_switch
    .type gantry_emu_switch, @function
gantry_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size gantry_emu_switch, .-gantry_emu_switch
)");

struct Context {
    void* sp = nullptr;
};

// Makes `c` start `entry` on the stack [base, base + bytes) when first switched to; entry must
// never return (it switches away for good).
void prepare(Context& c, unsigned char* base, std::size_t bytes, void (*entry)()) {
    uintptr_t top = (reinterpret_cast<uintptr_t>(base) + bytes) & ~static_cast<uintptr_t>(15);
    auto* slots = reinterpret_cast<uint64_t*>(top);
    slots[-1] = 0;                                    // entry's return address: none (rsp = 8 mod 16 at entry)
    slots[-2] = reinterpret_cast<uint64_t>(entry);    // where the switch's ret goes
    for (int i = 3; i <= 8; i++) {
        slots[-i] = 0;                                // rbp rbx r12 r13 r14 r15
    }
    uint32_t mxcsr;
    uint16_t fpucw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpucw));
    slots[-9] = mxcsr | static_cast<uint64_t>(fpucw) << 32;
    c.sp = &slots[-9];
}

void jump(Context& from, Context& to) { gantry_emu_switch(&from.sp, to.sp); }
#else
struct Context {
    ucontext_t uc;
};

void prepare(Context& c, unsigned char* base, std::size_t bytes, void (*entry)()) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = base;
    c.uc.uc_stack.ss_size = bytes;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, entry, 0);
}

void jump(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

constexpr std::size_t kStackBytes = 256 * 1024;
constexpr unsigned int kMaxThreads = 1024;
constexpr unsigned int kMaxDynamicShared = 227 * 1024; // sm_90's opt-in limit per block

struct Fiber {
    Context ctx;
    Thread thread;
    bool done;
};

struct Barrier {
    int live = 0;      // threads that have not returned
    int arrived = 0;   // threads waiting at the barrier now
    unsigned int generation = 0;
};

struct Warp {
    Barrier barrier;
    uint64_t slot[32];
};

struct Block {
    std::vector<Fiber> fibers;
    std::vector<Warp> warps;
    Barrier barrier;
    Context scheduler;
    Fiber* running = nullptr;
    uint64_t progress = 0; // arrivals and exits: a pass over the fibers without any is a deadlock
    Entry entry = nullptr;
    void** params = nullptr;
    std::vector<unsigned char> shared;
    std::string error;
};

Block* block = nullptr;
std::mutex launch_lock;
unsigned char* stacks = nullptr;
std::size_t stacks_bytes = 0;

std::map<std::string, Entry>& registry() {
    static std::map<std::string, Entry> kernels;
    return kernels;
}

void yield() { jump(block->running->ctx, block->scheduler); }

void wait(Barrier& b) {
    unsigned int generation = b.generation;
    block->progress++;
    if (++b.arrived == b.live) {
        b.arrived = 0;
        b.generation++;
        return;
    }
    while (b.generation == generation) {
        yield();
    }
}

void leave(Barrier& b) {
    b.live--;
    if (b.arrived > 0 && b.arrived == b.live) { // the last thread the others waited for has returned
        b.arrived = 0;
        b.generation++;
    }
}

Warp& warp_of(const Fiber* f) { return block->warps[f->thread.linear / 32]; }

void fiber_main() {
    block->entry(block->params);
    Fiber* f = block->running;
    f->done = true;
    block->progress++;
    leave(block->barrier);
    leave(warp_of(f).barrier);
    jump(f->ctx, block->scheduler); // for good: a finished fiber is never resumed
}

bool ensure_stacks(unsigned int threads) {
    std::size_t need = static_cast<std::size_t>(threads) * kStackBytes;
    if (stacks_bytes >= need) {
        return true;
    }
    if (stacks != nullptr) {
        munmap(stacks, stacks_bytes);
    }
    void* p = mmap(nullptr, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        stacks = nullptr;
        stacks_bytes = 0;
        return false;
    }
    stacks = static_cast<unsigned char*>(p);
    stacks_bytes = need;
    return true;
}

// Runs one block to its end; false (with block->error set) on a deadlock or a kernel's fail().
bool run_block(const Launch& launch, unsigned int threads) {
    Block& b = *block;
    b.fibers.assign(threads, Fiber{});
    b.warps.assign((threads + 31) / 32, Warp{});
    b.barrier = Barrier{};
    b.barrier.live = static_cast<int>(threads);
    for (unsigned int w = 0; w < b.warps.size(); w++) {
        b.warps[w].barrier.live = static_cast<int>(threads - 32 * w < 32 ? threads - 32 * w : 32);
    }
    // Dynamic shared memory starts as NaN bytes, so a kernel that reads before writing shows it.
    std::memset(b.shared.data(), 0xff, b.shared.size());
    for (unsigned int i = 0; i < threads; i++) {
        Fiber& f = b.fibers[i];
        f.thread.linear = i;
        f.thread.thread_idx = {i % launch.block_dim.x, (i / launch.block_dim.x) % launch.block_dim.y,
                               i / (launch.block_dim.x * launch.block_dim.y)};
        f.done = false;
        prepare(f.ctx, stacks + static_cast<std::size_t>(i) * kStackBytes, kStackBytes, fiber_main);
    }
    current_launch = &launch;
    while (b.barrier.live > 0) {
        uint64_t before = b.progress;
        for (Fiber& f : b.fibers) {
            if (f.done) {
                continue;
            }
            b.running = &f;
            current_thread = &f.thread;
            jump(b.scheduler, f.ctx);
            if (!b.error.empty()) {
                return false;
            }
        }
        if (b.progress == before) {
            char msg[256];
            std::snprintf(msg, sizeof msg,
                          "deadlock in block (%u,%u,%u): %d of %d running threads wait at a barrier the others never reach",
                          launch.block_idx.x, launch.block_idx.y, launch.block_idx.z, b.barrier.arrived,
                          b.barrier.live);
            b.error = msg;
            return false;
        }
    }
    return true;
}

} // namespace

void* dynamic_shared() { return block->shared.data(); }

void sync_block() { wait(block->barrier); }

void sync_warp() { wait(warp_of(block->running).barrier); }

unsigned int lane() { return block->running->thread.linear % 32; }

uint64_t exchange(uint64_t mine, int src) {
    Warp& w = warp_of(block->running);
    w.slot[lane()] = mine;
    wait(w.barrier);
    uint64_t got = mine;
    if (src >= 0) {
        if (src >= w.barrier.live) {
            fail("warp shuffle reads a lane that is not running");
        }
        got = w.slot[src];
    }
    wait(w.barrier);
    return got;
}

float warp_butterfly(float v, bool max) {
    Warp& w = warp_of(block->running);
    if (w.barrier.live != 32) {
        fail("a warp reduction in a warp with fewer than 32 running threads");
    }
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof v);
    w.slot[lane()] = bits;
    wait(w.barrier);
    float vals[32];
    for (int i = 0; i < 32; i++) {
        std::memcpy(&vals[i], &w.slot[i], sizeof(float));
    }
    wait(w.barrier);
    for (int offset = 16; offset > 0; offset >>= 1) {
        float next[32];
        for (int i = 0; i < 32; i++) {
            next[i] = max ? fmaxf(vals[i], vals[i ^ offset]) : vals[i] + vals[i ^ offset];
        }
        std::memcpy(vals, next, sizeof vals);
    }
    return vals[lane()];
}

void fail(const char* message) {
    block->error = message;
    jump(block->running->ctx, block->scheduler);
    std::abort(); // never resumed
}

Registrar::Registrar(const char* name, Entry entry) { registry()[name] = entry; }

} // namespace gantry_emu

extern "C" {

// Runs kernel `name` as cuLaunchKernel would: params[i] points at its i-th argument. Returns 0,
// or -1 with a message in err (unknown kernel, bad launch shape, deadlock, a kernel's fail()).
int gantry_emu_launch(const char* name, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                      unsigned int by, unsigned int bz, unsigned int shared_bytes, void** params, char* err,
                      int err_len) {
    using namespace gantry_emu;
    auto report = [&](const std::string& m) {
        std::snprintf(err, static_cast<std::size_t>(err_len), "%s: %s", name, m.c_str());
        return -1;
    };
    auto it = registry().find(name);
    if (it == registry().end()) {
        return report("no such kernel");
    }
    unsigned long long threads = static_cast<unsigned long long>(bx) * by * bz;
    if (threads == 0 || threads > kMaxThreads) {
        return report("a block of " + std::to_string(threads) + " threads (1 to 1024 allowed)");
    }
    if (gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535) {
        return report("a grid of " + std::to_string(gx) + "x" + std::to_string(gy) + "x" + std::to_string(gz));
    }
    if (shared_bytes > kMaxDynamicShared) {
        return report(std::to_string(shared_bytes) + " bytes of dynamic shared memory (at most 227 KiB)");
    }
    std::lock_guard<std::mutex> hold(launch_lock);
    if (!ensure_stacks(static_cast<unsigned int>(threads))) {
        return report("no memory for the threads' stacks");
    }
    Block b;
    b.entry = it->second;
    b.params = params;
    b.shared.assign(shared_bytes, 0);
    block = &b;
    Launch launch{{0, 0, 0}, dim3(bx, by, bz), dim3(gx, gy, gz)};
    int rc = 0;
    for (unsigned int z = 0; z < gz && rc == 0; z++) {
        for (unsigned int y = 0; y < gy && rc == 0; y++) {
            for (unsigned int x = 0; x < gx && rc == 0; x++) {
                launch.block_idx = {x, y, z};
                if (!run_block(launch, static_cast<unsigned int>(threads))) {
                    rc = report(b.error);
                }
            }
        }
    }
    block = nullptr;
    current_thread = nullptr;
    current_launch = nullptr;
    return rc;
}

// The names of all kernels in the library, one per line, into buf; returns the bytes needed.
int gantry_emu_kernels(char* buf, int len) {
    std::string all;
    for (auto& [name, entry] : gantry_emu::registry()) {
        all += name;
        all += '\n';
    }
    if (len > 0) {
        std::snprintf(buf, static_cast<std::size_t>(len), "%s", all.c_str());
    }
    return static_cast<int>(all.size()) + 1;
}
}
