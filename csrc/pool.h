// 2-d pooling kernels (NCHW), declared for both devices, with the window geometry and checks they share.
// max_pool2d_fwd writes values and flat argmax indices (h * W + w in the input plane, torch's convention)
// in one pass; max_pool2d_bwd adds each output's gradient at its index (a scatter-add, in the same
// ascending window order on both devices: the CUDA twin gathers per input element, so no atomics and
// bit-identical sums). avg_pool2d_bwd is in gather form too: each input sums the windows covering it.
#pragma once
#include <algorithm>
#include <array>
#include <string>
#include "common.h"

namespace gc {

struct Pool2dParams {
    int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
    bool count_include_pad = true;  // avg-pool only
    int64_t divisor = 0;            // avg-pool only: divisor_override, 0 when not given
};

// The bindings' form of the parameters: (kh, kw, sh, sw, ph, pw, dh, dw) as one list from Python.
inline Pool2dParams pool_params(const std::array<int64_t, 8>& k, bool count_include_pad = true, int64_t divisor = 0) {
    Pool2dParams p;
    p.kh = k[0], p.kw = k[1], p.sh = k[2], p.sw = k[3], p.ph = k[4], p.pw = k[5], p.dh = k[6], p.dw = k[7];
    p.count_include_pad = count_include_pad;
    p.divisor = divisor;
    return p;
}

// Operands are contiguous: x / gx (N, C, H, W), y / gy / idx (N, C, OH, OW); idx is int64. The output
// sizes come from the operands' shapes (ceil_mode is decided by the caller). Every kernel overwrites
// its output.
#define GC_DECLARE_POOL_KERNELS(NS)                                                                  \
    namespace NS {                                                                                  \
    void max_pool2d_fwd(const ArrayView& x, const ArrayView& y, const ArrayView& idx, const Pool2dParams& p); \
    void max_pool2d_bwd(const ArrayView& gy, const ArrayView& idx, const ArrayView& gx, const Pool2dParams& p); \
    void avg_pool2d_fwd(const ArrayView& x, const ArrayView& y, const Pool2dParams& p);             \
    void avg_pool2d_bwd(const ArrayView& gy, const ArrayView& gx, const Pool2dParams& p);           \
    }

GC_DECLARE_POOL_KERNELS(cpu)
#ifdef GC_WITH_CUDA
GC_DECLARE_POOL_KERNELS(cuda)
#endif

// torch's avg-pool divisor for the window starting at (hs, ws) (before clipping) in an (h, w) plane.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline int64_t avg_pool_divisor(int64_t hs, int64_t ws, int64_t h, int64_t w, const Pool2dParams& p) {
    if (p.divisor) return p.divisor;
    int64_t he = hs + p.kh < h + p.ph ? hs + p.kh : h + p.ph;
    int64_t we = ws + p.kw < w + p.pw ? ws + p.kw : w + p.pw;
    if (p.count_include_pad) return (he - hs) * (we - ws);
    hs = hs > 0 ? hs : 0;
    ws = ws > 0 ? ws : 0;
    he = he < h ? he : h;
    we = we < w ? we : w;
    return (he - hs) * (we - ws);
}

// Checks shared by both devices. `x` is the input-plane operand (x or gx), `y` the output-plane one.
inline void check_pool2d(const char* op, const ArrayView& x, const ArrayView& y, const Pool2dParams& p,
                         const ArrayView* idx = nullptr) {
    std::string o(op);
    GC_CHECK(x.ndim == 4 && y.ndim == 4, o + ": operands must be 4-d (NCHW)");
    GC_CHECK(x.dtype == y.dtype, o + ": dtype mismatch");
    GC_CHECK(x.dtype == DType::Float32 || x.dtype == DType::Float64, o + ": needs float32 or float64");
    GC_CHECK(x.is_contiguous() && y.is_contiguous(), o + ": operands must be contiguous");
    GC_CHECK(x.shape[0] == y.shape[0] && x.shape[1] == y.shape[1], o + ": batch/channel sizes differ");
    GC_CHECK(p.kh > 0 && p.kw > 0 && p.sh > 0 && p.sw > 0 && p.dh > 0 && p.dw > 0 && p.ph >= 0 && p.pw >= 0 &&
                 p.divisor >= 0,
             o + ": kernel size, stride and dilation must be positive, padding non-negative");
    if (idx) {
        GC_CHECK(idx->ndim == 4 && idx->dtype == DType::Int64 && idx->is_contiguous(),
                 o + ": indices must be a contiguous int64 array");
        for (int d = 0; d < 4; ++d) GC_CHECK(idx->shape[d] == y.shape[d], o + ": indices shape differs from output");
    }
}

}  // namespace gc
