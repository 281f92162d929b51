// CUDA gather and scatter (set or add) along one dim: twins of index_cpu.cpp. Index values are
// range-checked by the Python op before the launch; out-of-range elements are skipped, never written.
#include <type_traits>
#include "cuda_common.h"
#include "index_common.h"
#include "indexing.h"
#include "kernels.h"

namespace gc::cuda {
namespace {

template <class T>
__global__ void gather_kernel(IndexGeom g, const T* x, const int64_t* idx, T* out, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        int64_t oa = 0, ob = 0;
        if (g.offsets(i, idx, oa, ob)) out[oa] = x[ob];
    }
}

template <class T>
__device__ void atomic_add(T* p, T v) {
    if constexpr (std::is_same_v<T, int64_t>) {
        atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
    } else if constexpr (std::is_same_v<T, bool>) {
        if (v) *p = true;  // logical or: every writer stores the same value
    } else {
        atomicAdd(p, v);
    }
}

template <class T>
__global__ void scatter_kernel(IndexGeom g, const T* src, const int64_t* idx, T* out, int64_t n, bool accumulate) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        int64_t oa = 0, ob = 0;
        if (!g.offsets(i, idx, oa, ob)) continue;
        if (accumulate) atomic_add(out + ob, src[oa]);
        else out[ob] = src[oa];
    }
}

template <class T>
__global__ void where_kernel(StridedLoop<4> loop, const bool* c, const T* a, const T* b, T* out, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[loop.offset(0, i)] = c[loop.offset(1, i)] ? a[loop.offset(2, i)] : b[loop.offset(3, i)];
}

}  // namespace

void where(const ArrayView& cond, const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    check_where_args(cond, a, b, out);
    int64_t n = out.numel();
    if (n == 0) return;
    const ArrayView* ins[] = {&cond, &a, &b};
    auto loop = make_loop<4>(out, ins);
    dispatch_any(out.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        where_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(loop, cond.ptr<bool>(), a.ptr<T>(), b.ptr<T>(), out.ptr<T>(), n);
    });
    GC_LAUNCH_CHECK("where kernel");
}

void gather(const ArrayView& x, int64_t dim, const ArrayView& index, const ArrayView& out) {
    GC_CHECK(out.ndim == index.ndim, "gather: output must have the index's shape");
    for (int d = 0; d < out.ndim; ++d) GC_CHECK(out.shape[d] == index.shape[d], "gather: output must have the index's shape");
    IndexGeom g = make_index_geom(out, index, x, dim, "gather");
    int64_t n = g.numel();
    if (n == 0) return;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        gather_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(g, x.ptr<T>(), index.ptr<int64_t>(), out.ptr<T>(), n);
    });
    GC_LAUNCH_CHECK("gather kernel");
}

void scatter(const ArrayView& src, int64_t dim, const ArrayView& index, const ArrayView& out, bool accumulate) {
    for (int d = 0; d < src.ndim && d < index.ndim; ++d)
        GC_CHECK(src.shape[d] >= index.shape[d], "scatter: src is smaller than the index");
    IndexGeom g = make_index_geom(src, index, out, dim, "scatter");
    int64_t n = g.numel();
    if (n == 0) return;
    dispatch_any(src.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        scatter_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(g, src.ptr<T>(), index.ptr<int64_t>(), out.ptr<T>(), n,
                                                     accumulate);
    });
    GC_LAUNCH_CHECK("scatter kernel");
}

}  // namespace gc::cuda
