// CPU 2-d convolution (NCHW). Two ways to run each kernel:
// - the implicit GEMM (conv_implicit_cpu.h): no im2col matrix; each sample is copied zero-padded and split
//   into stride phases, and a 12-channel x 32-pixel register tile reads its taps in place. It runs conv2d's
//   forward, the stride-1 input gradient (a conv of gy with the flipped kernel) and the strided input
//   gradient (one such conv per stride phase); the weight gradient has its channels-last twin
//   (conv_wgrad_cpu.h). Used from 8 output channels per group and 64 taps (32 for the weight gradient) up.
// - im2col / col2im around the packed GEMM of matmul_cpu.cpp, per sample and group, with col the
//   (Cg*KH*KW x OH*OW) matrix of input windows:
//     forward          y_g  (Og x L)   = W_g (Og x CKK) @ col
//     backward_input   col' (CKK x L)  = W_g^T @ gy_g,   then gx_g = col2im(col')
//     backward_weight  gW_g (Og x CKK) += gy_g @ col^T   (summed over the batch)
//   for few channels or taps (the VAE's 1-channel layers), where the tile would be mostly padding. A 1x1
//   kernel with stride 1 and no padding reads x itself as col.
// Both take whole samples per thread when the batch has one per thread (the weight gradient in private
// partial sums, added in a fixed order); otherwise the GEMM (or the implicit GEMM's panels) splits.
// GRADCORE_CONV_PATH=im2col|implicit forces one path (the tests run both on the same shapes).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>
#include "conv.h"
#include "conv_implicit_cpu.h"
#include "conv_wgrad_cpu.h"
#include "gemm_cpu.h"
#include "parallel.h"

namespace gc::cpu {
namespace {

struct Geometry {
    int64_t N, C, H, W;      // input (or input gradient)
    int64_t O, KH, KW;       // weight (O, C / G, KH, KW)
    int64_t OH, OW;          // output (or output gradient)
    int64_t G, Cg, Og, CKK, L;
    int64_t sh, sw, ph, pw, dh, dw;
    bool direct;             // col == x: 1x1 kernel, stride 1, no padding, same spatial size
};

Geometry geometry(const ArrayView& x, const ArrayView& w, const ArrayView& y, const Conv2dParams& p) {
    Geometry g;
    g.N = x.shape[0], g.C = x.shape[1], g.H = x.shape[2], g.W = x.shape[3];
    g.O = w.shape[0], g.KH = w.shape[2], g.KW = w.shape[3];
    g.OH = y.shape[2], g.OW = y.shape[3];
    g.G = p.groups, g.Cg = g.C / g.G, g.Og = g.O / g.G;
    g.CKK = g.Cg * g.KH * g.KW, g.L = g.OH * g.OW;
    g.sh = p.stride_h, g.sw = p.stride_w, g.ph = p.pad_h, g.pw = p.pad_w, g.dh = p.dil_h, g.dw = p.dil_w;
    g.direct = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.OH == g.H &&
               g.OW == g.W;
    return g;
}

// The output columns [lo, hi) whose tap at input offset `off + ow * s` lands inside [0, size).
inline void valid_range(int64_t off, int64_t s, int64_t size, int64_t out, int64_t& lo, int64_t& hi) {
    lo = off >= 0 ? 0 : std::min(out, (-off + s - 1) / s);
    hi = size - 1 - off < 0 ? 0 : std::min(out, (size - 1 - off) / s + 1);
    hi = std::max(hi, lo);
}

// Zeroes dst[0, n): a plain loop, since the spans here are a few elements and a memset call costs more.
template <class T>
inline void zero(T* __restrict dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = T(0);
}

// col (Cg*KH*KW x OH*OW) from one sample's group of channels x (Cg, H, W); zeros where a window
// reaches into the padding. Rows are short (OW elements), so the per-row work is kept to plain loops.
template <class T>
void im2col(const T* __restrict x, T* __restrict col, const Geometry& g) {
    // Stride 1 with OW == W: one kernel tap's row is the input plane shifted by a constant offset,
    // so it is copied as one contiguous run and the columns / rows that fall in the padding are zeroed.
    const bool shifted = g.sh == 1 && g.sw == 1 && g.OW == g.W;
    for (int64_t c = 0; c < g.Cg; ++c)
        for (int64_t kh = 0; kh < g.KH; ++kh)
            for (int64_t kw = 0; kw < g.KW; ++kw) {
                T* __restrict row = col + ((c * g.KH + kh) * g.KW + kw) * g.L;
                const T* plane = x + c * g.H * g.W;
                const int64_t w_off = kw * g.dw - g.pw, h_off = kh * g.dh - g.ph;
                int64_t lo, hi;
                valid_range(w_off, g.sw, g.W, g.OW, lo, hi);
                if (shifted) {
                    // Valid output rows: 0 <= oh + h_off < H.
                    const int64_t oh0 = std::clamp<int64_t>(-h_off, 0, g.OH);
                    const int64_t oh1 = std::clamp<int64_t>(g.H - h_off, oh0, g.OH);
                    zero(row, oh0 * g.OW);
                    zero(row + oh1 * g.OW, (g.OH - oh1) * g.OW);
                    if (oh0 == oh1 || lo == hi) {
                        zero(row + oh0 * g.OW, (oh1 - oh0) * g.OW);
                        continue;
                    }
                    // Copy [oh0 * OW + lo, (oh1 - 1) * OW + hi): every source index in it lies in the plane.
                    const int64_t first = oh0 * g.OW + lo, last = (oh1 - 1) * g.OW + hi;
                    const T* __restrict src = plane + h_off * g.W + w_off;
                    for (int64_t l = first; l < last; ++l) row[l] = src[l];
                    for (int64_t oh = oh0; oh < oh1; ++oh) {  // the columns that wrapped into a neighbour row
                        zero(row + oh * g.OW, lo);
                        zero(row + oh * g.OW + hi, g.OW - hi);
                    }
                    continue;
                }
                for (int64_t oh = 0; oh < g.OH; ++oh) {
                    T* __restrict r = row + oh * g.OW;
                    const int64_t h = oh * g.sh + h_off;
                    if (h < 0 || h >= g.H) {
                        zero(r, g.OW);
                        continue;
                    }
                    const T* __restrict src = plane + h * g.W + w_off;
                    zero(r, lo);
                    if (g.sw == 1)
                        for (int64_t ow = lo; ow < hi; ++ow) r[ow] = src[ow];
                    else
                        for (int64_t ow = lo; ow < hi; ++ow) r[ow] = src[ow * g.sw];
                    zero(r + hi, g.OW - hi);
                }
            }
}

// gx (Cg, H, W) = the sum of col's windows put back where im2col took them (gx starts zeroed). col is
// scratch: the stride-1 path zeroes its padding columns so that each tap's row adds as one contiguous run.
template <class T>
void col2im(T* __restrict col, T* __restrict gx, const Geometry& g) {
    const bool shifted = g.sh == 1 && g.sw == 1 && g.OW == g.W;
    for (int64_t c = 0; c < g.Cg; ++c)
        for (int64_t kh = 0; kh < g.KH; ++kh)
            for (int64_t kw = 0; kw < g.KW; ++kw) {
                T* __restrict row = col + ((c * g.KH + kh) * g.KW + kw) * g.L;
                T* plane = gx + c * g.H * g.W;
                const int64_t w_off = kw * g.dw - g.pw, h_off = kh * g.dh - g.ph;
                int64_t lo, hi;
                valid_range(w_off, g.sw, g.W, g.OW, lo, hi);
                if (shifted) {
                    const int64_t oh0 = std::clamp<int64_t>(-h_off, 0, g.OH);
                    const int64_t oh1 = std::clamp<int64_t>(g.H - h_off, oh0, g.OH);
                    if (oh0 == oh1 || lo == hi) continue;
                    for (int64_t oh = oh0; oh < oh1; ++oh) {  // these would land in a neighbour row: add 0 there
                        zero(row + oh * g.OW, lo);
                        zero(row + oh * g.OW + hi, g.OW - hi);
                    }
                    const int64_t first = oh0 * g.OW + lo, last = (oh1 - 1) * g.OW + hi;
                    T* __restrict dst = plane + h_off * g.W + w_off;
                    for (int64_t l = first; l < last; ++l) dst[l] += row[l];
                    continue;
                }
                for (int64_t oh = 0; oh < g.OH; ++oh) {
                    const int64_t h = oh * g.sh + h_off;
                    if (h < 0 || h >= g.H) continue;
                    const T* __restrict r = row + oh * g.OW;
                    T* __restrict dst = plane + h * g.W + w_off;
                    if (g.sw == 1)
                        for (int64_t ow = lo; ow < hi; ++ow) dst[ow] += r[ow];
                    else
                        for (int64_t ow = lo; ow < hi; ++ow) dst[ow * g.sw] += r[ow];
                }
            }
}

template <class T>
std::unique_ptr<T[]> scratch(int64_t n) { return std::unique_ptr<T[]>(new T[std::max<int64_t>(n, 1)]); }

// Runs sample(n, col, threaded) for every n: whole samples per thread when there are enough of them
// (each thread with its own col buffer), else one after another with the GEMM split over threads.
// begin(n0) / end(state) bracket each thread's share, whose first sample is n0 (the weight gradient's
// private sums).
template <class T, class Sample, class Begin, class End>
void over_batch(const Geometry& g, Sample&& sample, Begin&& begin, End&& end) {
    const int64_t col_size = g.direct ? 0 : g.CKK * g.L;
    const double flops = 2.0 * g.Og * g.CKK * g.L * g.G;  // per sample
    const int nt = num_threads();
    if (nt > 1 && g.N >= nt) {
        const int64_t min_per_thread = std::max<int64_t>(1, static_cast<int64_t>(2e6 / std::max(flops, 1.0)));
        // 4 ranges per thread, claimed dynamically: a thread that starts late still takes its share.
        parallel_for(
            g.N, min_per_thread,
            [&](int64_t n0, int64_t n1) {
                auto col = scratch<T>(col_size);
                auto state = begin(n0);
                for (int64_t n = n0; n < n1; ++n) sample(n, col.get(), false, state);
                end(state);
            },
            4);
        return;
    }
    auto col = scratch<T>(col_size);
    auto state = begin(int64_t(0));
    for (int64_t n = 0; n < g.N; ++n) sample(n, col.get(), true, state);
    end(state);
}

struct NoState {};

// The im2col paths (per sample: im2col, then the packed GEMM): kept for few output channels or taps.
template <class T>
void forward_im2col(const ArrayView& xv, const ArrayView& wv, const ArrayView& yv, const Conv2dParams& p) {
    const Geometry g = geometry(xv, wv, yv, p);
    const T* x = xv.ptr<T>();
    const T* w = wv.ptr<T>();
    T* y = yv.ptr<T>();
    auto sample = [&](int64_t n, T* col, bool threaded, NoState&) {
        for (int64_t grp = 0; grp < g.G; ++grp) {
            const T* xg = x + (n * g.C + grp * g.Cg) * g.H * g.W;
            if (!g.direct) im2col(xg, col, g);
            gemm_strided<T>(g.Og, g.L, g.CKK, w + grp * g.Og * g.CKK, g.CKK, 1, g.direct ? xg : col, g.L, 1,
                            y + (n * g.O + grp * g.Og) * g.L, threaded);
        }
    };
    over_batch<T>(g, sample, [](int64_t) { return NoState{}; }, [](NoState&) {});
}

template <class T>
void backward_weight_im2col(const ArrayView& xv, const ArrayView& gyv, const ArrayView& gwv, const Conv2dParams& p) {
    const Geometry g = geometry(xv, gwv, gyv, p);
    const T* x = xv.ptr<T>();
    const T* gy = gyv.ptr<T>();
    T* gw = gwv.ptr<T>();
    const int64_t wsize = g.O * g.CKK;
    std::fill(gw, gw + wsize, T(0));
    struct Partial {
        int64_t first;                   // the thread's first sample: partial sums are added in this order
        std::unique_ptr<T[]> sum, prod;  // this thread's share of gW, and one sample's product
    };
    std::mutex mutex;
    std::vector<Partial> done;
    auto begin = [&](int64_t n0) {
        Partial s{n0, scratch<T>(wsize), scratch<T>(g.Og * g.CKK)};
        std::fill(s.sum.get(), s.sum.get() + wsize, T(0));
        return s;
    };
    auto sample = [&](int64_t n, T* col, bool threaded, Partial& s) {
        for (int64_t grp = 0; grp < g.G; ++grp) {
            const T* xg = x + (n * g.C + grp * g.Cg) * g.H * g.W;
            if (!g.direct) im2col(xg, col, g);
            // col^T (L x CKK) through strides.
            gemm_strided<T>(g.Og, g.CKK, g.L, gy + (n * g.O + grp * g.Og) * g.L, g.L, 1, g.direct ? xg : col, 1,
                            g.L, s.prod.get(), threaded);
            T* acc = s.sum.get() + grp * g.Og * g.CKK;
            const T* prod = s.prod.get();
            for (int64_t i = 0; i < g.Og * g.CKK; ++i) acc[i] += prod[i];
        }
    };
    auto end = [&](Partial& s) {
        std::lock_guard<std::mutex> lock(mutex);
        done.push_back(std::move(s));
    };
    over_batch<T>(g, sample, begin, end);
    // A fixed order (by first sample), not the threads' finishing order: the result is reproducible.
    std::sort(done.begin(), done.end(), [](const Partial& a, const Partial& b) { return a.first < b.first; });
    for (const Partial& s : done) {
        const T* sum = s.sum.get();
        for (int64_t i = 0; i < wsize; ++i) gw[i] += sum[i];
    }
}

// Which path a kernel takes: GRADCORE_CONV_PATH=im2col or =implicit forces one (read at every call, a
// getenv next to a convolution); otherwise `implicit_pays` decides.
inline bool use_implicit(bool implicit_pays) {
    if (const char* env = std::getenv("GRADCORE_CONV_PATH")) {
        if (std::strcmp(env, "im2col") == 0) return false;
        if (std::strcmp(env, "implicit") == 0) return true;
    }
    return implicit_pays;
}

// Below 8 output channels per group most of each 12-row strip is padding and the padded copy outweighs
// the few rows it feeds; below 64 taps (K = Cg * KH * KW) each tile's few FMAs do not
// pay for routing it through a buffer into y (measured, VAE conv1 with K = 9: 0.34 ms vs 0.13 ms by
// im2col); below 32 taps the weight gradient's 32-wide panels are mostly padding.
constexpr int64_t kImplicitMinRows = 8, kImplicitMinTaps = 64, kWgradMinTaps = 32;

// conv2d itself: the implicit GEMM of conv_implicit_cpu.h, weights in their own (c, kh, kw) order.
template <class T>
void forward(const ArrayView& xv, const ArrayView& wv, const ArrayView& yv, const Conv2dParams& p) {
    const Geometry g = geometry(xv, wv, yv, p);
    if (!use_implicit(g.Og >= kImplicitMinRows && g.CKK >= kImplicitMinTaps))
        return forward_im2col<T>(xv, wv, yv, p);
    const conv_implicit::Problem pr{g.N, g.C, g.H, g.W, g.O, g.OH, g.OW, g.G, g.KH, g.KW,
                                    g.sh, g.sw, g.ph, g.pw, g.dh, g.dw};
    const T* w = wv.ptr<T>();
    auto packed = conv_implicit::pack_weights<T>(pr, [&](int64_t grp, int64_t o, int64_t k) {
        return w[(grp * g.Og + o) * g.CKK + k];
    });
    conv_implicit::run<T>(pr, xv.ptr<T>(), packed.get(), yv.ptr<T>());
}

// With stride 1 the input gradient is itself a conv2d: of gy, padded by dil * (K - 1) - pad, with the
// kernel flipped and its in / out channels swapped (per group). Run as the implicit GEMM, it needs no
// col2im. Returns false where that padding would be negative (pad > dil * (K - 1)).
template <class T>
bool backward_input_as_conv(const ArrayView& gyv, const ArrayView& wv, const ArrayView& gxv, const Conv2dParams& p) {
    const Geometry g = geometry(gxv, wv, gyv, p);
    const int64_t pt = g.dh * (g.KH - 1) - g.ph, pl = g.dw * (g.KW - 1) - g.pw;
    if (g.sh != 1 || g.sw != 1 || pt < 0 || pl < 0 ||
        !use_implicit(g.Cg >= kImplicitMinRows && g.Og * g.KH * g.KW >= kImplicitMinTaps))
        return false;
    const conv_implicit::Problem pr{g.N, g.O, g.OH, g.OW, g.C, g.H, g.W, g.G, g.KH, g.KW, 1, 1, pt, pl, g.dh, g.dw};
    const T* w = wv.ptr<T>();
    const int64_t KK = g.KH * g.KW;
    // Row c of group grp, tap k = (o, kh, kw): w[grp * Og + o, c, KH - 1 - kh, KW - 1 - kw].
    auto packed = conv_implicit::pack_weights<T>(pr, [&](int64_t grp, int64_t c, int64_t k) {
        const int64_t o = k / KK, kk = k % KK;
        return w[((grp * g.Og + o) * g.Cg + c) * KK + (KK - 1 - kk)];
    });
    conv_implicit::run<T>(pr, gyv.ptr<T>(), packed.get(), gxv.ptr<T>());
    return true;
}

// With a stride s > 1 (dilation 1), the input gradient splits into s_h * s_w stride phases: the rows
// h = i * s + r only receive taps kh = kh0, kh0 + s, ... (kh0 = (r + pad) mod s), from gy rows i + e0, i + e0 - 1,
// ...: per phase a stride-1 conv of gy with that sub-kernel, flipped, written to every s-th row and
// column of gx (the sub-pixel decomposition). Each runs as the implicit GEMM; no col2im.
template <class T>
bool backward_input_by_phases(const ArrayView& gyv, const ArrayView& wv, const ArrayView& gxv,
                              const Conv2dParams& p) {
    const Geometry g = geometry(gxv, wv, gyv, p);
    if (g.dh != 1 || g.dw != 1 || (g.sh == 1 && g.sw == 1) ||
        !use_implicit(g.Cg >= kImplicitMinRows && g.Og * g.KH * g.KW >= kImplicitMinTaps))
        return false;
    const T* w = wv.ptr<T>();
    T* gx = gxv.ptr<T>();
    const int64_t KK = g.KH * g.KW;
    // Taps of phase r along one dim: kernel index k0, k0 + s, ... below K (none when k0 >= K).
    auto first_tap = [](int64_t r, int64_t pad, int64_t s) { return (r + pad) % s; };
    auto taps = [](int64_t k0, int64_t K, int64_t s) { return k0 < K ? (K - k0 + s - 1) / s : int64_t(0); };
    // A phase that no tap reaches has a zero gradient: zero all of gx first (kernel smaller than the stride).
    bool empty = false;
    for (int64_t rh = 0; rh < std::min(g.sh, g.H); ++rh) empty |= taps(first_tap(rh, g.ph, g.sh), g.KH, g.sh) == 0;
    for (int64_t rw = 0; rw < std::min(g.sw, g.W); ++rw) empty |= taps(first_tap(rw, g.pw, g.sw), g.KW, g.sw) == 0;
    if (empty) std::fill(gx, gx + g.N * g.C * g.H * g.W, T(0));
    // All phases run in one parallel region (conv_implicit::run_many): per sample, phase after phase while
    // its gy is in cache. One region per phase (4 at stride 2) cost a fork / join and a serial tail each.
    std::vector<std::unique_ptr<T[]>> weights;
    std::vector<conv_implicit::Plan<T>> plans;
    for (int64_t rh = 0; rh < std::min(g.sh, g.H); ++rh)
        for (int64_t rw = 0; rw < std::min(g.sw, g.W); ++rw) {
            const int64_t kh0 = first_tap(rh, g.ph, g.sh), kw0 = first_tap(rw, g.pw, g.sw);
            const int64_t nh = taps(kh0, g.KH, g.sh), nw = taps(kw0, g.KW, g.sw);
            if (nh == 0 || nw == 0) continue;  // zeroed above
            const int64_t e0h = (rh + g.ph - kh0) / g.sh, e0w = (rw + g.pw - kw0) / g.sw;
            conv_implicit::Problem pr{g.N, g.O, g.OH, g.OW, g.C, (g.H - rh + g.sh - 1) / g.sh,
                                      (g.W - rw + g.sw - 1) / g.sw, g.G, nh, nw, 1, 1, nh - 1 - e0h, nw - 1 - e0w,
                                      1, 1};
            pr.oH = g.H, pr.oW = g.W, pr.osh = g.sh, pr.osw = g.sw, pr.oh0 = rh, pr.ow0 = rw;
            // Row c of group grp, tap (o, th, tw): w[grp * Og + o, c, kh0 + (nh - 1 - th) * sh, kw0 + ...].
            auto packed = conv_implicit::pack_weights<T>(pr, [&](int64_t grp, int64_t c, int64_t k) {
                const int64_t o = k / (nh * nw), th = k / nw % nh, tw = k % nw;
                const int64_t kh = kh0 + (nh - 1 - th) * g.sh, kw = kw0 + (nw - 1 - tw) * g.sw;
                return w[((grp * g.Og + o) * g.Cg + c) * KK + kh * g.KW + kw];
            });
            plans.emplace_back(pr, gyv.ptr<T>(), packed.get(), gx);
            weights.push_back(std::move(packed));
        }
    conv_implicit::run_many<T>(plans);
    return true;
}

template <class T>
void backward_input(const ArrayView& gyv, const ArrayView& wv, const ArrayView& gxv, const Conv2dParams& p) {
    if (backward_input_as_conv<T>(gyv, wv, gxv, p) || backward_input_by_phases<T>(gyv, wv, gxv, p)) return;
    const Geometry g = geometry(gxv, wv, gyv, p);
    const T* gy = gyv.ptr<T>();
    const T* w = wv.ptr<T>();
    T* gx = gxv.ptr<T>();
    auto sample = [&](int64_t n, T* col, bool threaded, NoState&) {
        for (int64_t grp = 0; grp < g.G; ++grp) {
            T* gxg = gx + (n * g.C + grp * g.Cg) * g.H * g.W;
            // W_g^T (CKK x Og) through strides: the GEMM packs it anyway.
            gemm_strided<T>(g.CKK, g.L, g.Og, w + grp * g.Og * g.CKK, 1, g.CKK, gy + (n * g.O + grp * g.Og) * g.L,
                            g.L, 1, g.direct ? gxg : col, threaded);
            if (g.direct) continue;
            std::fill(gxg, gxg + g.Cg * g.H * g.W, T(0));
            col2im(col, gxg, g);
        }
    };
    over_batch<T>(g, sample, [](int64_t) { return NoState{}; }, [](NoState&) {});
}

// The weight gradient: the channels-last GEMM of conv_wgrad_cpu.h.
template <class T>
void backward_weight(const ArrayView& xv, const ArrayView& gyv, const ArrayView& gwv, const Conv2dParams& p) {
    const Geometry g = geometry(xv, gwv, gyv, p);
    if (!use_implicit(g.Cg * g.KH * g.KW >= kWgradMinTaps)) return backward_weight_im2col<T>(xv, gyv, gwv, p);
    const conv_wgrad::Problem pr{g.N, g.C, g.H, g.W, g.O, g.OH, g.OW, g.G, g.KH, g.KW,
                                 g.sh, g.sw, g.ph, g.pw, g.dh, g.dw};
    conv_wgrad::run<T>(pr, xv.ptr<T>(), gyv.ptr<T>(), gwv.ptr<T>());
}

}  // namespace

void conv2d_forward(const ArrayView& x, const ArrayView& w, const ArrayView& y, const Conv2dParams& p) {
    check_conv2d("conv2d_forward", x, w, y, p);
    dispatch_float(x.dtype, "conv2d_forward", [&](auto* tag) { forward<std::remove_pointer_t<decltype(tag)>>(x, w, y, p); });
}

void conv2d_backward_input(const ArrayView& gy, const ArrayView& w, const ArrayView& gx, const Conv2dParams& p) {
    check_conv2d("conv2d_backward_input", gx, w, gy, p);
    dispatch_float(gx.dtype, "conv2d_backward_input",
                   [&](auto* tag) { backward_input<std::remove_pointer_t<decltype(tag)>>(gy, w, gx, p); });
}

void conv2d_backward_weight(const ArrayView& x, const ArrayView& gy, const ArrayView& gw, const Conv2dParams& p) {
    check_conv2d("conv2d_backward_weight", x, gw, gy, p);
    dispatch_float(x.dtype, "conv2d_backward_weight",
                   [&](auto* tag) { backward_weight<std::remove_pointer_t<decltype(tag)>>(x, gy, gw, p); });
}

}  // namespace gc::cpu
