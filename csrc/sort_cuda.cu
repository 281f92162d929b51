// CUDA sort / top-k along the last axis, twin of sort_cpu.cpp, under sort.h's strict total order (ties broken
// by index, so every element has one place). Rows up to kRankMax: a rank sort (each thread counts the row
// elements that go before its element and writes it at that rank if below k; O(n^2) per row, no scratch).
// Longer rows: bottom-up merge passes in global scratch (each element's place in a merged run is its place
// in its own run plus a binary search in the partner run; log2(n) passes). Simple and obviously correct;
// not tuned. Compiled, not yet run on a GPU (launches on the current stream).
#include <type_traits>
#include <utility>
#include "cuda_common.h"
#include "kernels.h"
#include "sort.h"

namespace gc::cuda {
namespace {

constexpr int kTile = 256;
constexpr int64_t kRankMax = 4096;

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

// Merge-sort set-up: the rows copied with their positions as the indices (runs of width 1).
template <class T>
__global__ void load_rows(const T* __restrict__ x, T* __restrict__ v, int64_t* __restrict__ idx, int64_t total,
                          int64_t n) {
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        v[e] = x[e];
        idx[e] = e % n;
    }
}

// One merge pass: sorted runs of width w (per row) become sorted runs of width 2w. An element's place in the
// merged run is its place p in its own run plus the count of partner-run elements that go before it; the
// partner run is sorted, so that count is a binary search (the order is strict and total: no ties).
template <class T>
__global__ void merge_pass(const T* __restrict__ sv, const int64_t* __restrict__ si, T* __restrict__ dv,
                           int64_t* __restrict__ di, int64_t total, int64_t n, int64_t w, bool descending) {
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t row = e / n, j = e % n;
        const int64_t r = j / w, p = j % w;
        const int64_t pstart = (r ^ 1) * w;  // the partner run's first column
        const int64_t plen = pstart < n ? min(w, n - pstart) : 0;
        const T v = sv[e];
        const int64_t i = si[e];
        const T* pv = sv + row * n;
        const int64_t* pi = si + row * n;
        int64_t lo = 0, hi = plen;
        while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            if (sort_before(pv[pstart + mid], pi[pstart + mid], v, i, descending)) lo = mid + 1;
            else hi = mid;
        }
        const int64_t dst = row * n + (r & ~int64_t(1)) * w + p + lo;
        dv[dst] = v;
        di[dst] = i;
    }
}

// The first k of each sorted row into the outputs.
template <class T>
__global__ void store_first_k(const T* __restrict__ sv, const int64_t* __restrict__ si, T* __restrict__ values,
                              int64_t* __restrict__ indices, int64_t rows, int64_t n, int64_t k) {
    const int64_t total = rows * k;
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t src = (e / k) * n + e % k;
        values[e] = sv[src];
        indices[e] = si[src];
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
    if (n <= kRankMax) {
        const int64_t tiles_per_row = (n + kTile - 1) / kTile;
        const int64_t blocks = rows * tiles_per_row;
        GC_CHECK(blocks <= 0x7fffffffLL, "sort: too many rows for one launch");
        dispatch_any(x.dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            rank_sort_kernel<T><<<unsigned(blocks), kTile, 0, stream()>>>(x.ptr<T>(), values.ptr<T>(),
                                                                          indices.ptr<int64_t>(), n, k,
                                                                          tiles_per_row, descending);
            GC_LAUNCH_CHECK("sort kernel");
        });
        return;
    }
    const int64_t total = rows * n;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        // Two (indices, values) buffers, ping-ponged; int64 first keeps both arrays aligned. They go back to
        // the cache on this stream, so later work reusing them is ordered after these kernels.
        const size_t bytes = size_t(total) * (sizeof(int64_t) + sizeof(T));
        auto a = device_alloc(bytes);
        auto b = device_alloc(bytes);
        int64_t* ai = static_cast<int64_t*>(a->ptr);
        int64_t* bi = static_cast<int64_t*>(b->ptr);
        T* av = reinterpret_cast<T*>(ai + total);
        T* bv = reinterpret_cast<T*>(bi + total);
        load_rows<T><<<grid_for(total), kThreads, 0, stream()>>>(x.ptr<T>(), av, ai, total, n);
        GC_LAUNCH_CHECK("sort load kernel");
        for (int64_t w = 1; w < n; w *= 2) {
            merge_pass<T><<<grid_for(total), kThreads, 0, stream()>>>(av, ai, bv, bi, total, n, w, descending);
            GC_LAUNCH_CHECK("sort merge kernel");
            std::swap(av, bv);
            std::swap(ai, bi);
        }
        store_first_k<T><<<grid_for(rows * k), kThreads, 0, stream()>>>(av, ai, values.ptr<T>(),
                                                                         indices.ptr<int64_t>(), rows, n, k);
        GC_LAUNCH_CHECK("sort store kernel");
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
