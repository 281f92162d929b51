// CUDA reductions: sum (double/int64 accumulators), max, min, prod over any axes (keepdims-shaped
// output); argmax/argmin and cumsum along the last axis.
// One warp per output element for short reductions, one block for long ones; warp-shuffle trees.
// Compiled, not yet run on a GPU (launches on the current stream).
#include <cfloat>
#include <limits>
#include <type_traits>
#include "cuda_common.h"
#include "indexing.h"
#include "kernels.h"

namespace gc::cuda {
namespace {

// Sums accumulate in double for both float types (float32 would stall at 2**24) and in int64 for ints.
template <class T>
using SumAccOf = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class Acc, class A>
__device__ A warp_reduce(A v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = Acc::combine(v, static_cast<A>(__shfl_down_sync(0xffffffffu, v, o)));
    return v;
}

// T: input, A: accumulator, O: output element type.
// kept: loop over the output's dims (x strides); reduced: loop over the reduced dims (x strides).
template <class Acc, class T, class A, class O>
__global__ void reduce_warp_per_output(const T* x, O* out, StridedLoop<1> kept, StridedLoop<1> reduced,
                                       int64_t n_out, int64_t n_red) {
    int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
    for (int64_t o = warp; o < n_out; o += warps) {
        const T* base = x + kept.offset(0, o);
        A v = Acc::template init<A>();
        for (int64_t j = lane; j < n_red; j += 32) v = Acc::combine(v, A(base[reduced.offset(0, j)]));
        v = warp_reduce<Acc>(v);
        if (lane == 0) out[o] = O(v);
    }
}

template <class Acc, class T, class A, class O>
__global__ void reduce_block_per_output(const T* x, O* out, StridedLoop<1> kept, StridedLoop<1> reduced,
                                        int64_t n_red) {
    __shared__ A partial[32];
    const T* base = x + kept.offset(0, blockIdx.x);
    A v = Acc::template init<A>();
    for (int64_t j = threadIdx.x; j < n_red; j += blockDim.x) v = Acc::combine(v, A(base[reduced.offset(0, j)]));
    v = warp_reduce<Acc>(v);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : Acc::template init<A>();
        v = warp_reduce<Acc>(v);
        if (threadIdx.x == 0) out[blockIdx.x] = O(v);
    }
}

// Outputs contiguous in x (an outer-axis reduction such as a bias gradient): one thread per output,
// so a warp reads 32 neighbouring elements of each reduced row (coalesced).
template <class Acc, class T, class A, class O>
__global__ void reduce_thread_per_output(const T* x, O* out, StridedLoop<1> reduced, int64_t n_out, int64_t n_red) {
    for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n_out; o += int64_t(gridDim.x) * blockDim.x) {
        A v = Acc::template init<A>();
        for (int64_t j = 0; j < n_red; ++j) v = Acc::combine(v, A(x[o + reduced.offset(0, j)]));
        out[o] = O(v);
    }
}

// Long reductions into few outputs: gridDim.y blocks share each output and write partials (in A),
// which finish_partials combines, so a full sum uses the whole GPU rather than one block.
template <class Acc, class T, class A>
__global__ void reduce_split_partials(const T* x, A* partials, StridedLoop<1> kept, StridedLoop<1> reduced,
                                      int64_t n_red) {
    __shared__ A partial[32];
    const T* base = x + kept.offset(0, blockIdx.x);
    const int64_t step = int64_t(blockDim.x) * gridDim.y;
    A v = Acc::template init<A>();
    for (int64_t j = blockIdx.y * int64_t(blockDim.x) + threadIdx.x; j < n_red; j += step)
        v = Acc::combine(v, A(base[reduced.offset(0, j)]));
    v = warp_reduce<Acc>(v);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : Acc::template init<A>();
        v = warp_reduce<Acc>(v);
        if (threadIdx.x == 0) partials[blockIdx.x * int64_t(gridDim.y) + blockIdx.y] = v;
    }
}

template <class Acc, class A, class O>
__global__ void finish_partials(const A* partials, O* out, int64_t n_out, int splits) {
    int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (warp >= n_out) return;
    A v = Acc::template init<A>();
    for (int j = lane; j < splits; j += 32) v = Acc::combine(v, partials[warp * splits + j]);
    v = warp_reduce<Acc>(v);
    if (lane == 0) out[warp] = O(v);
}

template <class Acc, class A, class O>
__global__ void fill_init(O* out, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = O(Acc::template init<A>());
}

template <class Acc, class T, class A, class O>
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
    const bool outputs_contiguous = kept.ndim == 1 && (n_out == 1 || kept.strides[0][0] == 1);
    if (x.numel() == 0) {
        fill_init<Acc, A, O><<<grid_for(n_out), kThreads, 0, stream()>>>(out.ptr<O>(), n_out);
    } else if (n_red >= (1 << 16) && n_out <= 64) {
        const int splits = int(std::min<int64_t>(256, (n_red + (1 << 15) - 1) >> 15));
        auto scratch = device_alloc(sizeof(A) * size_t(n_out) * size_t(splits));
        A* partials = static_cast<A*>(scratch->ptr);
        reduce_split_partials<Acc, T, A>
            <<<dim3(unsigned(n_out), unsigned(splits)), kThreads, 0, stream()>>>(x.ptr<T>(), partials, kept, reduced, n_red);
        GC_LAUNCH_CHECK("reduction kernel (partials)");
        finish_partials<Acc, A, O><<<grid_for(n_out * 32), kThreads, 0, stream()>>>(partials, out.ptr<O>(), n_out, splits);
    } else if (outputs_contiguous && n_out >= 1024 && kept.strides[0][0] == 1) {
        reduce_thread_per_output<Acc, T, A, O>
            <<<grid_for(n_out), kThreads, 0, stream()>>>(x.ptr<T>(), out.ptr<O>(), reduced, n_out, n_red);
    } else if (n_red >= 4096 && n_out <= (1 << 20)) {
        reduce_block_per_output<Acc, T, A, O>
            <<<int(n_out), kThreads, 0, stream()>>>(x.ptr<T>(), out.ptr<O>(), kept, reduced, n_red);
    } else {
        reduce_warp_per_output<Acc, T, A, O>
            <<<grid_for(n_out * 32), kThreads, 0, stream()>>>(x.ptr<T>(), out.ptr<O>(), kept, reduced, n_out, n_red);
    }
    GC_LAUNCH_CHECK("reduction kernel");
}

// Whether candidate (v, i) beats the current best (b, bi): the first NaN wins, then the extreme value,
// then the lowest index among ties, as in torch and NumPy.
template <bool Max, class T>
__device__ bool arg_better(T v, int64_t i, T b, int64_t bi) {
    bool vn = v != v, bn = b != b;
    if (vn || bn) return vn && (!bn || i < bi);
    return (Max ? v > b : v < b) || (v == b && i < bi);
}

template <bool Max, class T>
__global__ void arg_rows(const T* x, int64_t* out, int64_t rows, int64_t cols) {
    int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
    for (int64_t r = warp; r < rows; r += warps) {
        const T* row = x + r * cols;
        T best = row[0];
        int64_t idx = 0;
        for (int64_t j = lane; j < cols; j += 32)
            if (arg_better<Max>(row[j], j, best, idx)) {
                best = row[j];
                idx = j;
            }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            T ob = __shfl_down_sync(0xffffffffu, best, o);
            int64_t oi = __shfl_down_sync(0xffffffffu, idx, o);
            if (arg_better<Max>(ob, oi, best, idx)) {
                best = ob;
                idx = oi;
            }
        }
        if (lane == 0) out[r] = idx;
    }
}

template <bool Max>
void arg_lastdim(const ArrayView& x, const ArrayView& out, const char* op) {
    if (out.numel() == 0 && x.ndim >= 1 && x.shape[x.ndim - 1] > 0) return;
    check_lastdim_args(x, out, op);
    GC_CHECK(out.dtype == DType::Int64, std::string(op) + ": output must be int64");
    int64_t cols = x.shape[x.ndim - 1];
    GC_CHECK(cols > 0, std::string(op) + ": cannot reduce an empty axis");
    int64_t rows = x.numel() / cols;
    if (rows == 0) return;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        arg_rows<Max, T><<<grid_for(rows * 32), kThreads, 0, stream()>>>(x.ptr<T>(), out.ptr<int64_t>(), rows, cols);
    });
    GC_LAUNCH_CHECK("argmax/argmin kernel");
}

// One thread per row with a wide running sum: simple and exact in order; rows are independent.
template <class T, class A, class O>
__global__ void cumsum_rows(const T* x, O* out, int64_t rows, int64_t cols) {
    for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
        A acc = 0;
        for (int64_t j = 0; j < cols; ++j) {
            acc += A(x[r * cols + j]);
            out[r * cols + j] = O(acc);
        }
    }
}

}  // namespace

void reduce_sum(const ArrayView& x, const ArrayView& out) {
    check_sum_dtypes(x, out, "sum");
    if (out.numel() == 0) return;  // zero-size arrays may carry any strides
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        dispatch_any(out.dtype, [&](auto* otag) {
            reduce_typed<SumReduce, T, SumAccOf<T>, std::remove_pointer_t<decltype(otag)>>(x, out);
        });
    });
}

void reduce_max(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "max");
    if (out.numel() == 0) return;
    GC_CHECK(x.numel() > 0, "max: cannot reduce an empty tensor");
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        reduce_typed<MaxReduce, T, T, T>(x, out);
    });
}

void reduce_min(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "min");
    if (out.numel() == 0) return;
    GC_CHECK(x.numel() > 0, "min: cannot reduce an empty tensor");
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        reduce_typed<MinReduce, T, T, T>(x, out);
    });
}

void reduce_prod(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "prod");
    if (out.numel() == 0) return;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        reduce_typed<ProdReduce, T, T, T>(x, out);
    });
}

void argmax_lastdim(const ArrayView& x, const ArrayView& out) { arg_lastdim<true>(x, out, "argmax"); }

void argmin_lastdim(const ArrayView& x, const ArrayView& out) { arg_lastdim<false>(x, out, "argmin"); }

void cumsum_lastdim(const ArrayView& x, const ArrayView& out) {
    check_sum_dtypes(x, out, "cumsum");
    if (x.numel() == 0 && out.numel() == 0) return;
    check_lastdim_args(x, out, "cumsum");
    GC_CHECK(out.numel() == x.numel(), "cumsum: output size differs from the input's");
    int64_t cols = x.shape[x.ndim - 1];
    if (cols == 0 || x.numel() == 0) return;
    int64_t rows = x.numel() / cols;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        dispatch_any(out.dtype, [&](auto* otag) {
            using O = std::remove_pointer_t<decltype(otag)>;
            cumsum_rows<T, SumAccOf<T>, O><<<grid_for(rows), kThreads, 0, stream()>>>(x.ptr<T>(), out.ptr<O>(), rows, cols);
        });
    });
    GC_LAUNCH_CHECK("cumsum kernel");
}

}  // namespace gc::cuda
