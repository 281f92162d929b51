// The kernel table's signatures: every family has the same functions on each device.
#pragma once
#include <vector>
#include "common.h"
#include "functors.h"

namespace gc {

// Per-tensor optimizer operands: all lists have one entry per parameter tensor.
struct OptimLists {
    std::vector<ArrayView> params, grads, bufs1, bufs2;
};

#define GC_DECLARE_KERNELS(NS)                                                                   \
    namespace NS {                                                                               \
    template <class Op> void unary(const ArrayView& x, const ArrayView& out);                    \
    template <class Op> void binary(const ArrayView& a, const ArrayView& b, const ArrayView& out); \
    void cast(const ArrayView& x, const ArrayView& out);                                         \
    template <class Op> void compare(const ArrayView& a, const ArrayView& b, const ArrayView& out); \
    void reduce_sum(const ArrayView& x, const ArrayView& out);                                   \
    void reduce_max(const ArrayView& x, const ArrayView& out);                                   \
    void argmax_lastdim(const ArrayView& x, const ArrayView& out);                               \
    void reduce_min(const ArrayView& x, const ArrayView& out);                                   \
    void reduce_prod(const ArrayView& x, const ArrayView& out);                                  \
    void argmin_lastdim(const ArrayView& x, const ArrayView& out);                               \
    void cumsum_lastdim(const ArrayView& x, const ArrayView& out);                               \
    void matmul(const ArrayView& a, const ArrayView& b, const ArrayView& out);                   \
    void softmax_ce(const ArrayView& logits, const ArrayView& targets, const ArrayView& loss,    \
                    const ArrayView& dlogits, int64_t ignore_index, int reduction);              \
    void adam_step(const OptimLists& t, double lr, double beta1, double beta2, double eps,       \
                   double weight_decay, int64_t step, bool decoupled);                           \
    void sgd_step(const OptimLists& t, double lr, double momentum, double weight_decay,          \
                  double dampening, bool nesterov, bool first);                                  \
    void gather(const ArrayView& x, int64_t dim, const ArrayView& index, const ArrayView& out);  \
    void scatter(const ArrayView& src, int64_t dim, const ArrayView& index, const ArrayView& out, \
                 bool accumulate);                                                               \
    void where(const ArrayView& cond, const ArrayView& a, const ArrayView& b, const ArrayView& out); \
    }

GC_DECLARE_KERNELS(cpu)
#ifdef GC_WITH_CUDA
GC_DECLARE_KERNELS(cuda)
#endif

// Random kernels (random_cpu.cpp / random_cuda.cu): counter-based, so both devices give the same mask.
namespace cpu {
void dropout_mask(const ArrayView& out, double p, uint64_t seed, uint64_t offset);
}
#ifdef GC_WITH_CUDA
namespace cuda {
void dropout_mask(const ArrayView& out, double p, uint64_t seed, uint64_t offset);
}
#endif

// fill (fill_cpu.cpp / fill_cuda.cu): a Python scalar as a kernel argument. Float dtypes take fvalue,
// integer dtypes ivalue (exact for every int64).
namespace cpu {
void fill(const ArrayView& out, double fvalue, int64_t ivalue);
}
#ifdef GC_WITH_CUDA
namespace cuda {
void fill(const ArrayView& out, double fvalue, int64_t ivalue);
}
#endif
inline void check_fill_args(const ArrayView& out) {
    GC_CHECK(out.numel() == 0 || out.is_contiguous(), "fill: the output must be contiguous");
}

// Checks shared by both devices' kernels, so the messages are the same everywhere.
inline void check_same_dtype(const ArrayView& a, const ArrayView& b, const char* op) {
    GC_CHECK(a.dtype == b.dtype, std::string(op) + ": dtype mismatch (" + dtype_name(a.dtype) + " vs " +
                                     dtype_name(b.dtype) + ")");
}

// A sum's output dtype: the input's, or the widened one (int64 for integers, float64 for float32).
inline void check_sum_dtypes(const ArrayView& x, const ArrayView& out, const char* op) {
    bool is_int = x.dtype == DType::Int32 || x.dtype == DType::Int64;
    GC_CHECK(out.dtype == x.dtype || (is_int && out.dtype == DType::Int64) ||
                 (x.dtype == DType::Float32 && out.dtype == DType::Float64),
             std::string(op) + ": cannot accumulate " + dtype_name(x.dtype) + " into " + dtype_name(out.dtype));
}

// argmax/argmin/cumsum along the last axis of a contiguous input.
inline void check_lastdim_args(const ArrayView& x, const ArrayView& out, const char* op) {
    GC_CHECK(x.ndim >= 1 && x.is_contiguous(), std::string(op) + ": input must be contiguous with at least one dim");
    GC_CHECK(out.is_contiguous(), std::string(op) + ": output must be contiguous");
}

// matmul takes (..., M, K) @ (..., K, N) -> (..., M, N): equal batch dims (the caller broadcasts them,
// stride 0 where expanded), any strides on the operands, a contiguous output.
inline void check_matmul_args(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    const int nd = a.ndim;
    GC_CHECK(nd >= 2 && b.ndim == nd && out.ndim == nd, "matmul: operands must have the same number (>= 2) of dims");
    for (int d = 0; d < nd - 2; ++d)
        GC_CHECK(a.shape[d] == b.shape[d] && out.shape[d] == a.shape[d], "matmul: batch dimensions differ");
    GC_CHECK(a.shape[nd - 1] == b.shape[nd - 2], "matmul: inner dimensions differ");
    // An empty output has nothing to lay out (NumPy gives such arrays arbitrary strides).
    GC_CHECK(out.shape[nd - 2] == a.shape[nd - 2] && out.shape[nd - 1] == b.shape[nd - 1] &&
                 (out.numel() == 0 || out.is_contiguous()),
             "matmul: output must be contiguous with shape (..., M, N)");
    check_same_dtype(a, b, "matmul");
    check_same_dtype(a, out, "matmul");
}

// The batch dims of a matmul (the leading ndim - 2, row-major), passed by value to CUDA kernels too.
struct MatmulBatch {
    int ndim = 0;
    int64_t count = 1;
    int64_t shape[kMaxDims] = {}, sa[kMaxDims] = {}, sb[kMaxDims] = {};

    MatmulBatch(const ArrayView& a, const ArrayView& b) : ndim(a.ndim - 2) {
        for (int d = 0; d < ndim; ++d) {
            shape[d] = a.shape[d];
            sa[d] = a.strides[d];
            sb[d] = b.strides[d];
            count *= shape[d];
        }
    }
    // Element offsets of batch item i in a and in b.
    GC_HD void offsets(int64_t i, int64_t& oa, int64_t& ob) const {
        oa = 0;
        ob = 0;
        for (int d = ndim - 1; d >= 0; --d) {
            const int64_t idx = i % shape[d];
            i /= shape[d];
            oa += idx * sa[d];
            ob += idx * sb[d];
        }
    }
};

// softmax_ce's reduction codes: per-row losses (N,), their mean over the rows whose target is not
// ignore_index (nan when all are ignored, as torch), or their sum.
enum SoftmaxCeReduction : int { kCeNone = 0, kCeMean = 1, kCeSum = 2 };

inline void check_softmax_ce_args(const ArrayView& logits, const ArrayView& targets, const ArrayView& loss,
                                  const ArrayView& dlogits, int reduction) {
    GC_CHECK(reduction == kCeNone || reduction == kCeMean || reduction == kCeSum,
             "cross_entropy: reduction code must be 0 (none), 1 (mean) or 2 (sum)");
    GC_CHECK(logits.ndim == 2 && logits.is_contiguous(), "cross_entropy: logits must be contiguous (N, C)");
    GC_CHECK(targets.ndim == 1 && targets.shape[0] == logits.shape[0] && targets.is_contiguous(),
             "cross_entropy: targets must have shape (N,) matching the logits' batch");
    GC_CHECK(targets.dtype == DType::Int64 || targets.dtype == DType::Int32,
             std::string("cross_entropy: targets must be int64 or int32, got ") + dtype_name(targets.dtype));
    GC_CHECK(logits.shape[0] > 0 && logits.shape[1] > 0, "cross_entropy: empty batch or no classes");
    GC_CHECK(dlogits.is_contiguous() && dlogits.numel() == logits.numel(), "cross_entropy: bad dlogits buffer");
    check_same_dtype(logits, loss, "cross_entropy");
    check_same_dtype(logits, dlogits, "cross_entropy");
    GC_CHECK(loss.is_contiguous() && loss.numel() == (reduction == kCeNone ? logits.shape[0] : 1),
             "cross_entropy: the loss buffer must hold one value, or one per row for reduction 'none'");
}

// Every buffer of every parameter is checked before any is touched, so a bad entry never leaves the
// parameters half updated: same float dtype as its parameter, contiguous, the same size.
inline void check_optim_lists(const OptimLists& t, bool two_bufs) {
    size_t n = t.params.size();
    GC_CHECK(t.grads.size() == n && t.bufs1.size() == n && (!two_bufs || t.bufs2.size() == n),
             "optimizer: parameter, gradient and state lists differ in length");
    for (size_t i = 0; i < n; ++i) {
        const ArrayView& p = t.params[i];
        const std::string at = " (parameter " + std::to_string(i) + ")";
        GC_CHECK(p.dtype == DType::Float32 || p.dtype == DType::Float64,
                 std::string("optimizer: parameters must be float32 or float64, got ") + dtype_name(p.dtype) + at);
        const ArrayView* bufs[] = {&p, &t.grads[i], &t.bufs1[i], two_bufs ? &t.bufs2[i] : nullptr};
        const char* names[] = {"parameter", "gradient", "state buffer", "second state buffer"};
        for (int k = 0; k < 4; ++k) {
            if (!bufs[k]) continue;
            GC_CHECK(bufs[k]->is_contiguous(), std::string("optimizer: ") + names[k] + " is not contiguous" + at);
            GC_CHECK(bufs[k]->numel() == p.numel(),
                     std::string("optimizer: ") + names[k] + " size differs from its parameter" + at);
            GC_CHECK(bufs[k]->dtype == p.dtype, std::string("optimizer: ") + names[k] + " dtype " +
                                                    dtype_name(bufs[k]->dtype) + " differs from the parameter's " +
                                                    dtype_name(p.dtype) + at);
        }
    }
}

}  // namespace gc
