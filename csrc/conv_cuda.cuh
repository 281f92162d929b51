// The CUDA conv kernels' device side, kept free of runtime calls so tests/native/conv_cuda_sim.cpp can run
// the very same code on the host: geometry, the three implicit-GEMM problems (variant 1) for
// implicit_gemm_cuda.cuh, the split-K plan and sum, and the direct kernels (variant 0). conv_cuda.cu launches them.
#pragma once
#include <algorithm>
#include <cstdint>
#include "conv.h"
#include "fast_divmod.h"
#include "implicit_gemm_cuda.cuh"

namespace gc::cuda::conv {

using igemm::Walk;

// The sizes of one convolution, with x / gx (N, C, H, W), w / gw (O, C/groups, KH, KW), y / gy (N, O, OH, OW).
struct Geom {
    int64_t N, C, H, W, O, KH, KW, OH, OW, groups, Cg, Og;
    int64_t sh, sw, ph, pw, dh, dw;
};

inline Geom make_geom(const ArrayView& x, const ArrayView& w, const ArrayView& y, const Conv2dParams& p) {
    Geom g;
    g.N = x.shape[0], g.C = x.shape[1], g.H = x.shape[2], g.W = x.shape[3];
    g.O = w.shape[0], g.KH = w.shape[2], g.KW = w.shape[3];
    g.OH = y.shape[2], g.OW = y.shape[3];
    g.groups = p.groups, g.Cg = g.C / p.groups, g.Og = g.O / p.groups;
    g.sh = p.stride_h, g.sw = p.stride_w, g.ph = p.pad_h, g.pw = p.pad_w, g.dh = p.dil_h, g.dw = p.dil_w;
    return g;
}

// Whether the tiled kernels' int32 arithmetic holds: every per-group GEMM extent, every per-sample offset
// into x and y, the weight's size, and every intermediate row/column coordinate (oh * sh - ph + kh * dh and
// the like stay within [-(pad + dil * (k - 1)), in + pad]).
inline bool fits_int32(const Geom& g) {
    constexpr int64_t L = igemm::kMaxExtent;
    auto ok = [](int64_t v) { return v >= 0 && v < L; };
    return ok(g.N * g.OH * g.OW) && ok(g.N * g.H * g.W) && ok(g.C * g.H * g.W) && ok(g.O * g.OH * g.OW) &&
           ok(g.O * g.Cg * g.KH * g.KW) && ok(g.Og * g.KH * g.KW) && ok(g.groups) && ok(g.C) && ok(g.O) &&
           ok(g.H + 2 * g.ph + g.dh * (g.KH - 1) + g.sh) && ok(g.W + 2 * g.pw + g.dw * (g.KW - 1) + g.sw) &&
           ok(g.OH * g.sh) && ok(g.OW * g.sw);
}

// The int32 sizes the tiled problems carry to the device.
struct Dims {
    int N, C, H, W, O, KH, KW, OH, OW, Cg, Og;
    int sh, sw, ph, pw, dh, dw;
    int HW, OHW, KHW;
};

inline Dims make_dims(const Geom& g) {
    Dims d;
    d.N = int(g.N), d.C = int(g.C), d.H = int(g.H), d.W = int(g.W), d.O = int(g.O), d.KH = int(g.KH);
    d.KW = int(g.KW), d.OH = int(g.OH), d.OW = int(g.OW), d.Cg = int(g.Cg), d.Og = int(g.Og);
    d.sh = int(g.sh), d.sw = int(g.sw), d.ph = int(g.ph), d.pw = int(g.pw), d.dh = int(g.dh), d.dw = int(g.dw);
    d.HW = int(g.H * g.W), d.OHW = int(g.OH * g.OW), d.KHW = int(g.KH * g.KW);
    return d;
}

__device__ __forceinline__ bool inside(int i, int n) { return unsigned(i) < unsigned(n); }

// ---------------------------------------------------------------- variant 1: implicit GEMM problems

// Forward: A[m, k] = x[n, g*Cg + c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw], B[k, o] = w[g*Og + o][k].
template <class T_>
struct FwdProblem {
    using T = T_;
    static constexpr Walk kWalkA = Walk::Rows, kWalkB = Walk::Ks;
    int M, N, K;
    const T* __restrict__ x;
    const T* __restrict__ w;
    T* __restrict__ y;
    Dims d;
    FastDivmod by_ohw, by_ow, by_khw, by_kw;

    struct RowA {
        const T* base;  // x at (n, g*Cg)
        int ih0, iw0;
    };
    struct KA {
        int c_off, kh, kw;  // c * H * W, kh * dh, kw * dw
    };
    struct ColB {
        const T* row;  // w's row for output channel g*Og + o: K contiguous values
    };
    using KB = int;

    __device__ RowA a_row(int g, int m) const {
        int n, ohw, oh, ow;
        by_ohw.divmod(m, n, ohw);
        by_ow.divmod(ohw, oh, ow);
        return {x + (int64_t(n) * d.C + int64_t(g) * d.Cg) * d.HW, oh * d.sh - d.ph, ow * d.sw - d.pw};
    }
    __device__ KA a_k(int k) const {
        int c, r, kh, kw;
        by_khw.divmod(k, c, r);
        by_kw.divmod(r, kh, kw);
        return {c * d.HW, kh * d.dh, kw * d.dw};
    }
    __device__ T a_at(const RowA& ra, const KA& ka) const {
        const int ih = ra.ih0 + ka.kh, iw = ra.iw0 + ka.kw;
        return inside(ih, d.H) && inside(iw, d.W) ? __ldg(ra.base + ka.c_off + ih * d.W + iw) : T(0);
    }
    __device__ ColB b_col(int g, int o) const { return {w + int64_t(g * d.Og + o) * K}; }
    __device__ KB b_k(int k) const { return k; }
    __device__ T b_at(const ColB& cb, KB k) const { return __ldg(cb.row + k); }
    __device__ void store(int g, int, int m, int o, T v) const {
        int n, ohw;
        by_ohw.divmod(m, n, ohw);
        y[(int64_t(n) * d.O + g * d.Og + o) * d.OHW + ohw] = v;
    }
};

// Backward input (gather form): A[m = (n, ih, iw), k = (o, kh, kw)] = gy[n, g*Og + o, oh, ow] where
// oh * sh = ih + ph - kh * dh exactly (else 0), B[k, c] = w[g*Og + o, c, kh, kw].
template <class T_>
struct BwdInputProblem {
    using T = T_;
    static constexpr Walk kWalkA = Walk::Rows, kWalkB = Walk::Ks;
    int M, N, K;
    const T* __restrict__ gy;
    const T* __restrict__ w;
    T* __restrict__ gx;
    Dims d;
    FastDivmod by_hw, by_w, by_khw, by_kw, by_sh, by_sw;

    struct RowA {
        const T* base;  // gy at (n, g*Og)
        int ihp, iwp;   // ih + ph, iw + pw
    };
    struct KA {
        int o_off, kh, kw;  // o * OH * OW, kh * dh, kw * dw
    };
    struct ColB {
        const T* base;  // w at (g*Og, c)
    };
    using KB = int;  // offset of (o, kh, kw) from base: o * Cg * KH * KW + kh * KW + kw

    __device__ RowA a_row(int g, int m) const {
        int n, hw, ih, iw;
        by_hw.divmod(m, n, hw);
        by_w.divmod(hw, ih, iw);
        return {gy + (int64_t(n) * d.O + int64_t(g) * d.Og) * d.OHW, ih + d.ph, iw + d.pw};
    }
    __device__ KA a_k(int k) const {
        int o, r, kh, kw;
        by_khw.divmod(k, o, r);
        by_kw.divmod(r, kh, kw);
        return {o * d.OHW, kh * d.dh, kw * d.dw};
    }
    __device__ T a_at(const RowA& ra, const KA& ka) const {
        const int th = ra.ihp - ka.kh, tw = ra.iwp - ka.kw;
        if (th < 0 || tw < 0) return T(0);
        int oh, rh, ow, rw;
        by_sh.divmod(th, oh, rh);
        by_sw.divmod(tw, ow, rw);
        if (rh != 0 || rw != 0 || oh >= d.OH || ow >= d.OW) return T(0);
        return __ldg(ra.base + ka.o_off + oh * d.OW + ow);
    }
    __device__ ColB b_col(int g, int c) const {
        return {w + int64_t(g) * d.Og * d.Cg * d.KHW + int64_t(c) * d.KHW};
    }
    __device__ KB b_k(int k) const {
        int o, r;
        by_khw.divmod(k, o, r);
        return o * d.Cg * d.KHW + r;
    }
    __device__ T b_at(const ColB& cb, KB off) const { return __ldg(cb.base + off); }
    __device__ void store(int g, int, int m, int c, T v) const {
        int n, hw;
        by_hw.divmod(m, n, hw);
        gx[(int64_t(n) * d.C + g * d.Cg + c) * d.HW + hw] = v;
    }
};

// Backward input of a strided conv, one stride phase at a time: the gx pixels with ih = ih0 + a * sh,
// iw = iw0 + b * sw (0 <= ih0 < sh, 0 <= iw0 < sw) are reached only by the taps kh = kh0 + t * step_h
// (kh * dh = ih0 + ph mod sh) and likewise kw, from output row oh = base_h + a - t * dstep_h. So each phase
// is a dense GEMM over just its taps: with stride 2 the generic gather form above would multiply by three
// zeros for every useful product.
struct PhaseAxis {
    int i0, count;       // the phase's first input index and how many it has (i0 + count * stride covers the rest)
    int k0, k_count;     // its first tap and how many taps reach it
    int k_step, o_step;  // the tap step, and the output-index step per tap step (k_step * dil / stride)
    int base;            // the output index of (i0, k0): (i0 + pad - k0 * dil) / stride, exact
};

inline int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        const int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

// The phase starting at input index i0 along one axis (in, k, stride, pad, dil).
inline PhaseAxis phase_axis(int64_t i0, int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    PhaseAxis a;
    a.i0 = int(i0);
    a.count = i0 < in ? int((in - i0 + s - 1) / s) : 0;
    const int64_t r = (i0 + p) % s, g = gcd64(d, s);
    a.k_step = int(s / g), a.o_step = int(d / g);  // kh * d = r (mod s) repeats every s / g taps
    a.k0 = 0, a.k_count = 0, a.base = 0;
    for (int64_t kk = 0; kk < std::min<int64_t>(k, a.k_step); ++kk)
        if (kk * d % s == r) {
            a.k0 = int(kk);
            a.k_count = int((k - kk + a.k_step - 1) / a.k_step);
            a.base = int((i0 + p - kk * d) / s);
            break;
        }
    return a;
}

template <class T_>
struct BwdInputPhaseProblem {
    using T = T_;
    static constexpr Walk kWalkA = Walk::Rows, kWalkB = Walk::Ks;
    int M, N, K;
    const T* __restrict__ gy;
    const T* __restrict__ w;
    T* __restrict__ gx;
    Dims d;
    PhaseAxis ph, pw;
    FastDivmod by_ab, by_b, by_tu, by_u;

    struct RowA {
        const T* base;  // gy at (n, g*Og)
        int oh, ow;     // the output pixel that tap (t, u) = (0, 0) reads
    };
    struct KA {
        int o_off, dh, dw;  // o * OH * OW, t * o_step_h, u * o_step_w
    };
    struct ColB {
        const T* base;  // w at (g*Og, c)
    };
    using KB = int;  // o * Cg * KH * KW + kh * KW + kw

    __device__ RowA a_row(int g, int m) const {
        int n, ab, a, b;
        by_ab.divmod(m, n, ab);
        by_b.divmod(ab, a, b);
        return {gy + (int64_t(n) * d.O + int64_t(g) * d.Og) * d.OHW, ph.base + a, pw.base + b};
    }
    __device__ KA a_k(int k) const {
        int o, tu, t, u;
        by_tu.divmod(k, o, tu);
        by_u.divmod(tu, t, u);
        return {o * d.OHW, t * ph.o_step, u * pw.o_step};
    }
    __device__ T a_at(const RowA& ra, const KA& ka) const {
        const int oh = ra.oh - ka.dh, ow = ra.ow - ka.dw;
        return inside(oh, d.OH) && inside(ow, d.OW) ? __ldg(ra.base + ka.o_off + oh * d.OW + ow) : T(0);
    }
    __device__ ColB b_col(int g, int c) const {
        return {w + int64_t(g) * d.Og * d.Cg * d.KHW + int64_t(c) * d.KHW};
    }
    __device__ KB b_k(int k) const {
        int o, tu, t, u;
        by_tu.divmod(k, o, tu);
        by_u.divmod(tu, t, u);
        return o * d.Cg * d.KHW + (ph.k0 + t * ph.k_step) * d.KW + pw.k0 + u * pw.k_step;
    }
    __device__ T b_at(const ColB& cb, KB off) const { return __ldg(cb.base + off); }
    __device__ void store(int g, int, int m, int c, T v) const {
        int n, ab, a, b;
        by_ab.divmod(m, n, ab);
        by_b.divmod(ab, a, b);
        gx[(int64_t(n) * d.C + g * d.Cg + c) * d.HW + (ph.i0 + a * d.sh) * d.W + pw.i0 + b * d.sw] = v;
    }
};

// Backward weight: A[o, k = (n, oh, ow)] = gy[n, g*Og + o, oh, ow],
// B[k, j = (c, kh, kw)] = x[n, g*Cg + c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw].
// Split s writes out + s * split_stride (the partial buffer), or gw itself when there is one split.
template <class T_>
struct BwdWeightProblem {
    using T = T_;
    static constexpr Walk kWalkA = Walk::Ks, kWalkB = Walk::Ks;
    int M, N, K;
    const T* __restrict__ x;
    const T* __restrict__ gy;
    T* __restrict__ out;
    int64_t split_stride;
    Dims d;
    FastDivmod by_ohw, by_ow, by_khw, by_kw;

    struct RowA {
        const T* base;  // gy at (0, g*Og + o)
    };
    using KA = int64_t;  // n * O * OH * OW + oh * OW + ow
    struct ColB {
        int c_off, hoff, woff;  // (g*Cg + c) * H * W, kh * dh - ph, kw * dw - pw
    };
    struct KB {
        int64_t n_off;  // n * C * H * W
        int ih0, iw0;   // oh * sh, ow * sw
    };

    __device__ RowA a_row(int g, int o) const { return {gy + int64_t(g * d.Og + o) * d.OHW}; }
    __device__ KA a_k(int k) const {
        int n, ohw;
        by_ohw.divmod(k, n, ohw);
        return int64_t(n) * d.O * d.OHW + ohw;
    }
    __device__ T a_at(const RowA& ra, KA off) const { return __ldg(ra.base + off); }
    __device__ ColB b_col(int g, int j) const {
        int c, r, kh, kw;
        by_khw.divmod(j, c, r);
        by_kw.divmod(r, kh, kw);
        return {(g * d.Cg + c) * d.HW, kh * d.dh - d.ph, kw * d.dw - d.pw};
    }
    __device__ KB b_k(int k) const {
        int n, ohw, oh, ow;
        by_ohw.divmod(k, n, ohw);
        by_ow.divmod(ohw, oh, ow);
        return {int64_t(n) * d.C * d.HW, oh * d.sh, ow * d.sw};
    }
    __device__ T b_at(const ColB& cb, const KB& kb) const {
        const int ih = kb.ih0 + cb.hoff, iw = kb.iw0 + cb.woff;
        return inside(ih, d.H) && inside(iw, d.W) ? __ldg(x + kb.n_off + cb.c_off + ih * d.W + iw) : T(0);
    }
    __device__ void store(int g, int split, int o, int j, T v) const {
        out[split * split_stride + int64_t(g * d.Og + o) * N + j] = v;
    }
};

// out[i] = sum over s of partial[s * n + i], in split order (deterministic, unlike float atomics).
template <class T>
__global__ void sum_splits(const T* __restrict__ partial, T* __restrict__ out, int64_t n, int splits) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        T acc = T(0);
        for (int s = 0; s < splits; ++s) acc += partial[s * n + i];
        out[i] = acc;
    }
}

// ---------------------------------------------------------------- variant 1: plans

template <class T>
FwdProblem<T> forward_problem(const Geom& g, const T* x, const T* w, T* y) {
    FwdProblem<T> p;
    p.d = make_dims(g);
    p.M = int(g.N * g.OH * g.OW), p.N = int(g.Og), p.K = int(g.Cg * g.KH * g.KW);
    p.x = x, p.w = w, p.y = y;
    p.by_ohw = FastDivmod(g.OH * g.OW), p.by_ow = FastDivmod(g.OW);
    p.by_khw = FastDivmod(g.KH * g.KW), p.by_kw = FastDivmod(g.KW);
    return p;
}

template <class T>
BwdInputProblem<T> backward_input_problem(const Geom& g, const T* gy, const T* w, T* gx) {
    BwdInputProblem<T> p;
    p.d = make_dims(g);
    p.M = int(g.N * g.H * g.W), p.N = int(g.Cg), p.K = int(g.Og * g.KH * g.KW);
    p.gy = gy, p.w = w, p.gx = gx;
    p.by_hw = FastDivmod(g.H * g.W), p.by_w = FastDivmod(g.W);
    p.by_khw = FastDivmod(g.KH * g.KW), p.by_kw = FastDivmod(g.KW);
    p.by_sh = FastDivmod(g.sh), p.by_sw = FastDivmod(g.sw);
    return p;
}

// The phase (ih0, iw0) of a strided backward input; M == 0 when the phase holds no pixel.
template <class T>
BwdInputPhaseProblem<T> backward_input_phase_problem(const Geom& g, int64_t ih0, int64_t iw0, const T* gy,
                                                     const T* w, T* gx) {
    BwdInputPhaseProblem<T> p;
    p.d = make_dims(g);
    p.ph = phase_axis(ih0, g.H, g.KH, g.sh, g.ph, g.dh);
    p.pw = phase_axis(iw0, g.W, g.KW, g.sw, g.pw, g.dw);
    p.M = int(g.N * p.ph.count * p.pw.count), p.N = int(g.Cg), p.K = int(g.Og * p.ph.k_count * p.pw.k_count);
    p.gy = gy, p.w = w, p.gx = gx;
    p.by_ab = FastDivmod(int64_t(p.ph.count) * p.pw.count), p.by_b = FastDivmod(p.pw.count);
    p.by_tu = FastDivmod(int64_t(p.ph.k_count) * p.pw.k_count), p.by_u = FastDivmod(p.pw.k_count);
    return p;
}

// Strided backward input runs phase by phase when there are few phases (one launch each).
inline int64_t backward_input_phases(const Geom& g) {
    const int64_t n = std::min(g.sh, g.H) * std::min(g.sw, g.W);
    return (g.sh > 1 || g.sw > 1) && n <= 64 ? n : 0;
}

// The output pointer and split stride are set once the split plan is known.
template <class T>
BwdWeightProblem<T> backward_weight_problem(const Geom& g, const T* x, const T* gy) {
    BwdWeightProblem<T> p;
    p.d = make_dims(g);
    p.M = int(g.Og), p.N = int(g.Cg * g.KH * g.KW), p.K = int(g.N * g.OH * g.OW);
    p.x = x, p.gy = gy, p.out = nullptr, p.split_stride = 0;
    p.by_ohw = FastDivmod(g.OH * g.OW), p.by_ow = FastDivmod(g.OW);
    p.by_khw = FastDivmod(g.KH * g.KW), p.by_kw = FastDivmod(g.KW);
    return p;
}

struct SplitPlan {
    int splits, k_chunk;  // split s sums k in [s * k_chunk, min(K, (s + 1) * k_chunk)); every split non-empty
};

// The tile shape that wastes least on a narrow M or N (a conv with 32 output channels has N = 32):
// 0: 128 x 32, 1: 32 x 128, 2: 64 x 64.
inline int pick_tile(int64_t M, int64_t N) {
    if (N <= 32 && M > 32) return 0;
    if (M <= 32 && N > 32) return 1;
    return 2;
}

// Splits K (backward-weight's batch x output pixels, often 10^4-10^6 long against a few hundred outputs)
// until about four waves of blocks run on `sms` multiprocessors, each split at least 256 long, at most 256.
inline SplitPlan plan_splits(int64_t M, int64_t N, int64_t K, int64_t groups, int sms) {
    const int tile = pick_tile(M, N);
    const int64_t bm = tile == 0 ? 128 : tile == 1 ? 32 : 64, bn = 4096 / bm;  // every tile has 4096 outputs
    const int64_t tiles = std::max<int64_t>(1, ((M + bm - 1) / bm) * ((N + bn - 1) / bn) * groups);
    const int64_t want = std::max<int64_t>(1, (4 * int64_t(sms) + tiles - 1) / tiles);
    const int64_t most = std::max<int64_t>(1, K / 256);
    int64_t splits = std::min<int64_t>({want, most, 256});
    int64_t k_chunk = (K + splits - 1) / splits;
    k_chunk = std::max<int64_t>(igemm::BK, (k_chunk + igemm::BK - 1) / igemm::BK * igemm::BK);
    splits = std::max<int64_t>(1, (K + k_chunk - 1) / k_chunk);
    return {int(splits), int(k_chunk)};
}

// ---------------------------------------------------------------- variant 0: direct, one thread per output

template <class T>
__global__ void forward_direct(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y, Geom g) {
    const int64_t total = g.N * g.O * g.OH * g.OW;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ow = i % g.OW, oh = i / g.OW % g.OH, o = i / (g.OW * g.OH) % g.O, n = i / (g.OW * g.OH * g.O);
        const int64_t c0 = o / g.Og * g.Cg;
        T acc = T(0);
        for (int64_t c = 0; c < g.Cg; ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh) {
                const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
                if (ih < 0 || ih >= g.H) continue;
                for (int64_t kw = 0; kw < g.KW; ++kw) {
                    const int64_t iw = ow * g.sw - g.pw + kw * g.dw;
                    if (iw < 0 || iw >= g.W) continue;
                    acc += x[((n * g.C + c0 + c) * g.H + ih) * g.W + iw] * w[((o * g.Cg + c) * g.KH + kh) * g.KW + kw];
                }
            }
        y[i] = acc;
    }
}

template <class T>
__global__ void backward_input_direct(const T* __restrict__ gy, const T* __restrict__ w, T* __restrict__ gx, Geom g) {
    const int64_t total = g.N * g.C * g.H * g.W;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t iw = i % g.W, ih = i / g.W % g.H, ci = i / (g.W * g.H) % g.C, n = i / (g.W * g.H * g.C);
        const int64_t grp = ci / g.Cg, c = ci % g.Cg;
        T acc = T(0);
        for (int64_t o = grp * g.Og; o < (grp + 1) * g.Og; ++o)
            for (int64_t kh = 0; kh < g.KH; ++kh) {
                const int64_t th = ih + g.ph - kh * g.dh;  // = oh * sh for the output row this tap reads
                if (th < 0 || th % g.sh != 0 || th / g.sh >= g.OH) continue;
                for (int64_t kw = 0; kw < g.KW; ++kw) {
                    const int64_t tw = iw + g.pw - kw * g.dw;
                    if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.OW) continue;
                    acc += gy[((n * g.O + o) * g.OH + th / g.sh) * g.OW + tw / g.sw] *
                           w[((o * g.Cg + c) * g.KH + kh) * g.KW + kw];
                }
            }
        gx[i] = acc;
    }
}

template <class T>
__global__ void backward_weight_direct(const T* __restrict__ x, const T* __restrict__ gy, T* __restrict__ gw, Geom g) {
    const int64_t total = g.O * g.Cg * g.KH * g.KW;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t kw = i % g.KW, kh = i / g.KW % g.KH, c = i / (g.KW * g.KH) % g.Cg, o = i / (g.KW * g.KH * g.Cg);
        const int64_t ci = o / g.Og * g.Cg + c;
        T acc = T(0);
        for (int64_t n = 0; n < g.N; ++n)
            for (int64_t oh = 0; oh < g.OH; ++oh) {
                const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
                if (ih < 0 || ih >= g.H) continue;
                for (int64_t ow = 0; ow < g.OW; ++ow) {
                    const int64_t iw = ow * g.sw - g.pw + kw * g.dw;
                    if (iw < 0 || iw >= g.W) continue;
                    acc += gy[((n * g.O + o) * g.OH + oh) * g.OW + ow] * x[((n * g.C + ci) * g.H + ih) * g.W + iw];
                }
            }
        gw[i] = acc;
    }
}

}  // namespace gc::cuda::conv
