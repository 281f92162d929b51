// Host buffer cache for large tensors. glibc serves allocations above its mmap threshold (at most
// 32 MiB) with fresh mappings and unmaps them on free, so each new large tensor page-faults all of
// its memory in again: a 64 MiB ReLU output then costs twice the ReLU. Freed large blocks are kept
// here (up to a cap) and reused instead.
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include "allocator_cpu.h"

namespace gc::cpu {
namespace {

constexpr size_t kCacheCapBytes = size_t(2) << 30;  // cached (free) bytes kept at most

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

size_t round_up(size_t bytes) { return (bytes + (size_t(2) << 20) - 1) / (size_t(2) << 20) * (size_t(2) << 20); }

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
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
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
        std::free(last->second);
        c.free_blocks.erase(last);
    }
}

void host_empty_cache() {
    HostCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    for (auto& kv : c.free_blocks) std::free(kv.second);
    c.free_blocks.clear();
    c.cached = 0;
}

std::vector<std::pair<std::string, int64_t>> host_memory_stats() {
    HostCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    return {{"cached_bytes", int64_t(c.cached)}, {"allocations", c.allocs}, {"cache_hits", c.hits}};
}

}  // namespace gc::cpu
