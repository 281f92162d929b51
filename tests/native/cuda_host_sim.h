// Runs CUDA device code on the host, unchanged: each thread of a block is a ucontext coroutine,
// __syncthreads() a barrier over the block, warp intrinsics (__shfl_*_sync, __ballot_sync, __syncwarp)
// a barrier over the lanes of their mask that then exchanges the lanes' values in lockstep, __shared__ a
// static shared by the block's threads, atomics plain read-modify-writes (threads never run at once).
// Also stands in for the CUDA runtime that csrc/cuda_common.h needs (tests/native/sim_include/
// cuda_runtime.h includes this file), so host launch code runs too once tests/native/cu2host.py has
// turned its `k<<<grid, block, shmem, stream>>>(args)` into gcsim::launch_kernel(...).
// Checks what a GPU would only show as a hang or garbage: divergent __syncthreads, warp intrinsics whose
// mask names exited or absent lanes, bad launch configurations, two threads writing one __shared__ byte
// between barriers (racecheck); __shared__ memory starts every block as 0xFF bytes (NaN, -1), so a read
// of a slot no thread wrote shows. gcsim::order picks the order threads run between barriers (forward,
// reverse, shuffled): a kernel whose result depends on it has a race.
// Device code must use no `static` locals of its own (they would be taken for __shared__ variables).
#pragma once
#include <ucontext.h>
#include <sys/mman.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

// ---- the CUDA vocabulary
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
using uint3 = dim3;
inline dim3 threadIdx, blockIdx, blockDim, gridDim;
constexpr int warpSize = 32;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __shared__ static  // found again through the symbol table (shared_regions below)
#define __constant__ static
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))

template <class T>
inline T __ldg(const T* p) {
    return *p;
}

// CUDA's mixed-type min/max (device code calls min(int64_t, int)); std's would not deduce.
template <class A, class B>
inline std::common_type_t<A, B> min(A a, B b) {
    return b < a ? std::common_type_t<A, B>(b) : std::common_type_t<A, B>(a);
}
template <class A, class B>
inline std::common_type_t<A, B> max(A a, B b) {
    return a < b ? std::common_type_t<A, B>(b) : std::common_type_t<A, B>(a);
}
// The float overloads device code gets from CUDA's math library (expf for exp(float), ...).
using std::ceil;
using std::exp;
using std::expm1;
using std::fabs;
using std::floor;
using std::fma;
using std::isfinite;
using std::isinf;
using std::isnan;
using std::log;
using std::log1p;
using std::pow;
using std::sqrt;
using std::tanh;
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float rsqrt(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }

// ---- runtime stand-ins (cuda_common.h and the host launch code)
using cudaStream_t = struct CUstream_st*;
enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2,
                   cudaErrorInvalidConfiguration = 9 };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
                      cudaMemcpyDeviceToDevice, cudaMemcpyDefault };

namespace gcsim {
// Device ids with their SM counts: grid_for caches per device, so a test switches device to change it.
// Device 1 has one SM, so grid_for caps grids at 32 blocks and grid-stride loops go round.
inline int device = 0;
inline int sm_count_of(int dev) { return dev == 1 ? 1 : 132; }
inline cudaError_t last_error = cudaSuccess;
// 0: threads run in index order between barriers, 1: reversed, 2: shuffled (GCSIM_ORDER sets it)
inline int order = std::getenv("GCSIM_ORDER") ? std::atoi(std::getenv("GCSIM_ORDER")) : 0;
inline uint64_t shuffle_seed = 1;
inline std::vector<std::string> errors;  // protocol errors: divergent barriers, bad warp masks, bad launches
inline long launches = 0;

inline void error(const std::string& what) {
    if (errors.size() < 50) errors.push_back(what);
}
// Racecheck: two threads of a block writing the same shared byte between barriers is an error (checked in
// each grid's first block: a snapshot of the kernel's __shared__ variables around each thread's run).
inline bool shared_racecheck = !std::getenv("GCSIM_NO_RACECHECK");
}  // namespace gcsim

#include <elf.h>
#include <link.h>
#include <fstream>
#include <iterator>

namespace gcsim {
// The __shared__ variables: the function-local statics of gc::cuda device code, read from this program's
// own symbol table (a section attribute would be simpler, but GCC drops it on template instantiations).
// The runtime's own local statics (grid_for's cache, flags, the error slot) are left out by name.
struct Region {
    char* p;
    size_t n;
};
inline const std::vector<Region>& shared_regions() {
    static std::vector<Region> regions = [] {
        std::vector<Region> out;
        std::ifstream f("/proc/self/exe", std::ios::binary);
        std::vector<char> img((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (img.size() < sizeof(Elf64_Ehdr)) return out;
        const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(img.data());
        const auto* sh = reinterpret_cast<const Elf64_Shdr*>(img.data() + eh->e_shoff);
        uintptr_t base = 0;
        dl_iterate_phdr([](dl_phdr_info* info, size_t, void* b) {
            *static_cast<uintptr_t*>(b) = info->dlpi_addr;
            return 1;  // the first object is the program itself
        }, &base);
        for (int i = 0; i < eh->e_shnum; ++i) {
            if (sh[i].sh_type != SHT_SYMTAB) continue;
            const char* names = img.data() + sh[sh[i].sh_link].sh_offset;
            const auto* sym = reinterpret_cast<const Elf64_Sym*>(img.data() + sh[i].sh_offset);
            for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); ++k) {
                const std::string name = names + sym[k].st_name;
                if (ELF64_ST_TYPE(sym[k].st_info) != STT_OBJECT || sym[k].st_size == 0) continue;
                if (name.rfind("_ZZN2gc4cuda", 0) != 0) continue;
                if (name.find("grid_for") != std::string::npos || name.find("sync_debug_flag") != std::string::npos ||
                    name.find("device_error_slot") != std::string::npos || name.find("current_") != std::string::npos)
                    continue;
                if (name.find("_ZGV") != std::string::npos) continue;  // guard variables
                out.push_back({reinterpret_cast<char*>(base + sym[k].st_value), size_t(sym[k].st_size)});
            }
        }
        return out;
    }();
    return regions;
}
}  // namespace gcsim

inline cudaError_t cudaGetLastError() {
    cudaError_t e = gcsim::last_error;
    gcsim::last_error = cudaSuccess;
    return e;
}
inline cudaError_t cudaPeekAtLastError() { return gcsim::last_error; }
inline const char* cudaGetErrorName(cudaError_t e) {
    return e == cudaErrorInvalidConfiguration ? "cudaErrorInvalidConfiguration" : "cudaError";
}
inline const char* cudaGetErrorString(cudaError_t e) { return cudaGetErrorName(e); }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* d) {
    *d = gcsim::device;
    return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int dev) {
    *v = a == cudaDevAttrMultiProcessorCount ? gcsim::sm_count_of(dev) : 0;
    return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t = nullptr) {
    std::memset(p, v, n);
    return cudaSuccess;
}
inline cudaError_t cudaMemset(void* p, int v, size_t n) { return cudaMemsetAsync(p, v, n); }
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t = nullptr) {
    std::memmove(d, s, n);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind k) {
    return cudaMemcpyAsync(d, s, n, k);
}

// ---- the scheduler
namespace gcsim {
enum State { kRun, kBarrier, kWarp, kDone };
constexpr size_t kStack = 64 * 1024;  // ASan clears the shadow of a whole stack at each switch: keep it small

struct Thread {
    ucontext_t ctx;
    State state = kRun;
    unsigned mask = 0;    // the mask of the warp intrinsic it waits in
    int op = 0;           // which intrinsic: lanes of one exchange must agree
    uint64_t value = 0;   // what it contributes to the exchange
    uint64_t seen[32];    // the lanes' values once the exchange completed
};

struct Block {
    std::vector<Thread> t;
    char* stacks = nullptr;
    size_t stack_threads = 0;
    int current = 0;
    unsigned nthreads = 0;
    ucontext_t scheduler;
    const std::function<void()>* body = nullptr;
    std::vector<int> perm;
    std::mt19937_64 rng{1};
};
inline Block blk;

// The __shared__ variables and, per byte, which thread wrote it since the last barrier (-1: none).
struct SharedShadow {
    size_t size = 0;
    std::vector<char> before, now;
    std::vector<int> writer;
    bool reported = false;
    bool learnt = false;  // active is known: only those regions need poisoning
    void start_block() {
        size = 0;
        if (!learnt)
            for (const Region& r : shared_regions()) std::memset(r.p, 0xFF, r.n);  // NaN / -1: garbage, as on a GPU
        for (int i : active) {
            std::memset(shared_regions()[i].p, 0xFF, shared_regions()[i].n);
            size += shared_regions()[i].n;
        }
        before.resize(size);
        now.resize(size);
        writer.assign(size, -1);
        reported = false;
        watch = shared_racecheck && blockIdx.x == 0 && blockIdx.y == 0 && blockIdx.z == 0;
    }
    bool watch = false;  // this block's writes are checked: each grid's first block (for the cost)
    std::vector<int> active;  // the regions the running kernel writes (learnt on its first launch)
    bool on() const { return size && watch; }
    void snapshot(std::vector<char>& into) const {
        size_t at = 0;
        for (int i : active) {
            const Region& r = shared_regions()[i];
            std::memcpy(into.data() + at, r.p, r.n);
            at += r.n;
        }
    }
    // The regions some thread wrote since the last poisoning (any byte no longer 0xFF).
    static std::vector<int> touched() {
        std::vector<int> out;
        const auto& rs = shared_regions();
        for (size_t i = 0; i < rs.size(); ++i)
            for (size_t b = 0; b < rs[i].n; ++b)
                if (static_cast<unsigned char>(rs[i].p[b]) != 0xFF) {
                    out.push_back(int(i));
                    break;
                }
        return out;
    }
    void before_slice() {
        if (on()) snapshot(before);
    }
    void after_slice(int t);
    void barrier() {
        if (on()) std::fill(writer.begin(), writer.end(), -1);
    }
    void warp_synced(unsigned w0, unsigned mask) {  // the lanes' writes are now ordered for each other
        if (!on()) return;
        for (auto& w : writer)
            if (w >= int(w0) && w < int(w0) + 32 && (mask >> (unsigned(w) - w0) & 1u)) w = -1;
    }
};
inline SharedShadow shadow;

inline void entry() {
    (*blk.body)();
    blk.t[blk.current].state = kDone;
}

inline void set_thread_idx(unsigned lin) {
    threadIdx = dim3(lin % blockDim.x, (lin / blockDim.x) % blockDim.y, lin / (blockDim.x * blockDim.y));
}

inline std::string where() {
    char b[120];
    std::snprintf(b, sizeof b, "block (%u,%u,%u) of grid (%u,%u,%u) x block (%u,%u,%u)", blockIdx.x, blockIdx.y,
                  blockIdx.z, gridDim.x, gridDim.y, gridDim.z, blockDim.x, blockDim.y, blockDim.z);
    return b;
}

// Releases the waiting lanes of every warp whose intrinsic is complete; flags masks that can never be.
// Returns whether some lane was released; sets stuck when a warp waits on lanes that exited.
inline bool release_warps(bool& stuck) {
    bool any = false;
    const unsigned n = blk.nthreads;
    for (unsigned w0 = 0; w0 < n; w0 += 32) {
        const unsigned lanes = std::min(32u, n - w0);
        for (unsigned l = 0; l < lanes; ++l) {
            Thread& a = blk.t[w0 + l];
            if (a.state != kWarp) continue;
            bool ready = true;
            for (unsigned m = 0; m < 32; ++m) {
                if (!(a.mask >> m & 1u)) continue;
                if (m >= lanes) {
                    error("warp intrinsic names lane " + std::to_string(m) + " past the block's last thread in " +
                          where());
                    continue;
                }
                const Thread& b = blk.t[w0 + m];
                if (b.state == kWarp && (b.mask != a.mask || b.op != a.op)) {
                    error("lanes of one warp wait in different warp intrinsics (masks " + std::to_string(a.mask) +
                          " / " + std::to_string(b.mask) + ") in " + where());
                    stuck = true;
                    return false;
                }
                if (b.state == kDone) {
                    error("warp intrinsic's mask names lane " + std::to_string(m) + ", which exited, in " + where());
                    stuck = true;
                    return false;
                }
                if (b.state != kWarp) ready = false;
            }
            if (!ready) continue;
            uint64_t vals[32] = {};
            for (unsigned m = 0; m < lanes; ++m)
                if (a.mask >> m & 1u) vals[m] = blk.t[w0 + m].value;
            const unsigned mask = a.mask;
            shadow.warp_synced(w0, mask);
            for (unsigned m = 0; m < lanes; ++m)
                if (mask >> m & 1u) {
                    std::memcpy(blk.t[w0 + m].seen, vals, sizeof vals);
                    blk.t[w0 + m].state = kRun;
                }
            any = true;
        }
    }
    return any;
}

// Which __shared__ variables one launch site's kernel writes: learnt on its first launch (unwatched),
// so later launches snapshot only those around each thread's run.
struct SiteRegions {
    bool learnt = false;
    std::vector<int> regions;
};

// Runs body over every thread of every block of the grid, one block at a time.
inline void run_grid(dim3 grid, dim3 block, const std::function<void()>& body, SiteRegions* site = nullptr) {
    launches++;
    const uint64_t threads = uint64_t(block.x) * block.y * block.z;
    if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        last_error = cudaErrorInvalidConfiguration;
        char b[160];
        std::snprintf(b, sizeof b, "invalid launch configuration: grid (%u,%u,%u) block (%u,%u,%u)", grid.x, grid.y,
                      grid.z, block.x, block.y, block.z);
        error(b);
        return;
    }
    gridDim = grid;
    blockDim = block;
    blk.body = &body;
    blk.nthreads = unsigned(threads);
    blk.t.resize(threads);
    if (blk.stack_threads < threads) {
        if (blk.stacks) munmap(blk.stacks, blk.stack_threads * kStack);
        blk.stacks = static_cast<char*>(
            mmap(nullptr, threads * kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
        blk.stack_threads = threads;
    }
    blk.perm.resize(threads);
    blk.rng.seed(shuffle_seed);
    shadow.learnt = site && site->learnt;
    if (shadow.learnt) shadow.active = site->regions;
    else shadow.active.clear();
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                blockIdx = dim3(bx, by, bz);
                for (unsigned t = 0; t < threads; ++t) {
                    Thread& th = blk.t[t];
                    getcontext(&th.ctx);
                    th.ctx.uc_stack.ss_sp = blk.stacks + t * kStack;
                    th.ctx.uc_stack.ss_size = kStack;
                    th.ctx.uc_link = &blk.scheduler;
                    makecontext(&th.ctx, entry, 0);
                    th.state = kRun;
                    blk.perm[t] = int(t);
                }
                if (order == 1) std::reverse(blk.perm.begin(), blk.perm.end());
                shadow.start_block();
                for (;;) {
                    if (order == 2) std::shuffle(blk.perm.begin(), blk.perm.end(), blk.rng);
                    for (int t : blk.perm) {
                        if (blk.t[t].state != kRun) continue;
                        blk.current = t;
                        set_thread_idx(unsigned(t));
                        shadow.before_slice();
                        swapcontext(&blk.scheduler, &blk.t[t].ctx);
                        shadow.after_slice(t);
                    }
                    bool stuck = false;
                    if (release_warps(stuck)) continue;
                    if (stuck) break;
                    unsigned at_barrier = 0, done = 0, in_warp = 0;
                    for (unsigned t = 0; t < threads; ++t) {
                        at_barrier += blk.t[t].state == kBarrier;
                        done += blk.t[t].state == kDone;
                        in_warp += blk.t[t].state == kWarp;
                    }
                    if (done == threads) break;
                    if (in_warp) {
                        error("warp intrinsic never completes (its lanes wait at __syncthreads or elsewhere) in " +
                              where());
                        break;
                    }
                    if (done) {
                        error("__syncthreads reached by " + std::to_string(at_barrier) + " threads while " +
                              std::to_string(done) + " exited in " + where());
                        break;
                    }
                    for (unsigned t = 0; t < threads; ++t) blk.t[t].state = kRun;
                    shadow.barrier();
                }
            }
    if (site && !site->learnt) {
        site->regions = SharedShadow::touched();
        site->learnt = true;
    }
}

inline void SharedShadow::after_slice(int t) {
    if (!on()) return;
    snapshot(now);
    if (std::memcmp(now.data(), before.data(), size) == 0) return;
    for (size_t b = 0; b < size; ++b) {
        if (now[b] == before[b]) continue;
        if (writer[b] >= 0 && writer[b] != t && !reported) {
            reported = true;
            error("threads " + std::to_string(writer[b]) + " and " + std::to_string(t) + " both write shared byte " +
                  std::to_string(b) + " (of all __shared__ variables) between barriers in " + where());
        }
        writer[b] = t;
    }
}

// The host launch code's kernel<<<grid, block, shmem, stream>>>(args), as cu2host.py writes it.
struct LaunchCfg {
    dim3 grid, block;
    LaunchCfg(dim3 g, dim3 b, size_t = 0, cudaStream_t = nullptr) : grid(g), block(b) {}
};
template <class F>
inline void launch_kernel(const LaunchCfg& c, F&& call) {
    static SiteRegions site;  // one per launch site (each has its own lambda type)
    const std::function<void()> body = [&] { call(); };
    run_grid(c.grid, c.block, body, &site);
}

// Blocks the calling thread until the lanes of `mask` reach the same intrinsic; returns their values.
inline const uint64_t* warp_exchange(unsigned mask, int op, uint64_t value) {
    Thread& th = blk.t[blk.current];
    const unsigned lane = unsigned(blk.current) % 32;
    if (!(mask >> lane & 1u)) error("warp intrinsic called by lane " + std::to_string(lane) + " outside its mask");
    th.mask = mask;
    th.op = op;
    th.value = value;
    th.state = kWarp;
    const int me = blk.current;
    swapcontext(&blk.t[me].ctx, &blk.scheduler);
    return blk.t[me].seen;
}

template <class T>
inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8, "warp shuffle of a value wider than 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <class T>
inline T from_bits(uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}
inline unsigned lane_id() { return unsigned(blk.current) % 32; }
}  // namespace gcsim

inline void __syncthreads() {
    using namespace gcsim;
    const int me = blk.current;
    blk.t[me].state = kBarrier;
    swapcontext(&blk.t[me].ctx, &blk.scheduler);
}
inline void __syncwarp(unsigned mask = 0xffffffffu) { gcsim::warp_exchange(mask, 1, 0); }

template <class T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    const uint64_t* s = gcsim::warp_exchange(mask, 2, gcsim::to_bits(v));
    const unsigned lane = gcsim::lane_id(), base = lane & ~unsigned(width - 1);
    return gcsim::from_bits<T>(s[base + (unsigned(src) & unsigned(width - 1))]);
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    const uint64_t* s = gcsim::warp_exchange(mask, 3, gcsim::to_bits(v));
    const unsigned lane = gcsim::lane_id(), seg = lane % unsigned(width);
    return seg + delta < unsigned(width) ? gcsim::from_bits<T>(s[lane + delta]) : v;
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    const uint64_t* s = gcsim::warp_exchange(mask, 4, gcsim::to_bits(v));
    const unsigned lane = gcsim::lane_id(), seg = lane % unsigned(width);
    return seg >= delta ? gcsim::from_bits<T>(s[lane - delta]) : v;
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    const uint64_t* s = gcsim::warp_exchange(mask, 5, gcsim::to_bits(v));
    const unsigned lane = gcsim::lane_id(), src = lane ^ unsigned(lane_mask);
    return src / unsigned(width) == lane / unsigned(width) ? gcsim::from_bits<T>(s[src]) : v;
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
    const uint64_t* s = gcsim::warp_exchange(mask, 6, pred ? 1 : 0);
    unsigned r = 0;
    for (unsigned l = 0; l < 32; ++l)
        if ((mask >> l & 1u) && s[l]) r |= 1u << l;
    return r;
}
inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) { return (__ballot_sync(mask, pred) & mask) == mask; }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
inline int __ffs(int v) { return __builtin_ffs(v); }
inline int __clz(int v) { return v ? __builtin_clz(unsigned(v)) : 32; }

// ---- atomics: threads never run at once, so a plain read-modify-write is atomic
template <class T>
inline T atomicAdd(T* p, T v) {
    T old = *p;
    *p = old + v;
    return old;
}
template <class T>
inline T atomicSub(T* p, T v) {
    T old = *p;
    *p = old - v;
    return old;
}
template <class T>
inline T atomicMin(T* p, T v) {
    T old = *p;
    *p = v < old ? v : old;
    return old;
}
template <class T>
inline T atomicMax(T* p, T v) {
    T old = *p;
    *p = old < v ? v : old;
    return old;
}
template <class T>
inline T atomicExch(T* p, T v) {
    T old = *p;
    *p = v;
    return old;
}
template <class T>
inline T atomicCAS(T* p, T compare, T v) {
    T old = *p;
    if (old == compare) *p = v;
    return old;
}
inline void __threadfence() {}
