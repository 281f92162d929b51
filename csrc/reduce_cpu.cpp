// CPU reductions: sum and max over any set of axes (the output holds the keepdims shape), argmax.
#include <algorithm>
#include <limits>
#include <numeric>
#include <type_traits>
#include "indexing.h"
#include "kernels.h"
#include "parallel.h"

namespace gc::cpu {
namespace {

// Iteration over x's shape with two operands: 0 = x, 1 = out broadcast (stride 0 on reduced axes).
// Dims are ordered by x's strides so the innermost loop walks x's memory in order.
StridedLoop<2> reduction_loop(const ArrayView& x, const ArrayView& out) {
    GC_CHECK(out.ndim == x.ndim, "reduction output must keep the input's rank");
    int64_t ostr[kMaxDims];
    broadcast_strides(out, x, ostr);
    int perm[kMaxDims];
    std::iota(perm, perm + x.ndim, 0);
    std::stable_sort(perm, perm + x.ndim, [&](int p, int q) { return x.strides[p] > x.strides[q]; });
    StridedLoop<2> loop;
    loop.ndim = x.ndim;
    for (int d = 0; d < x.ndim; ++d) {
        loop.shape[d] = x.shape[perm[d]];
        loop.strides[0][d] = x.strides[perm[d]];
        loop.strides[1][d] = ostr[perm[d]];
    }
    loop.collapse();
    return loop;
}

template <class Acc, class T>
void reduce_typed(const ArrayView& x, const ArrayView& out) {
    T* o = out.ptr<T>();
    const int64_t n_out = out.numel();
    std::fill(o, o + n_out, Acc::template init<T>());
    if (x.numel() == 0) return;
    auto loop = reduction_loop(x, out);
    const T* xi = x.ptr<T>();
    // Rows may share an output element, so reductions stay on one thread (they are memory-bound).
    loop.for_each_row(0, loop.rows(), [&](const int64_t* off, int64_t n, const int64_t* st) {
        const T* px = xi + off[0];
        T* po = o + off[1];
        if (st[1] == 0) {
            // 16 independent lanes let the compiler vectorize without reassociation flags.
            constexpr int L = 16;
            T lanes[L];
            for (int l = 0; l < L; ++l) lanes[l] = Acc::template init<T>();
            int64_t i = 0;
            if (st[0] == 1) {
                for (; i + L <= n; i += L)
                    for (int l = 0; l < L; ++l) lanes[l] = Acc::combine(lanes[l], px[i + l]);
            }
            T acc = *po;
            for (int l = 0; l < L; ++l) acc = Acc::combine(acc, lanes[l]);
            for (; i < n; ++i) acc = Acc::combine(acc, px[i * st[0]]);
            *po = acc;
        } else if (st[0] == 1 && st[1] == 1) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) po[i] = Acc::combine(po[i], px[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) po[i * st[1]] = Acc::combine(po[i * st[1]], px[i * st[0]]);
        }
    });
}

}  // namespace

void reduce_sum(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "sum");
    GC_CHECK(out.is_contiguous(), "sum: output must be contiguous");
    dispatch_any(x.dtype, [&](auto* tag) { reduce_typed<SumReduce, std::remove_pointer_t<decltype(tag)>>(x, out); });
}

void reduce_max(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "max");
    GC_CHECK(out.is_contiguous(), "max: output must be contiguous");
    GC_CHECK(x.numel() > 0, "max: cannot reduce an empty tensor");
    dispatch_any(x.dtype, [&](auto* tag) { reduce_typed<MaxReduce, std::remove_pointer_t<decltype(tag)>>(x, out); });
}

void argmax_lastdim(const ArrayView& x, const ArrayView& out) {
    GC_CHECK(x.ndim >= 1 && x.is_contiguous(), "argmax: input must be contiguous with at least one dim");
    GC_CHECK(out.dtype == DType::Int64 && out.is_contiguous(), "argmax: output must be contiguous int64");
    const int64_t c = x.shape[x.ndim - 1];
    GC_CHECK(c > 0, "argmax: cannot reduce an empty axis");
    const int64_t rows = x.numel() / c;
    int64_t* o = out.ptr<int64_t>();
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T* px = x.ptr<T>();
        parallel_for(rows, 1024, [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) {
                const T* row = px + r * c;
                o[r] = std::max_element(row, row + c) - row;
            }
        });
    });
}

}  // namespace gc::cpu
