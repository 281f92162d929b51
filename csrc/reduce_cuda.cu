// CUDA reductions: sum and max over any axes (keepdims-shaped output), argmax over the last axis.
// One warp per output element for short reductions, one block for long ones; warp-shuffle trees.
#include <cfloat>
#include <limits>
#include <type_traits>
#include "cuda_common.h"
#include "indexing.h"
#include "kernels.h"

namespace gc::cuda {
namespace {

template <class Acc, class T>
__device__ T warp_reduce(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = Acc::combine(v, __shfl_down_sync(0xffffffffu, v, o));
    return v;
}

// kept: loop over the output's dims (x strides); reduced: loop over the reduced dims (x strides).
template <class Acc, class T>
__global__ void reduce_warp_per_output(const T* x, T* out, StridedLoop<1> kept, StridedLoop<1> reduced,
                                       int64_t n_out, int64_t n_red) {
    int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
    for (int64_t o = warp; o < n_out; o += warps) {
        const T* base = x + kept.offset(0, o);
        T v = Acc::template init<T>();
        for (int64_t j = lane; j < n_red; j += 32) v = Acc::combine(v, base[reduced.offset(0, j)]);
        v = warp_reduce<Acc>(v);
        if (lane == 0) out[o] = v;
    }
}

template <class Acc, class T>
__global__ void reduce_block_per_output(const T* x, T* out, StridedLoop<1> kept, StridedLoop<1> reduced,
                                        int64_t n_red) {
    __shared__ T partial[32];
    const T* base = x + kept.offset(0, blockIdx.x);
    T v = Acc::template init<T>();
    for (int64_t j = threadIdx.x; j < n_red; j += blockDim.x) v = Acc::combine(v, base[reduced.offset(0, j)]);
    v = warp_reduce<Acc>(v);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : Acc::template init<T>();
        v = warp_reduce<Acc>(v);
        if (threadIdx.x == 0) out[blockIdx.x] = v;
    }
}

template <class Acc, class T>
__global__ void fill_init(T* out, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = Acc::template init<T>();
}

template <class Acc, class T>
void reduce_typed(const ArrayView& x, const ArrayView& out) {
    GC_CHECK(out.ndim == x.ndim && out.is_contiguous(), "reduction output must be contiguous with the input's rank");
    StridedLoop<1> kept, reduced;
    for (int d = 0; d < x.ndim; ++d) {
        bool is_reduced = out.shape[d] == 1 && x.shape[d] != 1;
        auto& loop = is_reduced ? reduced : kept;
        loop.shape[loop.ndim] = x.shape[d];
        loop.strides[0][loop.ndim] = x.strides[d];
        loop.ndim++;
    }
    kept.collapse();
    reduced.collapse();
    int64_t n_out = out.numel(), n_red = x.numel() / std::max<int64_t>(n_out, 1);
    if (n_out == 0) return;
    if (x.numel() == 0) {
        fill_init<Acc, T><<<grid_for(n_out), kThreads>>>(out.ptr<T>(), n_out);
    } else if (n_red >= 4096 && n_out <= (1 << 20)) {
        reduce_block_per_output<Acc, T><<<int(n_out), kThreads>>>(x.ptr<T>(), out.ptr<T>(), kept, reduced, n_red);
    } else {
        reduce_warp_per_output<Acc, T><<<grid_for(n_out * 32), kThreads>>>(x.ptr<T>(), out.ptr<T>(), kept, reduced,
                                                                           n_out, n_red);
    }
    GC_LAUNCH_CHECK("reduction kernel");
}

template <class T>
__global__ void argmax_rows(const T* x, int64_t* out, int64_t rows, int64_t cols) {
    int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
    for (int64_t r = warp; r < rows; r += warps) {
        const T* row = x + r * cols;
        T best = row[0];
        int64_t idx = 0;
        for (int64_t j = lane; j < cols; j += 32)
            if (row[j] > best || (row[j] == best && j < idx)) {
                best = row[j];
                idx = j;
            }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {  // ties go to the lowest index, as in NumPy
            T ob = __shfl_down_sync(0xffffffffu, best, o);
            int64_t oi = __shfl_down_sync(0xffffffffu, idx, o);
            if (ob > best || (ob == best && oi < idx)) {
                best = ob;
                idx = oi;
            }
        }
        if (lane == 0) out[r] = idx;
    }
}

}  // namespace

void reduce_sum(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "sum");
    dispatch_any(x.dtype, [&](auto* tag) { reduce_typed<SumReduce, std::remove_pointer_t<decltype(tag)>>(x, out); });
}

void reduce_max(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "max");
    GC_CHECK(x.numel() > 0, "max: cannot reduce an empty tensor");
    dispatch_any(x.dtype, [&](auto* tag) { reduce_typed<MaxReduce, std::remove_pointer_t<decltype(tag)>>(x, out); });
}

void argmax_lastdim(const ArrayView& x, const ArrayView& out) {
    GC_CHECK(x.ndim >= 1 && x.is_contiguous(), "argmax: input must be contiguous with at least one dim");
    GC_CHECK(out.dtype == DType::Int64 && out.is_contiguous(), "argmax: output must be contiguous int64");
    int64_t cols = x.shape[x.ndim - 1];
    GC_CHECK(cols > 0, "argmax: cannot reduce an empty axis");
    int64_t rows = x.numel() / cols;
    if (rows == 0) return;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        argmax_rows<T><<<grid_for(rows * 32), kThreads>>>(x.ptr<T>(), out.ptr<int64_t>(), rows, cols);
    });
    GC_LAUNCH_CHECK("argmax kernel");
}

}  // namespace gc::cuda
