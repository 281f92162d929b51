// Caching device allocator: freed blocks are kept by stream and size and reused, so steady-state training
// makes no cudaMalloc/cudaFree calls (each costs tens of microseconds and synchronizes). Also the
// device-side error record that kernels write instead of syncing.
// Compiled, not yet run on a GPU (per-stream free lists, cross-stream free events, the error record).
#include <map>
#include <mutex>
#include <utility>
#include "cuda_common.h"

namespace gc::cuda {
namespace {

// A cached block is handed out again only on the stream it was allocated on: work queued there before the
// free runs before any later use, so no sync is needed. A block freed while another stream was current
// (it was used there) carries an event recorded on that stream at free time; reuse waits on it.
struct FreeBlock {
    void* ptr;
    cudaEvent_t used_elsewhere;  // nullptr when freed on its own stream
};

struct Cache {
    std::mutex mu;
    std::multimap<std::pair<uintptr_t, size_t>, FreeBlock> free_blocks;  // (stream handle, rounded size)
    int64_t in_use_bytes = 0, cached_bytes = 0, peak_bytes = 0, mallocs = 0, frees = 0, hits = 0;
};

inline uintptr_t key(cudaStream_t s) { return reinterpret_cast<uintptr_t>(s); }

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
    // cudaFree waits for the device, so pending work on any stream finishes before memory is returned.
    for (auto& kv : c.free_blocks) {
        if (kv.second.used_elsewhere) cudaEventDestroy(kv.second.used_elsewhere);
        cudaFree(kv.second.ptr);
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
    FreeBlock fb{ptr, nullptr};
    cudaStream_t now = current_stream_ref();
    if (now != stream) {
        // Last used (probably) on the current stream: reuse on the owning stream must wait for it.
        if (cudaEventCreateWithFlags(&fb.used_elsewhere, cudaEventDisableTiming) != cudaSuccess ||
            cudaEventRecord(fb.used_elsewhere, now) != cudaSuccess) {
            cudaGetLastError();
            if (fb.used_elsewhere) cudaEventDestroy(fb.used_elsewhere);
            fb.used_elsewhere = nullptr;
            cudaStreamSynchronize(now);  // no event: order by waiting (a destructor must not throw)
            cudaGetLastError();
        }
    }
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    c.free_blocks.emplace(std::make_pair(key(stream), bytes), fb);
    c.in_use_bytes -= int64_t(bytes);
    c.cached_bytes += int64_t(bytes);
}

std::shared_ptr<DeviceBlock> device_alloc(size_t requested) {
    Cache& c = cache();
    size_t bytes = round_size(requested);
    cudaStream_t s = current_stream_ref();
    auto block = std::make_shared<DeviceBlock>();
    block->bytes = bytes;
    block->valid_bytes = requested;
    block->stream = s;
    std::lock_guard<std::mutex> lock(c.mu);
    // Reuse a cached block of this stream and this size or up to twice as large.
    auto it = c.free_blocks.lower_bound({key(s), bytes});
    if (it != c.free_blocks.end() && it->first.first == key(s) && it->first.second <= 2 * bytes) {
        if (it->second.used_elsewhere) {
            cudaError_t err = cudaStreamWaitEvent(s, it->second.used_elsewhere, 0);
            cudaEventDestroy(it->second.used_elsewhere);
            check(err, "cudaStreamWaitEvent (allocator reuse)");
        }
        block->ptr = it->second.ptr;
        block->bytes = it->first.second;
        c.cached_bytes -= int64_t(it->first.second);
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

void stream_destroyed(cudaStream_t s) {
    // The caller synchronized s, so its cached blocks are idle: move them to the legacy stream's list
    // (a new stream may get the same handle; idle blocks are safe anywhere).
    if (!s) return;
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto lo = c.free_blocks.lower_bound({key(s), 0});
    while (lo != c.free_blocks.end() && lo->first.first == key(s)) {
        c.free_blocks.emplace(std::make_pair(uintptr_t(0), lo->first.second), lo->second);
        lo = c.free_blocks.erase(lo);
    }
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

// ---- The device error record (one per process, on the device current at first use).
DeviceError* device_error_slot() {
    static DeviceError* slot = [] {
        void* p = nullptr;
        check(cudaMalloc(&p, sizeof(DeviceError)), "cudaMalloc (device error record)");
        check(cudaMemset(p, 0, sizeof(DeviceError)), "cudaMemset (device error record)");
        return static_cast<DeviceError*>(p);
    }();
    return slot;
}

void raise_pending_errors() {
    // Callers have synchronized the work that may have written the record; this read is a small sync copy
    // on the current stream (a pinned word would save little: it runs only at sync points).
    DeviceError* slot = device_error_slot();
    DeviceError e{};
    check(cudaMemcpyAsync(&e, slot, sizeof(e), cudaMemcpyDeviceToHost, stream()), "reading the device error record");
    check(cudaStreamSynchronize(stream()), "reading the device error record");
    if (e.kind == 0) return;
    check(cudaMemsetAsync(slot, 0, sizeof(DeviceError), stream()), "clearing the device error record");
    check(cudaStreamSynchronize(stream()), "clearing the device error record");
    if (e.kind == 1)
        throw std::out_of_range("gradcore: cross_entropy target " + std::to_string(e.value) + " at row " +
                                std::to_string(e.row) + " is out of range [0, " + std::to_string(e.classes) +
                                ") (reported by a CUDA kernel at this sync point)");
    throw std::runtime_error("gradcore: unknown device error record " + std::to_string(e.kind));
}

}  // namespace gc::cuda
