// CUDA 2-d convolution (NCHW), the twins of conv_cpu.cpp, numbered and selectable at run time
// (set_conv_variant):
//   0: direct, one thread per output element, int64 indexing (the reference the tiled kernels are checked against)
//   1: implicit GEMM (implicit_gemm_cuda.cuh), per group, no im2col buffer (default):
//      forward          C[m = (n, oh, ow), o] = sum over k = (c, kh, kw) of x-gather[m, k] * w[o, k]
//      backward_input   C[m = (n, ih, iw), c] = sum over k = (o, kh, kw) of gy-gather[m, k] * w[o, c, kh, kw]
//                       (gather form: each gx element collects the (o, kh, kw) that reach it; no atomics);
//                       strided convs run one GEMM per stride phase over only the taps that reach it
//      backward_weight  C[o, j = (c, kh, kw)] = sum over k = (n, oh, ow) of gy[n, o, oh, ow] * x-gather[k, j],
//                       K split over blocks into a partial buffer that a second kernel sums in split order.
//   Shapes whose per-group GEMM or per-sample offsets do not fit int32 take variant 0.
// Everything is deterministic: each output's sum runs in a fixed order. float64 accumulates in double.
// Compiled, not yet run on a GPU.
#include <algorithm>
#include <atomic>
#include <type_traits>
#include "conv.h"
#include "cuda_common.h"
#include "conv_cuda.cuh"
#include "implicit_gemm_cuda.cuh"

namespace gc::cuda {

std::atomic<int> g_conv_variant{1};

void set_conv_variant(int v) {
    GC_CHECK(v == 0 || v == 1, "conv variant must be 0 (direct) or 1 (implicit GEMM)");
    g_conv_variant = v;
}
int conv_variant() { return g_conv_variant; }

namespace {

// The SM count of the current device (cached per device id): split-K aims at a few waves of blocks.
int sm_count() {
    constexpr int kMaxDevices = 64;
    static std::atomic<int> cached[kMaxDevices];
    int dev = 0;
    cudaGetDevice(&dev);
    int n = dev >= 0 && dev < kMaxDevices ? cached[dev].load(std::memory_order_relaxed) : 0;
    if (n == 0) {
        if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) cudaGetLastError();
        n = std::max(n, 1);
        if (dev >= 0 && dev < kMaxDevices) cached[dev].store(n, std::memory_order_relaxed);
    }
    return n;
}

// Launches problem p over `groups` GEMMs and `splits` K-splits of k_chunk each.
template <class P>
void launch_implicit_gemm(const P& p, int64_t groups, int splits, int k_chunk, const char* what) {
    auto go = [&](auto tile) {
        using TileT = decltype(tile);
        const int64_t row_tiles = (int64_t(p.M) + TileT::BM - 1) / TileT::BM;
        const int64_t col_tiles = (int64_t(p.N) + TileT::BN - 1) / TileT::BN;
        const int64_t blocks_z = groups * splits;
        constexpr int64_t kMaxGridZ = 65535;
        for (int64_t z0 = 0; z0 < blocks_z; z0 += kMaxGridZ) {
            dim3 grid(unsigned(row_tiles), unsigned(std::min<int64_t>(col_tiles, 65535)),
                      unsigned(std::min<int64_t>(kMaxGridZ, blocks_z - z0)));
            igemm::implicit_gemm<P, TileT><<<grid, igemm::kBlockThreads, 0, stream()>>>(p, splits, k_chunk, z0);
            GC_LAUNCH_CHECK(what);
        }
    };
    switch (conv::pick_tile(p.M, p.N)) {
        case 0: go(igemm::Tile<128, 32>{}); break;
        case 1: go(igemm::Tile<32, 128>{}); break;
        default: go(igemm::Tile<64, 64>{}); break;
    }
}

template <class T>
void forward_tiled(const conv::Geom& g, const ArrayView& x, const ArrayView& w, const ArrayView& y) {
    const auto p = conv::forward_problem<T>(g, x.ptr<T>(), w.ptr<T>(), y.ptr<T>());
    launch_implicit_gemm(p, g.groups, 1, std::max(p.K, 1), "conv2d_forward kernel (implicit GEMM)");
}

template <class T>
void backward_input_tiled(const conv::Geom& g, const ArrayView& gy, const ArrayView& w, const ArrayView& gx) {
    if (conv::backward_input_phases(g) > 0) {
        // Every gx pixel belongs to exactly one phase; a phase no tap reaches (K = 0) is written as zeros.
        for (int64_t ih0 = 0; ih0 < std::min(g.sh, g.H); ++ih0)
            for (int64_t iw0 = 0; iw0 < std::min(g.sw, g.W); ++iw0) {
                const auto p = conv::backward_input_phase_problem<T>(g, ih0, iw0, gy.ptr<T>(), w.ptr<T>(),
                                                                     gx.ptr<T>());
                if (p.M == 0) continue;  // no pixel in this phase (cannot happen for ih0 < H, iw0 < W)
                launch_implicit_gemm(p, g.groups, 1, std::max(p.K, 1), "conv2d_backward_input kernel (stride phase)");
            }
        return;
    }
    const auto p = conv::backward_input_problem<T>(g, gy.ptr<T>(), w.ptr<T>(), gx.ptr<T>());
    launch_implicit_gemm(p, g.groups, 1, std::max(p.K, 1), "conv2d_backward_input kernel (implicit GEMM)");
}

template <class T>
void backward_weight_tiled(const conv::Geom& g, const ArrayView& x, const ArrayView& gy, const ArrayView& gw) {
    auto p = conv::backward_weight_problem<T>(g, x.ptr<T>(), gy.ptr<T>());
    const conv::SplitPlan plan = conv::plan_splits(p.M, p.N, p.K, g.groups, sm_count());
    const int64_t n_out = gw.numel();
    if (plan.splits == 1) {
        p.out = gw.ptr<T>();
        launch_implicit_gemm(p, g.groups, 1, plan.k_chunk, "conv2d_backward_weight kernel (implicit GEMM)");
        return;
    }
    // The partials live until the sum below has run: the block returns to the allocator's cache for this
    // stream only, and work on a stream runs in order.
    auto scratch = device_alloc(sizeof(T) * size_t(n_out) * size_t(plan.splits));
    p.out = static_cast<T*>(scratch->ptr), p.split_stride = n_out;
    launch_implicit_gemm(p, g.groups, plan.splits, plan.k_chunk, "conv2d_backward_weight kernel (implicit GEMM)");
    conv::sum_splits<T><<<grid_for(n_out), kThreads, 0, stream()>>>(p.out, gw.ptr<T>(), n_out, plan.splits);
    GC_LAUNCH_CHECK("conv2d_backward_weight kernel (split sum)");
}

}  // namespace

// x, w, y as in conv.h; the geometry comes from (x, w, y) for all three, whichever is the output.
void conv2d_forward(const ArrayView& x, const ArrayView& w, const ArrayView& y, const Conv2dParams& p) {
    check_conv2d("conv2d_forward", x, w, y, p);
    if (y.numel() == 0) return;
    const conv::Geom g = conv::make_geom(x, w, y, p);
    dispatch_float(x.dtype, "conv2d_forward", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (g_conv_variant == 1 && conv::fits_int32(g)) return forward_tiled<T>(g, x, w, y);
        conv::forward_direct<T><<<grid_for(y.numel()), kThreads, 0, stream()>>>(x.ptr<T>(), w.ptr<T>(), y.ptr<T>(), g);
        GC_LAUNCH_CHECK("conv2d_forward kernel (direct)");
    });
}

void conv2d_backward_input(const ArrayView& gy, const ArrayView& w, const ArrayView& gx, const Conv2dParams& p) {
    check_conv2d("conv2d_backward_input", gx, w, gy, p);
    if (gx.numel() == 0) return;
    const conv::Geom g = conv::make_geom(gx, w, gy, p);
    dispatch_float(gx.dtype, "conv2d_backward_input", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (g_conv_variant == 1 && conv::fits_int32(g)) return backward_input_tiled<T>(g, gy, w, gx);
        conv::backward_input_direct<T>
            <<<grid_for(gx.numel()), kThreads, 0, stream()>>>(gy.ptr<T>(), w.ptr<T>(), gx.ptr<T>(), g);
        GC_LAUNCH_CHECK("conv2d_backward_input kernel (direct)");
    });
}

void conv2d_backward_weight(const ArrayView& x, const ArrayView& gy, const ArrayView& gw, const Conv2dParams& p) {
    check_conv2d("conv2d_backward_weight", x, gw, gy, p);
    if (gw.numel() == 0) return;
    const conv::Geom g = conv::make_geom(x, gw, gy, p);
    dispatch_float(x.dtype, "conv2d_backward_weight", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (g_conv_variant == 1 && conv::fits_int32(g)) return backward_weight_tiled<T>(g, x, gy, gw);
        conv::backward_weight_direct<T>
            <<<grid_for(gw.numel()), kThreads, 0, stream()>>>(x.ptr<T>(), gy.ptr<T>(), gw.ptr<T>(), g);
        GC_LAUNCH_CHECK("conv2d_backward_weight kernel (direct)");
    });
}

}  // namespace gc::cuda
