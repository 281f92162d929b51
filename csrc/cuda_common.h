// CUDA-side helpers: error checks that throw, launch geometry, and the device array type.
#pragma once
#include <cuda_runtime.h>
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

#define GC_CUDA_CHECK(expr) ::gc::cuda::check((expr), #expr)
// After every launch: configuration errors show up here, asynchronous faults at the next sync.
#define GC_LAUNCH_CHECK(name) ::gc::cuda::check(cudaGetLastError(), name)

constexpr int kThreads = 256;

inline int grid_for(int64_t n, int threads = kThreads) {
    static int max_blocks = [] {
        int dev = 0, sms = 0;
        cudaGetDevice(&dev);
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
        return std::max(sms, 1) * 32;
    }();
    int64_t blocks = (n + threads - 1) / threads;
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(blocks, max_blocks)));
}

// A block of device memory from the caching allocator; returned to the cache when the last owner goes.
struct DeviceBlock {
    void* ptr = nullptr;
    size_t bytes = 0;
    // Memory owned by another library (DLPack import): released through its deleter, never cached.
    void (*external_release)(void*) = nullptr;
    void* external_ctx = nullptr;
    ~DeviceBlock();
};

std::shared_ptr<DeviceBlock> device_alloc(size_t bytes);
void empty_cache();
std::vector<std::pair<std::string, int64_t>> memory_stats();

inline size_t itemsize(DType t) {
    if (t == DType::Bool) return 1;
    return (t == DType::Float64 || t == DType::Int64) ? 8 : 4;
}

// The device twin of a NumPy array: shared storage, an element offset, shape and strides.
struct CudaArray {
    std::shared_ptr<DeviceBlock> block;
    int64_t offset = 0;
    std::vector<int64_t> shape, strides;
    DType dtype = DType::Float32;

    static CudaArray empty(const std::vector<int64_t>& shape, DType dtype) {
        CudaArray a;
        a.shape = shape;
        a.dtype = dtype;
        a.strides.resize(shape.size());
        int64_t n = 1;
        for (int d = int(shape.size()) - 1; d >= 0; --d) {
            a.strides[d] = n;
            n *= shape[d];
        }
        a.block = device_alloc(std::max<int64_t>(n, 1) * itemsize(dtype));
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
