// CPU conv2d weight gradient as a GEMM over pixels, packed from channels-last copies of each sample.
//
// gW[o, (kh, kw, c)] = sum over the valid output pixels (oh, ow) of gy[o, oh, ow] * xpad[c, oh*sh + kh*dh,
// ow*sw + kw*dw]. The GEMM's 12-row strips run over the output channels o (gy transposed once per sample
// into pixel-major strips), its 32-wide panels over the taps t = (kh, kw, c), and K over the pixels. In a
// zero-padded, stride-phase-split, channels-last copy of the sample (xq[pixel][c]), the taps of one
// (kh, kw) are contiguous channels, so a panel's row for one pixel is one or a few contiguous copies:
// no im2col matrix, and no transposing pack of one (the im2col path packed col^T element by element).
// The tile adds into the thread's partial gW in (o, kh, kw, c) order; the end permutes it to (o, c, kh, kw).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>
#include "conv_implicit_cpu.h"
#include "parallel.h"

namespace gc::cpu::conv_wgrad {

using conv_implicit::Tile;

// acc (R x NR) = Ap (K x MR strip) @ B (K x NR panel); C (R x cols, leading dim ldc) += acc. The panel's
// row k is Bp + k * NR when packed, or Bp + off[k] when read in place from the channels-last copy.
template <class T, int R, bool InPlace>
void micro_add(int64_t K, const T* __restrict Ap, const T* __restrict Bp, const int64_t* __restrict off,
               T* __restrict C, int64_t ldc, int64_t cols) {
    using V = typename Tile<T>::Vec;
    constexpr int MR = Tile<T>::MR, NV = Tile<T>::NV, W = Tile<T>::W, NR = Tile<T>::NR;
    V acc[R][NV];
    for (int i = 0; i < R; ++i)
        for (int j = 0; j < NV; ++j) acc[i][j] = V{};
    for (int64_t k = 0; k < K; ++k) {
        V b[NV];
        const T* row = InPlace ? Bp + off[k] : Bp + k * NR;
        for (int j = 0; j < NV; ++j) b[j] = conv_implicit::vload(row + j * W);
        for (int i = 0; i < R; ++i) {
            const T a = Ap[k * MR + i];
            for (int j = 0; j < NV; ++j) acc[i][j] += a * b[j];
        }
    }
    if (cols == NR) {
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < NV; ++j) {
                T* c = C + i * ldc + j * W;
                const V sum = conv_implicit::vload(c) + acc[i][j];
                std::memcpy(c, &sum, sizeof(V));
            }
        return;
    }
    alignas(64) T tile[NR];
    for (int i = 0; i < R; ++i) {
        std::memcpy(tile, &acc[i][0], sizeof(tile));
        for (int64_t j = 0; j < cols; ++j) C[i * ldc + j] += tile[j];
    }
}

template <class T, bool InPlace, int R = Tile<T>::MR>
void micro_add_rows(int rows, int64_t K, const T* Ap, const T* Bp, const int64_t* off, T* C, int64_t ldc,
                    int64_t cols) {
    if (rows == R) return micro_add<T, R, InPlace>(K, Ap, Bp, off, C, ldc, cols);
    if constexpr (R > 1) micro_add_rows<T, InPlace, R - 1>(rows, K, Ap, Bp, off, C, ldc, cols);
}

// x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, C / G, KH, KW), overwritten.
struct Problem {
    int64_t N, C, H, W, O, OH, OW, G, KH, KW, sh, sw, ph, pw, dh, dw;
};

template <class T>
void run(const Problem& p, const T* x, const T* gy, T* gw) {
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    constexpr int64_t KC = 256;  // pixels per packed panel: 32 KiB of fp32
    const int64_t Cg = p.C / p.G, Og = p.O / p.G, KK = p.KH * p.KW, taps = KK * Cg, S = (Og + MR - 1) / MR;
    const int64_t L = p.OH * p.OW, panels = (taps + NR - 1) / NR;
    // The padded, phase-split plane of conv_implicit_cpu.h, channels last: pixel (i, j) of phase
    // (rh, rw) at ((rh * sw + rw) * Hr + i) * Wr + j, each pixel C values.
    const int64_t wneed = std::max(p.pw + p.W, (p.OW - 1) * p.sw + (p.KW - 1) * p.dw + 1);
    const int64_t hneed = std::max(p.ph + p.H, (p.OH - 1) * p.sh + (p.KH - 1) * p.dh + 1);
    const int64_t Hr = (hneed + p.sh - 1) / p.sh, Wr = (wneed + p.sw - 1) / p.sw, phase = Hr * Wr;
    const int64_t pixels = p.sh * p.sw * phase;
    std::vector<int64_t> tap_pix(KK);  // pixel offset of tap (kh, kw) from the output pixel's grid position
    for (int64_t kh = 0; kh < p.KH; ++kh)
        for (int64_t kw = 0; kw < p.KW; ++kw) {
            const int64_t rh = kh * p.dh, rw = kw * p.dw;
            tap_pix[kh * p.KW + kw] = ((rh % p.sh) * p.sw + rw % p.sw) * phase + (rh / p.sh) * Wr + rw / p.sw;
        }
    // Each panel's runs of contiguous channels: columns [j0, j0 + len) are channels [c0, c0 + len) of tap kk.
    struct Run {
        int64_t j0, len, kk, c0;
    };
    std::vector<std::vector<Run>> runs(panels);
    for (int64_t b = 0; b < panels; ++b)
        for (int64_t t = b * NR; t < std::min(taps, (b + 1) * NR);) {
            const int64_t kk = t / Cg, c = t % Cg, len = std::min(Cg - c, (b + 1) * NR - t);
            runs[b].push_back({t - b * NR, len, kk, c});
            t += len;
        }
    const int64_t wsize = p.G * Og * taps;  // partial gW, (G, Og, KK, Cg)
    const int64_t in_plane = p.H * p.W;
    std::vector<int64_t> q(L), qc(L);  // valid output pixel -> grid position oh * Wr + ow (and * C)
    for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) q[oh * p.OW + ow] = oh * Wr + ow;
    for (int64_t l = 0; l < L; ++l) qc[l] = q[l] * p.C;

    // xq: sample n padded, phase-split, channels last (only its data positions are written). Pixel by
    // pixel: C contiguous writes, the reads strided by a plane (vectorised as gathers). Channel by channel
    // (C-strided scattered writes) cost 1.1-1.7x more (weight grad, 1 thread: convT 7->14 0.37 -> 0.21 ms,
    // 14->28 1.15-1.27 -> 0.77-0.87, 3x3 b64 6.4-6.6 -> 5.9-6.1).
    auto fill_xq = [&](int64_t n, T* xq) {
        const T* xn = x + n * p.C * in_plane;
        for (int64_t h = 0; h < p.H; ++h) {
            const int64_t hp = p.ph + h, rbase = (hp % p.sh) * p.sw * phase + (hp / p.sh) * Wr;
            for (int64_t w = 0; w < p.W; ++w) {
                const int64_t wp = p.pw + w;
                T* __restrict dst = xq + (rbase + (wp % p.sw) * phase + wp / p.sw) * p.C;
                const T* __restrict src = xn + h * p.W + w;
                for (int64_t c = 0; c < p.C; ++c) dst[c] = src[c * in_plane];
            }
        }
    };
    // Ap: gy's channels of group grp as pixel-major 12-row strips, zero rows past Og. Pixel by pixel too:
    // 12 contiguous writes from 12 rows.
    auto fill_ap = [&](int64_t n, int64_t grp, T* Ap) {
        for (int64_t s = 0; s < S; ++s) {
            T* __restrict strip = Ap + s * L * MR;
            const int64_t rows = std::min<int64_t>(MR, Og - s * MR);
            const T* __restrict src = gy + (n * p.O + grp * Og + s * MR) * L;
            if (rows == MR) {
                for (int64_t l = 0; l < L; ++l)
                    for (int64_t i = 0; i < MR; ++i) strip[l * MR + i] = src[i * L + l];
                continue;
            }
            for (int64_t l = 0; l < L; ++l)
                for (int64_t i = 0; i < MR; ++i) strip[l * MR + i] = i < rows ? src[i * L + l] : T(0);
        }
    };
    // Panels [b0, b1) of group grp: sum's columns of those panels += this sample's products (Bp: scratch).
    auto panels_of = [&](const T* xq, const T* Ap, int64_t grp, int64_t b0, int64_t b1, T* sum, T* Bp) {
        const T* xg = xq + grp * Cg;
        T* sg = sum + grp * Og * taps;
        for (int64_t l0 = 0; l0 < L; l0 += KC) {
            const int64_t kc = std::min(KC, L - l0);
            for (int64_t b = b0; b < b1; ++b) {
                const int64_t cols = std::min<int64_t>(NR, taps - b * NR);
                if (runs[b].size() == 1 && runs[b][0].len == NR) {
                    // One tap's 32 channels: the panel's rows are read in place (no packing copy).
                    const T* B = xg + tap_pix[runs[b][0].kk] * p.C + runs[b][0].c0;
                    for (int64_t s = 0; s < S; ++s) {
                        const int rows = static_cast<int>(std::min<int64_t>(MR, Og - s * MR));
                        micro_add_rows<T, true>(rows, kc, Ap + (s * L + l0) * MR, B, qc.data() + l0,
                                                sg + (s * MR) * taps + b * NR, taps, NR);
                    }
                    continue;
                }
                for (int64_t l = 0; l < kc; ++l) {
                    T* dst = Bp + l * NR;
                    const int64_t base = q[l0 + l];
                    for (const Run& r : runs[b]) {
                        const T* src = xg + (base + tap_pix[r.kk]) * p.C + r.c0;
                        for (int64_t j = 0; j < r.len; ++j) dst[r.j0 + j] = src[j];
                    }
                    for (int64_t j = cols; j < NR; ++j) dst[j] = T(0);
                }
                for (int64_t s = 0; s < S; ++s) {
                    const int rows = static_cast<int>(std::min<int64_t>(MR, Og - s * MR));
                    micro_add_rows<T, false>(rows, kc, Ap + (s * L + l0) * MR, Bp, nullptr,
                                             sg + (s * MR) * taps + b * NR, taps, cols);
                }
            }
        }
    };
    auto zeroed = [](int64_t n) {
        std::unique_ptr<T[]> a(new T[std::max<int64_t>(n, 1)]());
        return a;
    };
    std::mutex mutex;
    std::vector<std::pair<int64_t, std::unique_ptr<T[]>>> done;
    const int nt = num_threads();
    const double flops = 2.0 * L * p.O * taps;  // per sample
    // Samples per work item: ~4 MFLOP each, claimed dynamically (a thread that starts late still takes
    // its share); each item keeps its own partial gW, added below in item order.
    const int64_t per_item = std::max<int64_t>(1, static_cast<int64_t>(4e6 / std::max(flops, 1.0)));
    const int64_t items = (p.N + per_item - 1) / per_item;
    if (nt > 1 && p.N >= nt && items >= nt) {
        parallel_for(
            items, 1,
            [&](int64_t i0, int64_t i1) {
                auto sum = zeroed(wsize);
                auto xq = zeroed(pixels * p.C);  // padding: zero once
                std::unique_ptr<T[]> Ap(new T[std::max<int64_t>(S * L * MR, 1)]);
                std::unique_ptr<T[]> Bp(new T[KC * NR]);
                for (int64_t n = i0 * per_item; n < std::min(p.N, i1 * per_item); ++n) {
                    fill_xq(n, xq.get());
                    for (int64_t grp = 0; grp < p.G; ++grp) {
                        fill_ap(n, grp, Ap.get());
                        panels_of(xq.get(), Ap.get(), grp, 0, panels, sum.get(), Bp.get());
                    }
                }
                std::lock_guard<std::mutex> lock(mutex);
                done.emplace_back(i0, std::move(sum));
            },
            4);
    } else {
        // Few samples: each sample's (group, panel) pairs split over threads; they write disjoint columns
        // of one gW, each column summed over the samples in order (the same result on any thread count).
        auto sum = zeroed(wsize);
        auto xq = zeroed(pixels * p.C);
        std::unique_ptr<T[]> Ap(new T[std::max<int64_t>(p.G * S * L * MR, 1)]);
        const int64_t work = p.G * panels;
        const int64_t min_work = std::max<int64_t>(1, static_cast<int64_t>(2e6 / std::max(flops / work, 1.0)));
        for (int64_t n = 0; n < p.N; ++n) {
            fill_xq(n, xq.get());
            for (int64_t grp = 0; grp < p.G; ++grp) fill_ap(n, grp, Ap.get() + grp * S * L * MR);
            parallel_for(
                work, min_work,
                [&](int64_t w0, int64_t w1) {
                    std::unique_ptr<T[]> Bp(new T[KC * NR]);
                    for (int64_t w = w0; w < w1;) {  // runs of panels within one group
                        const int64_t grp = w / panels, b0 = w % panels, b1 = std::min(panels, b0 + (w1 - w));
                        panels_of(xq.get(), Ap.get() + grp * S * L * MR, grp, b0, b1, sum.get(), Bp.get());
                        w += b1 - b0;
                    }
                },
                4);
        }
        done.emplace_back(0, std::move(sum));
    }
    // A fixed order (by first sample), not the threads' finishing order: the result is reproducible.
    std::sort(done.begin(), done.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<T> total(std::max<int64_t>(wsize, 1), T(0));
    for (const auto& d : done)
        for (int64_t i = 0; i < wsize; ++i) total[i] += d.second[i];
    for (int64_t og = 0; og < p.O; ++og)  // (G, Og) = O rows; (kk, c) -> (c, kk)
        for (int64_t kk = 0; kk < KK; ++kk)
            for (int64_t c = 0; c < Cg; ++c) gw[(og * Cg + c) * KK + kk] = total[(og * KK + kk) * Cg + c];
}

}  // namespace gc::cpu::conv_wgrad
