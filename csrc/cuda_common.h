// CUDA-side helpers: error checks that throw, the current stream, launch geometry, the device array type.
// Compiled, not yet run on a GPU (streams, sync debug, pending device errors, checked sizes, per-device grids).
#pragma once
#include <cuda_runtime.h>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include "common.h"

namespace gc::cuda {

// Thrown when the device cannot satisfy an allocation even after the cache was emptied.
struct OutOfMemory : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline void check(cudaError_t err, const char* what) {
    if (err == cudaSuccess) return;
    cudaGetLastError();  // clear non-sticky errors so the process stays usable
    if (err == cudaErrorMemoryAllocation) throw OutOfMemory(std::string("CUDA out of memory in ") + what);
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(err) + " (" +
                             cudaGetErrorString(err) + ")");
}

// ---- The current stream: every launch, memset and copy the binding makes goes to it. Per thread, as in
// PyTorch; 0 is the legacy default stream. Kernels launch with <<<grid, block, 0, stream()>>>.
inline cudaStream_t& current_stream_ref() {
    static thread_local cudaStream_t s = nullptr;
    return s;
}
inline cudaStream_t stream() { return current_stream_ref(); }

// Sync debug (set_sync_debug, or GRADCORE_CUDA_SYNC=1 at import): each launch is followed by a stream sync
// and a check, so an asynchronous fault is reported by the kernel that caused it instead of a later call.
inline std::atomic<bool>& sync_debug_flag() {
    static std::atomic<bool> on{false};
    return on;
}

// Errors that kernels find in their input (an out-of-range target) are written to a device-side record
// instead of syncing; raise_pending_errors() reads it at the next sync point and throws. Defined in
// allocator_cuda.cu.
struct DeviceError {
    int32_t kind;  // 0: none, 1: cross_entropy target out of range
    int32_t pad;
    int64_t row, value, classes;
};
DeviceError* device_error_slot();  // device pointer, zero-initialised once (current device)
void raise_pending_errors();       // syncs nothing itself: call after the stream/device sync

// The binding entry running now ("unary_relu"), so a launch error names the op and not only its family.
inline const char*& current_op() {
    static thread_local const char* op = nullptr;
    return op;
}
struct OpScope {
    const char* saved;
    explicit OpScope(const char* name) : saved(current_op()) { current_op() = name; }
    ~OpScope() { current_op() = saved; }
};

inline void launch_check(const char* name) {
    cudaError_t err = cudaGetLastError();  // configuration errors show up here, faults at the next sync
    if (err == cudaSuccess && sync_debug_flag().load(std::memory_order_relaxed)) err = cudaStreamSynchronize(stream());
    if (err != cudaSuccess) {
        std::string what = name;
        if (current_op()) what += std::string(" (") + current_op() + ")";
        check(err, what.c_str());
    }
    if (sync_debug_flag().load(std::memory_order_relaxed)) raise_pending_errors();
}

#define GC_CUDA_CHECK(expr) ::gc::cuda::check((expr), #expr)
#define GC_LAUNCH_CHECK(name) ::gc::cuda::launch_check(name)

constexpr int kThreads = 256;

// The SM count of the current device, cached per device id (a process may switch devices).
inline int grid_for(int64_t n, int threads = kThreads) {
    constexpr int kMaxDevices = 64;
    static std::atomic<int> max_blocks[kMaxDevices];  // 0: not yet queried
    int dev = 0;
    cudaGetDevice(&dev);
    int cap = 0;
    if (dev >= 0 && dev < kMaxDevices) cap = max_blocks[dev].load(std::memory_order_relaxed);
    if (cap == 0) {
        int sms = 0;
        if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) cudaGetLastError();
        cap = std::max(sms, 1) * 32;
        if (dev >= 0 && dev < kMaxDevices) max_blocks[dev].store(cap, std::memory_order_relaxed);
    }
    int64_t blocks = (n + threads - 1) / threads;
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(blocks, cap)));
}

// A block of device memory from the caching allocator; returned to the cache when the last owner goes.
// Owned through shared_ptr only: a copy would free the same memory twice.
struct DeviceBlock {
    void* ptr = nullptr;
    size_t bytes = 0;          // the allocation's (rounded) size
    size_t valid_bytes = 0;    // what views may reach (the requested size, or an import's extent)
    cudaStream_t stream = nullptr;  // the stream it was allocated on: reused only there (allocator_cuda.cu)
    // Memory owned by another library (DLPack import): released through its deleter, never cached.
    void (*external_release)(void*) = nullptr;
    void* external_ctx = nullptr;
    DeviceBlock() = default;
    DeviceBlock(const DeviceBlock&) = delete;
    DeviceBlock& operator=(const DeviceBlock&) = delete;
    ~DeviceBlock();
};

std::shared_ptr<DeviceBlock> device_alloc(size_t bytes);
void empty_cache();
std::vector<std::pair<std::string, int64_t>> memory_stats();
void stream_destroyed(cudaStream_t s);  // the allocator forgets a stream's free list (after a sync)

inline size_t itemsize(DType t) {
    if (t == DType::Bool) return 1;
    if (t == DType::Float16 || t == DType::BFloat16) return 2;
    return (t == DType::Float64 || t == DType::Int64) ? 8 : 4;
}

inline std::string shape_str(const std::vector<int64_t>& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

// Bytes of a C-contiguous array of `shape`, checked: a negative dim or a size past int64 is a ValueError
// naming the shape (unchecked, 1<<62 elements wrapped to a tiny block that kernels then overran).
inline int64_t checked_nbytes(const std::vector<int64_t>& shape, DType dtype) {
    int64_t n = int64_t(itemsize(dtype));
    bool overflow = false;
    for (int64_t s : shape) {
        GC_CHECK(s >= 0, "negative dimension in shape " + shape_str(shape));
        overflow = overflow || __builtin_mul_overflow(n, s, &n);
    }
    GC_CHECK(!overflow, "shape " + shape_str(shape) + " of " + dtype_name(dtype) + " is too large (its size in " +
                            "bytes overflows int64)");
    return n;
}

// The device twin of a NumPy array: shared storage, an element offset, shape and strides.
struct CudaArray {
    std::shared_ptr<DeviceBlock> block;
    int64_t offset = 0;
    std::vector<int64_t> shape, strides;
    DType dtype = DType::Float32;

    static CudaArray empty(const std::vector<int64_t>& shape, DType dtype) {
        GC_CHECK(shape.size() <= size_t(kMaxDims), "at most 8 dimensions are supported");
        int64_t bytes = checked_nbytes(shape, dtype);
        CudaArray a;
        a.shape = shape;
        a.dtype = dtype;
        a.strides.resize(shape.size());
        int64_t n = 1;
        for (int d = int(shape.size()) - 1; d >= 0; --d) {
            a.strides[d] = n;
            n *= shape[d];
        }
        a.block = device_alloc(size_t(std::max<int64_t>(bytes, int64_t(itemsize(dtype)))));
        return a;
    }
    int64_t numel() const {
        int64_t n = 1;
        for (auto s : shape) n *= s;
        return n;
    }
    void* data() const { return static_cast<char*>(block->ptr) + offset * int64_t(itemsize(dtype)); }
    ArrayView view() const {
        GC_CHECK(shape.size() <= size_t(kMaxDims), "at most 8 dimensions are supported");
        ArrayView v;
        v.data = data();
        v.dtype = dtype;
        v.ndim = int(shape.size());
        for (int d = 0; d < v.ndim; ++d) {
            v.shape[d] = shape[d];
            v.strides[d] = strides[d];
        }
        return v;
    }
    bool is_contiguous() const { return view().is_contiguous(); }
};

}  // namespace gc::cuda
