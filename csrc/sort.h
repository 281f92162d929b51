// Sort and top-k along the last axis (CPU and CUDA twins) and the ordering both devices share; cumprod
// along the last axis (a running product in double for floats, int64 for integers, as cumsum).
// sort_lastdim(x, values, indices, descending) writes, for each row of the contiguous x (rows, n), the first
// k = values' last dim entries of the row in sorted order and their int64 positions. The order is total and
// stable: NaN sorts above every number (last ascending, first descending, as torch), ties keep their
// original order, so k = n is a stable sort and k < n is torch.topk.
#pragma once
#include <string>
#include "common.h"

namespace gc {

// True when row element (va, ia) goes before (vb, ib). x != x is NaN for floats, never true for ints/bool.
template <class T>
GC_HD bool sort_before(T va, int64_t ia, T vb, int64_t ib, bool descending) {
    const bool na = va != va, nb = vb != vb;
    if (na || nb) {
        if (na && nb) return ia < ib;
        return descending ? na : nb;
    }
    if (va < vb) return !descending;
    if (vb < va) return descending;
    return ia < ib;
}

inline void check_sort_args(const ArrayView& x, const ArrayView& values, const ArrayView& indices) {
    GC_CHECK(x.ndim >= 1 && x.is_contiguous(), "sort: input must be contiguous with at least one dim");
    GC_CHECK(values.is_contiguous() && indices.is_contiguous(), "sort: outputs must be contiguous");
    GC_CHECK(values.dtype == x.dtype, std::string("sort: values dtype ") + dtype_name(values.dtype) +
                                          " differs from the input's " + dtype_name(x.dtype));
    GC_CHECK(indices.dtype == DType::Int64, "sort: indices must be int64");
    GC_CHECK(values.ndim == x.ndim && indices.ndim == x.ndim, "sort: outputs must keep the input's rank");
    for (int d = 0; d + 1 < x.ndim; ++d)
        GC_CHECK(values.shape[d] == x.shape[d] && indices.shape[d] == x.shape[d], "sort: output shape mismatch");
    const int64_t k = values.shape[x.ndim - 1];
    GC_CHECK(indices.shape[x.ndim - 1] == k, "sort: values and indices differ in shape");
    GC_CHECK(k >= 0 && k <= x.shape[x.ndim - 1], "sort: k must lie in [0, row length]");
}

#define GC_DECLARE_SORT_KERNELS(NS)                                                                     \
    namespace NS {                                                                                     \
    void sort_lastdim(const ArrayView& x, const ArrayView& values, const ArrayView& indices, bool descending); \
    void cumprod_lastdim(const ArrayView& x, const ArrayView& out);                                    \
    }

GC_DECLARE_SORT_KERNELS(cpu)
#ifdef GC_WITH_CUDA
GC_DECLARE_SORT_KERNELS(cuda)
#endif

}  // namespace gc
