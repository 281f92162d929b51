// Per-channel batch-norm kernels over a contiguous (N, C, S) array (S: the flattened spatial dims, 1 for
// (N, C) input): training forward with batch statistics, the running-stat update, eval forward and the
// closed-form backward. Declared for both devices, with the argument checks they share.
#pragma once
#include <initializer_list>
#include <string>
#include "common.h"

namespace gc {

#define GC_DECLARE_BATCHNORM_KERNELS(NS)                                                               \
    namespace NS {                                                                                    \
    void batchnorm_fwd_train(const ArrayView& x, const ArrayView& weight, const ArrayView& bias,       \
                             const ArrayView& out, const ArrayView& save_mean, const ArrayView& save_var, \
                             double eps);                                                             \
    void batchnorm_update_running(const ArrayView& save_mean, const ArrayView& save_var,               \
                                  const ArrayView& running_mean, const ArrayView& running_var,         \
                                  double momentum, int64_t count);                                     \
    void batchnorm_fwd_eval(const ArrayView& x, const ArrayView& weight, const ArrayView& bias,        \
                            const ArrayView& running_mean, const ArrayView& running_var,               \
                            const ArrayView& out, double eps);                                         \
    void batchnorm_bwd(const ArrayView& g, const ArrayView& x, const ArrayView& weight,                \
                       const ArrayView& save_mean, const ArrayView& save_var, const ArrayView& gx,     \
                       const ArrayView& gw, const ArrayView& gb, double eps);                          \
    }

GC_DECLARE_BATCHNORM_KERNELS(cpu)
#ifdef GC_WITH_CUDA
GC_DECLARE_BATCHNORM_KERNELS(cuda)
#endif

// The full-size operands: contiguous (N, C, S) of one float dtype; the per-channel ones: contiguous (C,).
inline void check_batchnorm(const char* op, const ArrayView& x, std::initializer_list<const ArrayView*> same,
                            std::initializer_list<const ArrayView*> per_channel) {
    GC_CHECK(x.ndim == 3 && x.is_contiguous(), std::string(op) + ": input must be a contiguous (N, C, S) array");
    GC_CHECK(x.dtype == DType::Float32 || x.dtype == DType::Float64,
             std::string(op) + ": needs float32 or float64, got " + dtype_name(x.dtype));
    for (const ArrayView* a : same) {
        GC_CHECK(a->ndim == 3 && a->is_contiguous() && a->shape[0] == x.shape[0] && a->shape[1] == x.shape[1] &&
                     a->shape[2] == x.shape[2],
                 std::string(op) + ": operands must be contiguous (N, C, S) arrays of one shape");
        GC_CHECK(a->dtype == x.dtype, std::string(op) + ": dtype mismatch (" + dtype_name(a->dtype) + " vs " +
                                          dtype_name(x.dtype) + ")");
    }
    for (const ArrayView* a : per_channel) {
        GC_CHECK(a->is_contiguous() && a->numel() == x.shape[1],
                 std::string(op) + ": per-channel operands must be contiguous with " + std::to_string(x.shape[1]) +
                     " elements (one per channel)");
        GC_CHECK(a->dtype == x.dtype, std::string(op) + ": per-channel operand dtype " + dtype_name(a->dtype) +
                                          " differs from the input's " + dtype_name(x.dtype));
    }
}

inline void check_batchnorm_running(const ArrayView& mean, const ArrayView& var, const ArrayView& rm,
                                    const ArrayView& rv, int64_t count) {
    const int64_t c = mean.numel();
    for (const ArrayView* a : {&mean, &var, &rm, &rv}) {
        GC_CHECK(a->is_contiguous() && a->numel() == c,
                 "batch_norm: running statistics must be contiguous with one element per channel");
        GC_CHECK(a->dtype == mean.dtype && (a->dtype == DType::Float32 || a->dtype == DType::Float64),
                 std::string("batch_norm: running statistics must be float32 or float64 of one dtype, got ") +
                     dtype_name(a->dtype));
    }
    GC_CHECK(count >= 0, "batch_norm: negative count");
}

}  // namespace gc
