// Caching device allocator: freed blocks are kept by size and reused, so steady-state training
// makes no cudaMalloc/cudaFree calls (each costs tens of microseconds and synchronizes).
#include <map>
#include <mutex>
#include "cuda_common.h"

namespace gc::cuda {
namespace {

struct Cache {
    std::mutex mu;
    std::multimap<size_t, void*> free_blocks;  // rounded size -> pointer
    int64_t in_use_bytes = 0, cached_bytes = 0, peak_bytes = 0, mallocs = 0, frees = 0, hits = 0;
};

Cache& cache() {
    static Cache* c = new Cache();  // never destroyed: blocks may be released during interpreter exit
    return *c;
}

// 512-byte granularity below 1 MiB, 2 MiB above, so similar requests share blocks.
size_t round_size(size_t bytes) {
    size_t unit = bytes < (1u << 20) ? 512 : (2u << 20);
    return std::max<size_t>(unit, (bytes + unit - 1) / unit * unit);
}

void release_all_locked(Cache& c) {
    for (auto& kv : c.free_blocks) {
        cudaFree(kv.second);
        c.frees++;
    }
    c.free_blocks.clear();
    c.cached_bytes = 0;
}

}  // namespace

DeviceBlock::~DeviceBlock() {
    if (external_release) {
        external_release(external_ctx);
        return;
    }
    if (!ptr) return;
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    c.free_blocks.emplace(bytes, ptr);
    c.in_use_bytes -= int64_t(bytes);
    c.cached_bytes += int64_t(bytes);
}

std::shared_ptr<DeviceBlock> device_alloc(size_t requested) {
    Cache& c = cache();
    size_t bytes = round_size(requested);
    auto block = std::make_shared<DeviceBlock>();
    block->bytes = bytes;
    std::lock_guard<std::mutex> lock(c.mu);
    // Reuse a cached block of this size or up to twice as large.
    auto it = c.free_blocks.lower_bound(bytes);
    if (it != c.free_blocks.end() && it->first <= 2 * bytes) {
        block->ptr = it->second;
        block->bytes = it->first;
        c.cached_bytes -= int64_t(it->first);
        c.free_blocks.erase(it);
        c.hits++;
    } else {
        cudaError_t err = cudaMalloc(&block->ptr, bytes);
        if (err == cudaErrorMemoryAllocation) {  // give the cache back to the driver and retry once
            cudaGetLastError();
            release_all_locked(c);
            err = cudaMalloc(&block->ptr, bytes);
        }
        if (err != cudaSuccess) {
            block->ptr = nullptr;
            cudaGetLastError();
            if (err == cudaErrorMemoryAllocation)
                throw OutOfMemory("CUDA out of memory: tried to allocate " + std::to_string(bytes) + " bytes (" +
                                  std::to_string(c.in_use_bytes) + " bytes in use)");
            check(err, "cudaMalloc");
        }
        c.mallocs++;
    }
    c.in_use_bytes += int64_t(block->bytes);
    c.peak_bytes = std::max(c.peak_bytes, c.in_use_bytes);
    return block;
}

void empty_cache() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    release_all_locked(c);
}

std::vector<std::pair<std::string, int64_t>> memory_stats() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    return {{"allocated_bytes", c.in_use_bytes}, {"cached_bytes", c.cached_bytes},
            {"peak_allocated_bytes", c.peak_bytes}, {"num_mallocs", c.mallocs},
            {"num_frees", c.frees}, {"cache_hits", c.hits}};
}

}  // namespace gc::cuda
