// CPU conv2d as an implicit GEMM over a zero-padded copy of each input sample, with its own register tile.
//
// y_g (Og x pixels) = W_g (Og x CKK) @ col (CKK x pixels), where no col is built: in a zero-padded copy
// xp of the sample, split into stride phases, the tap k = (c, kh, kw) of output pixel q on a widened grid
// (OH rows of Wr >= OW columns, the last Wr - OW of each row computed and thrown away) sits at
// xp[off[k] + q]. So a 32-pixel panel of col is read in place, one contiguous run per tap, from L2,
// instead of im2col writing and the GEMM re-reading a col matrix of CKK x OH*OW (900 KB per sample at 32
// channels of 28x28, out of L2).
// The weights are packed once per call in 12-row strips; every micro-kernel call runs the whole of K, and
// the 12 x 32 tile goes through a small buffer into y's rows (the widened grid's runs of valid columns).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>
#include "parallel.h"

namespace gc::cpu::conv_implicit {

template <class T>
struct Tile {
    static constexpr int kVecBytes = 64;              // one AVX-512 register (two AVX2 ones)
    static constexpr int W = kVecBytes / sizeof(T);   // lanes per vector
    static constexpr int NV = 2;
    static constexpr int NR = W * NV;                 // pixels per panel: 32 floats, 16 doubles
    static constexpr int MR = 12;                     // output channels per strip: 24 accumulators
    typedef T Vec __attribute__((vector_size(kVecBytes)));
};

template <class T>
inline typename Tile<T>::Vec vload(const T* p) {
    typename Tile<T>::Vec v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

// tile (R x NR, row-major) = Ap (K x MR, k-major strip, R rows used) @ the panel whose row k is the NR
// values at B + off[k]: read in place from the padded copy (in L2), unaligned. Packing the panel first
// (a 128-byte copy per tap) cost 15% more (measured single-threaded, 32 channels 28x28: 6.7 vs 5.7 ms).
template <class T, int R>
void micro_direct(int64_t K, const T* __restrict Ap, const T* __restrict B, const int64_t* __restrict off,
                  T* __restrict tile) {
    using V = typename Tile<T>::Vec;
    constexpr int MR = Tile<T>::MR, NV = Tile<T>::NV, W = Tile<T>::W, NR = Tile<T>::NR;
    V acc[R][NV];
    for (int i = 0; i < R; ++i)
        for (int j = 0; j < NV; ++j) acc[i][j] = V{};
    for (int64_t k = 0; k < K; ++k) {
        V b[NV];
        const T* row = B + off[k];
        for (int j = 0; j < NV; ++j) b[j] = vload(row + j * W);
        for (int i = 0; i < R; ++i) {
            const T a = Ap[k * MR + i];
            for (int j = 0; j < NV; ++j) acc[i][j] += a * b[j];
        }
    }
    for (int i = 0; i < R; ++i)
        for (int j = 0; j < NV; ++j) std::memcpy(tile + i * NR + j * W, &acc[i][j], sizeof(V));
}

// micro_direct<T, rows> for a strip of 1..MR rows (the last strip of an Og that is not a multiple of 12).
template <class T, int R = Tile<T>::MR>
void micro_direct_rows(int rows, int64_t K, const T* Ap, const T* B, const int64_t* off, T* tile) {
    if (rows == R) return micro_direct<T, R>(K, Ap, B, off, tile);
    if constexpr (R > 1) micro_direct_rows<T, R - 1>(rows, K, Ap, B, off, tile);
}

// One conv2d: in (N, Cin, Hin, Win) -> out (N, Cout, Hout, Wout); weights already packed by pack_weights.
// pt / pl are the top / left zero padding (negative: rows / columns cropped, stride 1 only); the bottom /
// right padding is whatever the output size needs. Output pixel (i, j) lands at (i * osh + oh0,
// j * osw + ow0) of an out plane of oH x oW (one stride phase of a transposed conv's output), by default
// the plain (Hout, Wout) plane.
struct Problem {
    int64_t N, Cin, Hin, Win, Cout, Hout, Wout, G, KH, KW, sh, sw, pt, pl, dh, dw;
    int64_t oH = 0, oW = 0, osh = 1, osw = 1, oh0 = 0, ow0 = 0;  // oH == 0: the plain plane
    int64_t cin_g() const { return Cin / G; }
    int64_t cout_g() const { return Cout / G; }
    int64_t K() const { return cin_g() * KH * KW; }
    int64_t strips() const { return (cout_g() + 11) / 12; }
};

// Packs weight(grp, row, k) (row < Cout / G, k < K) into 12-row strips, zero rows past the end.
template <class T, class Weight>
std::unique_ptr<T[]> pack_weights(const Problem& p, Weight&& weight) {
    constexpr int MR = Tile<T>::MR;
    const int64_t K = p.K(), S = p.strips(), Og = p.cout_g();
    std::unique_ptr<T[]> out(new T[std::max<int64_t>(p.G * S * K * MR, 1)]);
    for (int64_t grp = 0; grp < p.G; ++grp)
        for (int64_t s = 0; s < S; ++s) {
            T* strip = out.get() + (grp * S + s) * K * MR;
            for (int64_t i = 0; i < MR; ++i) {
                const int64_t row = s * MR + i;
                for (int64_t k = 0; k < K; ++k) strip[k * MR + i] = row < Og ? weight(grp, row, k) : T(0);
            }
        }
    return out;
}

// One problem's geometry, set up once per call: how to copy a sample into its padded plane (pad) and how
// to compute a range of its 32-pixel panels from that copy (panels_of). run() / run_many() drive it.
template <class T>
struct Plan {
    static constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    Problem p;
    const T* in;
    const T* Wp;
    T* out;
    int64_t K, S, Og, Cg, Hr, Wr, phase, plane, Wq, Lq, panels, xp_len, in_plane;
    int64_t oW, out_plane, osh, osw, obase;
    double flops;  // per sample
    std::vector<int64_t> off;

    Plan(const Problem& pr, const T* in_, const T* Wp_, T* out_) : p(pr), in(in_), Wp(Wp_), out(out_) {
        K = p.K(), S = p.strips(), Og = p.cout_g(), Cg = p.cin_g();
        // The padded plane, Hpad x Wpad (multiples of the strides, tall and wide enough for every valid
        // output's window), is stored split into sh * sw phases (rows i * sh + rh, columns j * sw + rw) of
        // Hr x Wr each: then tap k of output pixel q = oh * Wr + ow of the widened grid sits at off[k] + q,
        // and a panel packs with one contiguous copy per tap whatever the stride.
        const int64_t wneed = std::max(p.pl + p.Win, (p.Wout - 1) * p.sw + (p.KW - 1) * p.dw + 1);
        const int64_t hneed = std::max(p.pt + p.Hin, (p.Hout - 1) * p.sh + (p.KH - 1) * p.dh + 1);
        Hr = (hneed + p.sh - 1) / p.sh, Wr = (wneed + p.sw - 1) / p.sw;
        phase = Hr * Wr, plane = p.sh * p.sw * phase;
        Wq = Wr, Lq = p.Hout * Wq, panels = (Lq + NR - 1) / NR;
        off.resize(K);
        int64_t max_off = 0;
        for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < p.KH; ++kh)
                for (int64_t kw = 0; kw < p.KW; ++kw) {
                    const int64_t rh = kh * p.dh, rw = kw * p.dw;
                    const int64_t o =
                        c * plane + ((rh % p.sh) * p.sw + rw % p.sw) * phase + (rh / p.sh) * Wr + rw / p.sw;
                    off[(c * p.KH + kh) * p.KW + kw] = o;
                    max_off = std::max(max_off, o);
                }
        // The last panel's garbage columns read past the last plane: zeros.
        const int64_t reach = (p.G - 1) * Cg * plane + max_off + panels * NR;
        xp_len = std::max(p.Cin * plane, reach);
        in_plane = p.Hin * p.Win;
        const bool placed = p.oH > 0;
        oW = placed ? p.oW : p.Wout, out_plane = placed ? p.oH * p.oW : p.Hout * p.Wout;
        osh = placed ? p.osh : 1, osw = placed ? p.osw : 1, obase = placed ? p.oh0 * oW + p.ow0 : 0;
        flops = 2.0 * Lq * p.Cout * K;
    }

    // Copies sample n into xp, split into phases. The padding is never written: xp is zeroed once.
    void pad(int64_t n, T* xp) const {
        const int64_t h0 = std::max<int64_t>(0, -p.pt), w0c = std::max<int64_t>(0, -p.pl);  // cropped
        for (int64_t c = 0; c < p.Cin; ++c)
            for (int64_t h = h0; h < p.Hin; ++h) {
                const int64_t hp = p.pt + h;
                T* row = xp + c * plane + (hp % p.sh) * p.sw * phase + (hp / p.sh) * Wr;
                const T* src = in + (n * p.Cin + c) * in_plane + h * p.Win;
                if (p.sw == 1) {
                    if (w0c < p.Win) std::memcpy(row + p.pl + w0c, src + w0c, (p.Win - w0c) * sizeof(T));
                    continue;
                }
                if (p.sw == 2) {
                    // Even and odd input columns in one pass (an interleaved pair of loads, vectorised as
                    // loads + permutes): column w goes to phase (pl + w) % 2 at (pl + w) / 2.
                    const int64_t a = p.pl % 2, half = p.Win / 2;
                    T* __restrict de = row + a * phase + p.pl / 2;
                    T* __restrict dn = row + (1 - a) * phase + (p.pl + 1) / 2;
                    for (int64_t j = 0; j < half; ++j) {
                        de[j] = src[2 * j];
                        dn[j] = src[2 * j + 1];
                    }
                    if (p.Win % 2) de[half] = src[p.Win - 1];
                    continue;
                }
                for (int64_t rw = 0; rw < p.sw; ++rw) {  // input columns w with (pl + w) % sw == rw
                    const int64_t w0 = ((rw - p.pl) % p.sw + p.sw) % p.sw;
                    T* dst = row + rw * phase + (p.pl + w0) / p.sw;
                    for (int64_t w = w0, j = 0; w < p.Win; w += p.sw, ++j) dst[j] = src[w];
                }
            }
    }

    // Panels [b0, b1) of sample n from its padded copy xp.
    void panels_of(int64_t n, const T* xp, int64_t b0, int64_t b1, T* tile) const {
        struct Run {
            int64_t j0, j1, dst;
        };
        Run runs[NR + 1];
        for (int64_t b = b0; b < b1; ++b) {
            const int64_t q0 = b * NR;
            // Runs of valid columns in this panel: j in [j0, j1) goes to output pixel dst + j - j0.
            int nruns = 0;
            for (int64_t j = 0; j < NR && q0 + j < Lq;) {
                const int64_t q = q0 + j, oh = q / Wq, ow = q % Wq;
                if (ow >= p.Wout) {
                    j += Wq - ow;
                    continue;
                }
                const int64_t len = std::min<int64_t>(p.Wout - ow, NR - j);
                runs[nruns++] = {j, j + len, obase + oh * osh * oW + ow * osw};
                j += len;
            }
            for (int64_t grp = 0; grp < p.G; ++grp) {
                const T* base = xp + grp * Cg * plane + q0;
                for (int64_t s = 0; s < S; ++s) {
                    const int rows = static_cast<int>(std::min<int64_t>(MR, Og - s * MR));
                    micro_direct_rows<T>(rows, K, Wp + (grp * S + s) * K * MR, base, off.data(), tile);
                    for (int i = 0; i < rows; ++i) {
                        T* yrow = out + (n * p.Cout + grp * Og + s * MR + i) * out_plane;
                        const T* t = tile + i * NR;
                        for (int r = 0; r < nruns; ++r) {
                            T* dst = yrow + runs[r].dst;
                            const int64_t j0 = runs[r].j0, len = runs[r].j1 - j0;
                            if (osw == 1)
                                for (int64_t j = 0; j < len; ++j) dst[j] = t[j0 + j];
                            else
                                for (int64_t j = 0; j < len; ++j) dst[j * osw] = t[j0 + j];
                        }
                    }
                }
            }
        }
    }
};

// Samples per work item, so that each item holds ~kItemFlops and a thread that starts late (or a
// slower core) takes a share of what is left: parallel_for claims items dynamically.
constexpr double kItemFlops = 4e6;

// Runs several problems over the same batch (the stride phases of a transposed conv, which read the same
// input and write disjoint pixels of one output) in ONE parallel region: whole samples per work item,
// each sample's problems one after the other while its input is in cache. With fewer samples than
// threads, each sample's problems are padded first and then all their panels split over threads.
template <class T>
void run_many(const std::vector<Plan<T>>& plans) {
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    if (plans.empty()) return;
    const int64_t N = plans[0].p.N;
    double flops = 0;  // per sample, all problems
    for (const Plan<T>& pl : plans) flops += pl.flops;
    const int nt = num_threads();
    if (nt > 1 && N >= nt) {  // whole samples per work item
        const int64_t per_item = std::max<int64_t>(1, static_cast<int64_t>(kItemFlops / std::max(flops, 1.0)));
        const int64_t items = (N + per_item - 1) / per_item;
        parallel_for(
            items, 1,
            [&](int64_t i0, int64_t i1) {
                std::vector<std::unique_ptr<T[]>> xp;
                for (const Plan<T>& pl : plans) xp.emplace_back(new T[pl.xp_len]());
                std::vector<T> tile(MR * NR);
                for (int64_t n = i0 * per_item; n < std::min(N, i1 * per_item); ++n)
                    for (size_t k = 0; k < plans.size(); ++k) {
                        plans[k].pad(n, xp[k].get());
                        plans[k].panels_of(n, xp[k].get(), 0, plans[k].panels, tile.data());
                    }
            },
            4);
        return;
    }
    std::vector<std::unique_ptr<T[]>> xp;
    std::vector<int64_t> first(plans.size() + 1, 0);  // problem k's panels are [first[k], first[k + 1])
    for (size_t k = 0; k < plans.size(); ++k) {
        xp.emplace_back(new T[plans[k].xp_len]());
        first[k + 1] = first[k] + plans[k].panels;
    }
    for (int64_t n = 0; n < N; ++n) {  // few samples: the panels of each split over threads
        for (size_t k = 0; k < plans.size(); ++k) plans[k].pad(n, xp[k].get());
        const int64_t total = first.back();
        const int64_t min_panels = std::max<int64_t>(1, static_cast<int64_t>(2e6 / std::max(flops / total, 1.0)));
        parallel_for(
            total, min_panels,
            [&](int64_t b0, int64_t b1) {
                std::vector<T> tile(MR * NR);
                for (size_t k = 0; k < plans.size(); ++k) {
                    const int64_t lo = std::max(b0, first[k]), hi = std::min(b1, first[k + 1]);
                    if (lo < hi) plans[k].panels_of(n, xp[k].get(), lo - first[k], hi - first[k], tile.data());
                }
            },
            4);
    }
}

template <class T>
void run(const Problem& p, const T* in, const T* Wp, T* out) {
    std::vector<Plan<T>> plans;
    plans.emplace_back(p, in, Wp, out);
    run_many<T>(plans);
}

}  // namespace gc::cpu::conv_implicit
