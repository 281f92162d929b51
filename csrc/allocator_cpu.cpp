// Host buffer cache for large tensors. glibc serves allocations above its mmap threshold with fresh
// mappings and unmaps them on free, and trims the top of its heap once more than twice that threshold
// is free there, so each new large tensor can page-fault all of its memory in again: a 64 MiB ReLU output
// then costs twice the ReLU, and the MLP step at batch 8192 (8 MiB and 4 MiB activations) took ~2,500
// faults (10 MiB) per step in benchmarks/run.py's process. Blocks here are mapped by us, kept when freed
// (up to a cap) and reused; blocks of 2 MiB and more are 2 MiB-aligned and advised for transparent huge
// pages (THP in "madvise" mode, the usual default, gives them to no one who does not ask).
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include "allocator_cpu.h"

#ifndef GC_HOST_HUGEPAGES
#define GC_HOST_HUGEPAGES 1
#endif

namespace gc::cpu {
namespace {

constexpr size_t kCacheCapBytes = size_t(2) << 30;  // cached (free) bytes kept at most
constexpr size_t kHuge = size_t(2) << 20;           // one x86-64 huge page
constexpr size_t kSmallGrain = size_t(64) << 10;    // rounding below kHuge: a 1.1 MiB block is not 2 MiB

struct HostCache {
    std::mutex mu;
    std::multimap<size_t, void*> free_blocks;
    size_t cached = 0;
    int64_t allocs = 0, hits = 0;
};

HostCache& cache() {
    static HostCache* c = new HostCache();  // never destroyed: arrays may die during interpreter exit
    return *c;
}

size_t round_up(size_t bytes) {
    const size_t grain = bytes >= kHuge ? kHuge : kSmallGrain;
    return (bytes + grain - 1) / grain * grain;
}

// Whether blocks of kHuge and more are aligned and advised for huge pages: GRADCORE_HOST_HUGEPAGES=0 turns
// it off (for A/B timing).
bool huge_pages() {
    static const bool on = [] {
        const char* env = std::getenv("GRADCORE_HOST_HUGEPAGES");
        return GC_HOST_HUGEPAGES && !(env && env[0] == '0');
    }();
    return on;
}

// A fresh mapping of `bytes` (a multiple of the grain); 2 MiB-aligned and THP-advised from kHuge up.
void* map_block(size_t bytes) {
    const bool huge = bytes >= kHuge && huge_pages();
    const size_t span = huge ? bytes + kHuge : bytes;
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    if (!huge) return raw;
    const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t start = (base + kHuge - 1) & ~(uintptr_t(kHuge) - 1);
    const size_t head = start - base, tail = span - head - bytes;
    if (head) munmap(raw, head);
    if (tail) munmap(reinterpret_cast<void*>(start + bytes), tail);
#ifdef MADV_HUGEPAGE
    madvise(reinterpret_cast<void*>(start), bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    return reinterpret_cast<void*>(start);
}

void unmap_block(void* p, size_t bytes) { munmap(p, bytes); }

}  // namespace

void* host_alloc(size_t requested, size_t* actual) {
    HostCache& c = cache();
    size_t bytes = round_up(requested);
    {
        std::lock_guard<std::mutex> lock(c.mu);
        auto it = c.free_blocks.lower_bound(bytes);
        if (it != c.free_blocks.end() && it->first <= bytes + bytes / 4) {
            void* p = it->second;
            *actual = it->first;
            c.cached -= it->first;
            c.free_blocks.erase(it);
            c.hits++;
            return p;
        }
        c.allocs++;
    }
    void* p = map_block(bytes);
    *actual = bytes;
    return p;
}

void host_free(void* p, size_t bytes) {
    HostCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    c.free_blocks.emplace(bytes, p);
    c.cached += bytes;
    while (c.cached > kCacheCapBytes) {  // drop the largest blocks first
        auto last = std::prev(c.free_blocks.end());
        c.cached -= last->first;
        unmap_block(last->second, last->first);
        c.free_blocks.erase(last);
    }
}

void host_empty_cache() {
    HostCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    for (auto& kv : c.free_blocks) unmap_block(kv.second, kv.first);
    c.free_blocks.clear();
    c.cached = 0;
}

std::vector<std::pair<std::string, int64_t>> host_memory_stats() {
    HostCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    return {{"cached_bytes", int64_t(c.cached)}, {"allocations", c.allocs}, {"cache_hits", c.hits}};
}

}  // namespace gc::cpu
