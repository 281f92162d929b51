// 2-d convolution kernels (NCHW), declared for both devices, with the geometry and checks they share.
// Three kernels cover conv2d and conv_transpose2d, forward and backward: conv_transpose2d's forward is
// conv2d's input gradient, its input gradient is conv2d's forward, and both weight gradients are
// conv2d_backward_weight with the roles of input and output swapped.
#pragma once
#include <algorithm>
#include <string>
#include "common.h"

namespace gc {

struct Conv2dParams {
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;
};

// Operands are contiguous: x / gx (N, C, H, W), w / gw (O, C / groups, KH, KW), y / gy (N, O, OH, OW).
// Every kernel overwrites its output (no accumulation). The spatial sizes come from the operands'
// shapes, so conv_transpose2d's output_padding is simply a larger gx.
#define GC_DECLARE_CONV_KERNELS(NS)                                                                   \
    namespace NS {                                                                                   \
    void conv2d_forward(const ArrayView& x, const ArrayView& w, const ArrayView& y, const Conv2dParams& p); \
    void conv2d_backward_input(const ArrayView& gy, const ArrayView& w, const ArrayView& gx,         \
                               const Conv2dParams& p);                                               \
    void conv2d_backward_weight(const ArrayView& x, const ArrayView& gy, const ArrayView& gw,        \
                                const Conv2dParams& p);                                              \
    }

GC_DECLARE_CONV_KERNELS(cpu)
#ifdef GC_WITH_CUDA
GC_DECLARE_CONV_KERNELS(cuda)
#endif

// The output size along one spatial dim (torch's formula, floor division); <= 0 means the input is too
// small for the dilated kernel.
inline int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
    const int64_t span = in + 2 * pad - dil * (k - 1) - 1;
    return (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
}

// Whether `out` is a valid output size for an input of size `in`: conv2d's own size, or the size of the
// conv_transpose2d input that produced `in` with an output_padding in [0, max(stride, dilation)), whose
// extra rows no window reaches (so the kernels take the output size from the operands, never recompute it).
inline bool conv_out_size_ok(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
    const int64_t slack = std::max(stride, dil) - 1;
    return out >= 0 && out <= conv_out_size(in, k, stride, pad, dil) &&
           out >= conv_out_size(in - slack, k, stride, pad, dil);
}

// Checks shared by both devices: ranks, dtypes, contiguity, channel/group counts and that the
// (x, w, y) shapes agree with the parameters. `op` names the caller in the message.
inline void check_conv2d(const char* op, const ArrayView& x, const ArrayView& w, const ArrayView& y,
                         const Conv2dParams& p) {
    std::string o(op);
    GC_CHECK(x.ndim == 4 && w.ndim == 4 && y.ndim == 4, o + ": operands must be 4-d (NCHW)");
    GC_CHECK(x.dtype == w.dtype && x.dtype == y.dtype, o + ": dtype mismatch");
    GC_CHECK(x.dtype == DType::Float32 || x.dtype == DType::Float64, o + ": needs float32 or float64");
    GC_CHECK(x.is_contiguous() && w.is_contiguous() && y.is_contiguous(), o + ": operands must be contiguous");
    GC_CHECK(p.stride_h > 0 && p.stride_w > 0 && p.dil_h > 0 && p.dil_w > 0 && p.pad_h >= 0 && p.pad_w >= 0 &&
                 p.groups > 0,
             o + ": stride and dilation must be positive, padding non-negative, groups positive");
    GC_CHECK(x.shape[1] % p.groups == 0 && w.shape[0] % p.groups == 0, o + ": channels not divisible by groups");
    GC_CHECK(w.shape[1] == x.shape[1] / p.groups, o + ": weight's in-channels do not match input / groups");
    GC_CHECK(y.shape[0] == x.shape[0] && y.shape[1] == w.shape[0], o + ": output batch/channels mismatch");
    GC_CHECK(conv_out_size_ok(x.shape[2], y.shape[2], w.shape[2], p.stride_h, p.pad_h, p.dil_h) &&
                 conv_out_size_ok(x.shape[3], y.shape[3], w.shape[3], p.stride_w, p.pad_w, p.dil_w),
             o + ": output spatial size does not match the parameters");
}

}  // namespace gc
