// Runs the CUDA conv kernels (csrc/conv_cuda.cuh, csrc/implicit_gemm_cuda.cuh) on the host, unchanged,
// in the simulation of tests/native/cuda_host_sim.h (threads as coroutines, __syncthreads a barrier). Checks the implicit-GEMM and direct variants against a plain loop
// reference over many geometries, every tile shape, split-K plans, and the grid's y and z chunking.
// Built and run by tests/test_conv_cuda_sim.py: the kernels' index maps are checked without a GPU.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>
#include "cuda_host_sim.h"

#define GC_IGEMM_CHECK_ALIGNMENT
#include "conv_cuda.cuh"

namespace sim {
// Runs kernel body f over grid x block threads (tests/native/cuda_host_sim.h); one launch site per lambda.
template <class F>
inline void launch(dim3 grid, unsigned threads, F&& f) {
    gcsim::launch_kernel(gcsim::LaunchCfg(grid, dim3(threads)), f);
}
}  // namespace sim

using namespace gc;
using namespace gc::cuda;

// Mirrors conv_cuda.cu's launch_implicit_gemm, with the grid's y cap and z chunk as parameters so the
// kernel's column-tile loop and z0 offset are exercised at small sizes.
template <class TileT, class P>
void run_gemm(const P& p, int64_t groups, int splits, int k_chunk, int64_t cap_y, int64_t chunk_z) {
    const int64_t row_tiles = (int64_t(p.M) + TileT::BM - 1) / TileT::BM;
    const int64_t col_tiles = (int64_t(p.N) + TileT::BN - 1) / TileT::BN;
    const int64_t blocks_z = groups * splits;
    for (int64_t z0 = 0; z0 < blocks_z; z0 += chunk_z) {
        dim3 grid(unsigned(row_tiles), unsigned(std::min(col_tiles, cap_y)),
                     unsigned(std::min(chunk_z, blocks_z - z0)));
        sim::launch(grid, igemm::kBlockThreads, [&] { igemm::implicit_gemm<P, TileT>(p, splits, k_chunk, z0); });
    }
}

template <class P>
void run_gemm_tile(int tile, const P& p, int64_t groups, int splits, int k_chunk, int64_t cap_y, int64_t chunk_z) {
    if (tile == 0) run_gemm<igemm::Tile<128, 32>>(p, groups, splits, k_chunk, cap_y, chunk_z);
    else if (tile == 1) run_gemm<igemm::Tile<32, 128>>(p, groups, splits, k_chunk, cap_y, chunk_z);
    else run_gemm<igemm::Tile<64, 64>>(p, groups, splits, k_chunk, cap_y, chunk_z);
}

struct Case {
    int64_t N, C, H, W, O, KH, KW, sh, sw, ph, pw, dh, dw, groups;
    int64_t trim_h = 0, trim_w = 0;  // y smaller than conv2d's size: a conv_transpose2d with output_padding
};

// Plain loops in double: the reference.
void reference(const Case& c, const conv::Geom& g, const std::vector<double>& x, const std::vector<double>& w,
               const std::vector<double>& gy, std::vector<double>& y, std::vector<double>& gx,
               std::vector<double>& gw) {
    y.assign(g.N * g.O * g.OH * g.OW, 0.0);
    gx.assign(g.N * g.C * g.H * g.W, 0.0);
    gw.assign(g.O * g.Cg * g.KH * g.KW, 0.0);
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t o = 0; o < g.O; ++o)
            for (int64_t oh = 0; oh < g.OH; ++oh)
                for (int64_t ow = 0; ow < g.OW; ++ow)
                    for (int64_t cc = 0; cc < g.Cg; ++cc)
                        for (int64_t kh = 0; kh < g.KH; ++kh)
                            for (int64_t kw = 0; kw < g.KW; ++kw) {
                                int64_t ih = oh * c.sh - c.ph + kh * c.dh, iw = ow * c.sw - c.pw + kw * c.dw;
                                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                                int64_t ci = o / g.Og * g.Cg + cc;
                                int64_t xi = ((n * g.C + ci) * g.H + ih) * g.W + iw;
                                int64_t wi = ((o * g.Cg + cc) * g.KH + kh) * g.KW + kw;
                                int64_t yi = ((n * g.O + o) * g.OH + oh) * g.OW + ow;
                                y[yi] += x[xi] * w[wi];
                                gx[xi] += gy[yi] * w[wi];
                                gw[wi] += gy[yi] * x[xi];
                            }
}

long failures = 0;

template <class T>
void compare(const char* what, const std::string& tag, const std::vector<T>& got, const std::vector<double>& ref,
             double scale) {
    const double tol = (std::is_same<T, float>::value ? 1e-5 : 1e-12) * scale;
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        double e = std::fabs(double(got[i]) - ref[i]) / (1.0 + std::fabs(ref[i]));
        if (!(e <= worst)) worst = e, at = i;  // NaN counts as worst
    }
    if (!(worst <= tol)) {
        failures++;
        std::printf("FAIL %s %s: index %zu got %.9g want %.9g (rel err %.3g > %.3g)\n", what, tag.c_str(), at,
                    double(got[at]), ref[at], worst, tol);
    }
}

template <class T>
void check_case(const Case& c, std::mt19937_64& rng, bool quick) {
    conv::Geom g;
    g.N = c.N, g.C = c.C, g.H = c.H, g.W = c.W, g.O = c.O, g.KH = c.KH, g.KW = c.KW;
    g.OH = conv_out_size(c.H, c.KH, c.sh, c.ph, c.dh) - c.trim_h;
    g.OW = conv_out_size(c.W, c.KW, c.sw, c.pw, c.dw) - c.trim_w;
    g.groups = c.groups, g.Cg = c.C / c.groups, g.Og = c.O / c.groups;
    g.sh = c.sh, g.sw = c.sw, g.ph = c.ph, g.pw = c.pw, g.dh = c.dh, g.dw = c.dw;
    if (g.OH <= 0 || g.OW <= 0 || !conv::fits_int32(g)) {
        std::printf("FAIL bad case\n");
        failures++;
        return;
    }
    std::normal_distribution<double> nd;
    auto randv = [&](int64_t n) {
        std::vector<double> v(n);
        for (auto& e : v) e = double(T(nd(rng)));  // representable in T, so T and double see the same inputs
        return v;
    };
    auto xd = randv(g.N * g.C * g.H * g.W), wd = randv(g.O * g.Cg * g.KH * g.KW), gyd = randv(g.N * g.O * g.OH * g.OW);
    std::vector<double> yr, gxr, gwr;
    reference(c, g, xd, wd, gyd, yr, gxr, gwr);
    std::vector<T> x(xd.begin(), xd.end()), w(wd.begin(), wd.end()), gy(gyd.begin(), gyd.end());
    const double scale =
        std::sqrt(double(std::max<int64_t>({g.Cg * g.KH * g.KW, g.Og * g.KH * g.KW, g.N * g.OH * g.OW})));
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s N%ld C%ld %ldx%ld O%ld k%ldx%ld s%ld,%ld p%ld,%ld d%ld,%ld g%ld",
                  sizeof(T) == 4 ? "f32" : "f64", long(c.N), long(c.C), long(c.H), long(c.W), long(c.O), long(c.KH),
                  long(c.KW), long(c.sh), long(c.sw), long(c.ph), long(c.pw), long(c.dh), long(c.dw), long(c.groups));
    const std::string tag = buf;
    const T poison = T(NAN);

    // variant 0
    {
        std::vector<T> y(yr.size(), poison), gx(gxr.size(), poison), gw(gwr.size(), poison);
        sim::launch({3, 1, 1}, 64, [&] { conv::forward_direct<T>(x.data(), w.data(), y.data(), g); });
        sim::launch({2, 1, 1}, 64, [&] { conv::backward_input_direct<T>(gy.data(), w.data(), gx.data(), g); });
        sim::launch({2, 1, 1}, 32, [&] { conv::backward_weight_direct<T>(x.data(), gy.data(), gw.data(), g); });
        compare("forward_direct", tag, y, yr, scale);
        compare("backward_input_direct", tag, gx, gxr, scale);
        compare("backward_weight_direct", tag, gw, gwr, scale);
    }
    // variant 1: the tile conv_cuda.cu picks, then (unless quick) every tile with a tight grid
    for (int tile = -1; tile < (quick ? 0 : 3); ++tile) {
        const int64_t cap_y = tile < 0 ? 65535 : 1, chunk_z = tile < 0 ? 65535 : 2;
        std::vector<T> y(yr.size(), poison), gx(gxr.size(), poison), gw(gwr.size(), poison);
        auto fp = conv::forward_problem<T>(g, x.data(), w.data(), y.data());
        const int ft = tile < 0 ? conv::pick_tile(fp.M, fp.N) : tile;
        run_gemm_tile(ft, fp, g.groups, 1, std::max(fp.K, 1), cap_y, chunk_z);
        auto bp = conv::backward_input_problem<T>(g, gy.data(), w.data(), gx.data());
        const int bt = tile < 0 ? conv::pick_tile(bp.M, bp.N) : tile;
        run_gemm_tile(bt, bp, g.groups, 1, std::max(bp.K, 1), cap_y, chunk_z);
        // backward weight under two machine sizes: few SMs (usually one split) and many (split K)
        for (int sms : {1, 132}) {
            std::fill(gw.begin(), gw.end(), poison);
            auto wp = conv::backward_weight_problem<T>(g, x.data(), gy.data());
            const conv::SplitPlan plan = conv::plan_splits(wp.M, wp.N, wp.K, g.groups, sms);
            if (plan.splits < 1 || int64_t(plan.splits - 1) * plan.k_chunk >= std::max(wp.K, 1) ||
                int64_t(plan.splits) * plan.k_chunk < wp.K || plan.k_chunk % igemm::BK != 0) {
                std::printf("FAIL split plan %d x %d for K %d %s\n", plan.splits, plan.k_chunk, wp.K, tag.c_str());
                failures++;
            }
            const int wt = tile < 0 ? conv::pick_tile(wp.M, wp.N) : tile;
            if (plan.splits == 1) {
                wp.out = gw.data();
                run_gemm_tile(wt, wp, g.groups, 1, plan.k_chunk, cap_y, chunk_z);
            } else {
                const int64_t n_out = int64_t(gw.size());
                std::vector<T> partial(size_t(n_out * plan.splits), poison);
                wp.out = partial.data(), wp.split_stride = n_out;
                run_gemm_tile(wt, wp, g.groups, plan.splits, plan.k_chunk, cap_y, chunk_z);
                sim::launch({2, 1, 1}, 32, [&] { conv::sum_splits<T>(partial.data(), gw.data(), n_out, plan.splits); });
            }
            compare(sms == 1 ? "backward_weight_tiled" : "backward_weight_tiled_split", tag + " tile " +
                    std::to_string(wt), gw, gwr, scale);
        }
        compare("forward_tiled", tag + " tile " + std::to_string(tile), y, yr, scale);
        compare("backward_input_tiled", tag + " tile " + std::to_string(tile), gx, gxr, scale);
        // strided: the per-phase GEMMs conv_cuda.cu runs instead (and here also for up to 4x the phases it
        // would take, so a large stride's phases are checked too)
        const int64_t phases = std::min(g.sh, g.H) * std::min(g.sw, g.W);
        if ((g.sh > 1 || g.sw > 1) && phases <= 256) {
            std::fill(gx.begin(), gx.end(), poison);
            for (int64_t ih0 = 0; ih0 < std::min(g.sh, g.H); ++ih0)
                for (int64_t iw0 = 0; iw0 < std::min(g.sw, g.W); ++iw0) {
                    auto pp = conv::backward_input_phase_problem<T>(g, ih0, iw0, gy.data(), w.data(), gx.data());
                    if (pp.M == 0) continue;
                    const int pt = tile < 0 ? conv::pick_tile(pp.M, pp.N) : tile;
                    run_gemm_tile(pt, pp, g.groups, 1, std::max(pp.K, 1), cap_y, chunk_z);
                }
            compare("backward_input_phases", tag + " tile " + std::to_string(tile), gx, gxr, scale);
        }
    }
}

int main(int argc, char** argv) {
    const int n_random = argc > 1 ? std::atoi(argv[1]) : 40;
    std::mt19937_64 rng(12345);
    std::vector<Case> cases = {
        // N  C   H   W   O  KH KW sh sw ph pw dh dw g
        {2, 3, 7, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {1, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},     // the VAE's first layer: K = 9, N = 32
        {2, 32, 14, 14, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1},    // strided
        {2, 8, 9, 11, 12, 3, 2, 2, 3, 1, 0, 2, 1, 4},      // groups, dilation, mixed strides
        {1, 6, 5, 5, 6, 3, 3, 1, 1, 2, 2, 1, 1, 6},        // depthwise, padding past the kernel's reach
        {3, 4, 4, 4, 70, 1, 1, 1, 1, 0, 0, 1, 1, 1},       // 1x1, N > 64: a second column tile
        {1, 2, 3, 3, 2, 3, 3, 3, 3, 0, 0, 1, 1, 1},        // one output pixel
        {2, 40, 3, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1},       // K = 160 over many k slices, N = 3
        {1, 3, 12, 12, 4, 5, 5, 4, 4, 3, 3, 2, 2, 1},      // stride > 1 with dilation: sparse gather in backward
        {2, 2, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},        // 1x1 input, padding only
        {1, 4, 10, 3, 8, 3, 1, 1, 2, 0, 1, 3, 1, 2},
        {2, 16, 7, 7, 8, 4, 4, 2, 2, 1, 1, 1, 1, 1},       // a VAE decoder step as conv_transpose2d sees it
        {1, 2, 9, 8, 3, 3, 3, 3, 2, 1, 0, 2, 3, 1},        // stride and dilation sharing factors: taps skip
        {1, 1, 5, 5, 1, 2, 2, 7, 7, 0, 0, 1, 1, 1},        // stride beyond the input: phases no tap reaches
        {1, 2, 9, 6, 3, 2, 2, 1, 1, 0, 0, 3, 2, 1, 2, 1},  // input rows no window reaches (output_padding)
        {2, 3, 8, 8, 2, 3, 3, 2, 3, 1, 1, 3, 2, 1, 1, 1},
    };
    std::uniform_int_distribution<int> u(0, 1 << 30);
    for (int i = 0; i < n_random; ++i) {
        Case c;
        c.groups = 1 + u(rng) % 3;
        c.C = c.groups * (1 + u(rng) % 5);
        c.O = c.groups * (1 + u(rng) % 6);
        c.N = 1 + u(rng) % 3;
        c.KH = 1 + u(rng) % 4, c.KW = 1 + u(rng) % 4;
        c.sh = 1 + u(rng) % 3, c.sw = 1 + u(rng) % 3;
        c.dh = 1 + u(rng) % 3, c.dw = 1 + u(rng) % 3;
        c.ph = u(rng) % 3, c.pw = u(rng) % 3;
        c.H = std::max<int64_t>(1, c.dh * (c.KH - 1) + 1 - 2 * c.ph) + u(rng) % 6;
        c.W = std::max<int64_t>(1, c.dw * (c.KW - 1) + 1 - 2 * c.pw) + u(rng) % 6;
        cases.push_back(c);
    }
    for (size_t i = 0; i < cases.size(); ++i) {
        const bool quick = i >= 16 && i % 4 != 0;  // every tile for the fixed cases and a quarter of the rest
        gcsim::shared_racecheck = i < 4 && !std::getenv("GCSIM_NO_RACECHECK");  // every kernel and tile: enough
        check_case<float>(cases[i], rng, quick);
        check_case<double>(cases[i], rng, quick);
    }
    // FastDivmod against the hardware division over the divisors the kernels meet and a wide random spread.
    std::uniform_int_distribution<int64_t> big(1, (int64_t(1) << 31) - 1);
    for (int i = 0; i < 20000; ++i) {
        int64_t d = i < 5000 ? i + 1 : big(rng);
        FastDivmod f(d);
        for (int j = 0; j < 20; ++j) {
            int32_t n = j < 4 ? int32_t(std::min<int64_t>(d * j + (j & 1), INT32_MAX)) : int32_t(big(rng) - 1);
            int32_t q, r;
            f.divmod(n, q, r);
            if (q != n / d || r != n % d) {
                if (failures++ < 20) std::printf("FAIL FastDivmod %d / %ld = %d\n", n, long(d), q);
            }
        }
    }
    for (const auto& e : gcsim::errors) std::printf("FAIL %s\n", e.c_str());
    failures += long(gcsim::errors.size());
    std::printf("%zu __shared__ variables watched\n", gcsim::shared_regions().size());
    std::printf("%zu cases, %ld failures\n", cases.size(), failures);
    return failures ? 1 : 0;
}
