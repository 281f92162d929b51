// Row-wise kernels over the last dim of a contiguous (R, D) array: layer-norm and log-softmax,
// forward and backward. Declared for both devices, with the argument checks they share.
#pragma once
#include <initializer_list>
#include <string>
#include "common.h"

namespace gc {

#define GC_DECLARE_ROWNORM_KERNELS(NS)                                                            \
    namespace NS {                                                                               \
    void layernorm_fwd(const ArrayView& x, const ArrayView& out, const ArrayView& rstd, double eps); \
    void layernorm_bwd(const ArrayView& g, const ArrayView& xhat, const ArrayView& rstd,         \
                       const ArrayView& dx);                                                     \
    void log_softmax_fwd(const ArrayView& x, const ArrayView& out);                              \
    void log_softmax_bwd(const ArrayView& g, const ArrayView& out, const ArrayView& dx);         \
    }

GC_DECLARE_ROWNORM_KERNELS(cpu)
#ifdef GC_WITH_CUDA
GC_DECLARE_ROWNORM_KERNELS(cuda)
#endif

// Every operand: contiguous, 2-d (R, D) of one float dtype; per-row vectors (R,).
inline void check_rows(const char* op, const ArrayView& ref, std::initializer_list<const ArrayView*> same,
                       const ArrayView* per_row = nullptr) {
    GC_CHECK(ref.ndim == 2 && ref.is_contiguous(), std::string(op) + ": operands must be contiguous (R, D)");
    for (const ArrayView* a : same) {
        GC_CHECK(a->ndim == 2 && a->is_contiguous() && a->shape[0] == ref.shape[0] && a->shape[1] == ref.shape[1],
                 std::string(op) + ": operands must be contiguous (R, D) of one shape");
        GC_CHECK(a->dtype == ref.dtype, std::string(op) + ": dtype mismatch");
    }
    if (per_row) {
        GC_CHECK(per_row->is_contiguous() && per_row->numel() == ref.shape[0] && per_row->dtype == ref.dtype,
                 std::string(op) + ": per-row operand must be contiguous (R,) of the input's dtype");
    }
}

}  // namespace gc
