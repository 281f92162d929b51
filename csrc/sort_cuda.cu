// CUDA sort / top-k along the last axis, twin of sort_cpu.cpp: a rank sort. Each thread takes one element,
// counts the row elements that go before it under sort.h's total order (a permutation, as ties break by
// index) and writes it at that rank when the rank is below k. O(n^2) work per row: simple and obviously
// correct, fine for the rows of a few thousand that sort/topk see in models; a faster (bitonic/radix)
// variant is future work. Compiled, not yet run on a GPU (launches on the current stream).
#include <type_traits>
#include "cuda_common.h"
#include "kernels.h"
#include "sort.h"

namespace gc::cuda {
namespace {

constexpr int kTile = 256;

// Blocks cover (row, tile of kThreads elements); the row is streamed through shared memory in tiles.
template <class T>
__global__ void rank_sort_kernel(const T* __restrict__ x, T* __restrict__ values, int64_t* __restrict__ indices,
                                 int64_t n, int64_t k, int64_t tiles_per_row, bool descending) {
    __shared__ T tile[kTile];
    const int64_t row = blockIdx.x / tiles_per_row;
    const int64_t i = (blockIdx.x % tiles_per_row) * int64_t(blockDim.x) + threadIdx.x;
    const T* xr = x + row * n;
    const bool active = i < n;
    const T v = active ? xr[i] : T(0);
    int64_t rank = 0;
    for (int64_t base = 0; base < n; base += kTile) {
        const int64_t m = min(int64_t(kTile), n - base);
        __syncthreads();
        for (int64_t t = threadIdx.x; t < m; t += blockDim.x) tile[t] = xr[base + t];
        __syncthreads();
        if (active)
            for (int64_t t = 0; t < m; ++t) rank += sort_before(tile[t], base + t, v, i, descending) ? 1 : 0;
    }
    if (active && rank < k) {
        values[row * k + rank] = v;
        indices[row * k + rank] = i;
    }
}

// One thread per row with a wide running product (cumsum_rows' twin): exact in order.
template <class T, class A, class O>
__global__ void cumprod_rows(const T* x, O* out, int64_t rows, int64_t cols) {
    for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
        A acc = 1;
        for (int64_t j = 0; j < cols; ++j) {
            acc *= A(x[r * cols + j]);
            out[r * cols + j] = O(acc);
        }
    }
}

}  // namespace

void sort_lastdim(const ArrayView& x, const ArrayView& values, const ArrayView& indices, bool descending) {
    check_sort_args(x, values, indices);
    if (values.numel() == 0) return;
    const int64_t n = x.shape[x.ndim - 1];
    const int64_t k = values.shape[x.ndim - 1];
    const int64_t rows = x.numel() / n;
    const int64_t tiles_per_row = (n + kTile - 1) / kTile;
    const int64_t blocks = rows * tiles_per_row;
    GC_CHECK(blocks <= 0x7fffffffLL, "sort: too many rows for one launch");
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        rank_sort_kernel<T><<<unsigned(blocks), kTile, 0, stream()>>>(x.ptr<T>(), values.ptr<T>(),
                                                                      indices.ptr<int64_t>(), n, k, tiles_per_row,
                                                                      descending);
        GC_LAUNCH_CHECK("sort kernel");
    });
}

void cumprod_lastdim(const ArrayView& x, const ArrayView& out) {
    check_sum_dtypes(x, out, "cumprod");
    if (x.numel() == 0 && out.numel() == 0) return;
    check_lastdim_args(x, out, "cumprod");
    GC_CHECK(out.numel() == x.numel(), "cumprod: output size differs from the input's");
    const int64_t c = x.shape[x.ndim - 1];
    if (c == 0) return;
    const int64_t rows = x.numel() / c;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        using A = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
        dispatch_any(out.dtype, [&](auto* otag) {
            using O = std::remove_pointer_t<decltype(otag)>;
            cumprod_rows<T, A, O><<<grid_for(rows), kThreads, 0, stream()>>>(x.ptr<T>(), out.ptr<O>(), rows, c);
            GC_LAUNCH_CHECK("cumprod kernel");
        });
    });
}

}  // namespace gc::cuda
