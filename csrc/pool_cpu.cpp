// CPU 2-d pooling (max with argmax, average, average's gather-form backward): planes (n, c) split across
// threads, each plane's windows walked in torch's order so ties and NaNs pick torch's argmax.
#include <cmath>
#include <type_traits>
#include <vector>
#include "parallel.h"
#include "pool.h"

namespace gc::cpu {
namespace {

// Calls body(plane) for every (n, c) plane, a few planes per thread at least.
template <class F>
void for_planes(const ArrayView& x, const ArrayView& y, F&& body) {
    const int64_t planes = x.shape[0] * x.shape[1];
    const int64_t work = std::max<int64_t>(1, x.shape[2] * x.shape[3] + y.shape[2] * y.shape[3]);
    parallel_for(planes, std::max<int64_t>(1, 32768 / work), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) body(i);
    });
}

// The first index in [0, n) of start + j * step (j >= 0); start's window stays inside [start, end).
inline int64_t first_inside(int64_t start, int64_t step) {
    return start >= 0 ? start : start + ((-start + step - 1) / step) * step;
}

// One output of max pooling by the generic window walk, in torch's order: rows then columns, the first
// maximum wins, a NaN takes over (the last NaN), and the start is the first element inside the plane even
// when every value is -inf.
template <class T>
inline void max_window(const T* xp, int64_t h, int64_t w, int64_t i, int64_t j, const Pool2dParams& p, T* y,
                       int64_t* idx) {
    const int64_t hs = first_inside(i * p.sh - p.ph, p.dh);
    const int64_t he = std::min(i * p.sh - p.ph + (p.kh - 1) * p.dh + 1, h);
    const int64_t ws = first_inside(j * p.sw - p.pw, p.dw);
    const int64_t we = std::min(j * p.sw - p.pw + (p.kw - 1) * p.dw + 1, w);
    int64_t best = std::min(hs, h - 1) * w + std::min(ws, w - 1);
    T m = -INFINITY;
    for (int64_t a = hs; a < he; a += p.dh) {
        for (int64_t b = ws; b < we; b += p.dw) {
            // torch's test (the last NaN wins), as selects: random data defeats a branch
            const T v = xp[a * w + b];
            const bool take = v > m || v != v;
            m = take ? v : m;
            best = take ? a * w + b : best;
        }
    }
    *y = m;
    *idx = best;
}

// Output row i's columns [0, n) when padding is 0, dilation 1 and every window lies inside the plane: the
// same comparisons as max_window in the same order, with the output row itself as the running max and
// argmax, so each loop over j is a plain vectorisable pass (strided loads, compares, selects).
// KH / KW > 0 fix the window at compile time (2x2: one pass, the max kept in registers).
template <int KH, int KW, class T>
inline void max_row_inside(const T* xp, int64_t w, int64_t i, int64_t n, const Pool2dParams& p, T* y,
                           int64_t* idx) {
    const int64_t sh = p.sh, sw = p.sw;
    const int64_t kh = KH > 0 ? KH : p.kh, kw = KW > 0 ? KW : p.kw;
    const int64_t r0 = i * sh;
    if constexpr (KH == 2 && KW == 2) {
        const T* x0 = xp + r0 * w;
        const T* x1 = x0 + w;
        for (int64_t j = 0; j < n; ++j) {
            const int64_t c = j * sw;
            T m = x0[c];
            int64_t best = r0 * w + c;
            bool take = x0[c + 1] > m || x0[c + 1] != x0[c + 1];
            m = take ? x0[c + 1] : m;
            best = take ? r0 * w + c + 1 : best;
            take = x1[c] > m || x1[c] != x1[c];
            m = take ? x1[c] : m;
            best = take ? (r0 + 1) * w + c : best;
            take = x1[c + 1] > m || x1[c + 1] != x1[c + 1];
            m = take ? x1[c + 1] : m;
            best = take ? (r0 + 1) * w + c + 1 : best;
            y[j] = m;
            idx[j] = best;
        }
    } else {
        // Start as max_window does: -inf, and the window's first element as the index.
        for (int64_t j = 0; j < n; ++j) {
            y[j] = -INFINITY;
            idx[j] = r0 * w + j * sw;
        }
        for (int64_t a = 0; a < kh; ++a) {
            const T* xr = xp + (r0 + a) * w;
            const int64_t base = (r0 + a) * w;
            for (int64_t b = 0; b < kw; ++b) {
                for (int64_t j = 0; j < n; ++j) {
                    const T v = xr[j * sw + b];
                    const bool take = v > y[j] || v != v;
                    y[j] = take ? v : y[j];
                    idx[j] = take ? base + j * sw + b : idx[j];
                }
            }
        }
    }
}

}  // namespace

void max_pool2d_fwd(const ArrayView& x, const ArrayView& y, const ArrayView& idx, const Pool2dParams& p) {
    check_pool2d("max_pool2d", x, y, p, &idx);
    const int64_t h = x.shape[2], w = x.shape[3], oh = y.shape[2], ow = y.shape[3];
    // Without padding or dilation, rows [0, oh_in) and columns [0, ow_in) have whole windows inside the
    // plane (all of them unless ceil_mode added a partial last one): those take the vectorised rows.
    const bool plain = p.ph == 0 && p.pw == 0 && p.dh == 1 && p.dw == 1;
    const int64_t oh_in = plain && h >= p.kh ? std::min(oh, (h - p.kh) / p.sh + 1) : 0;
    const int64_t ow_in = plain && w >= p.kw ? std::min(ow, (w - p.kw) / p.sw + 1) : 0;
    const bool k22 = p.kh == 2 && p.kw == 2;
    dispatch_float(x.dtype, "max_pool2d", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        for_planes(x, y, [&](int64_t plane) {
            const T* xp = x.ptr<T>() + plane * h * w;
            T* yp = y.ptr<T>() + plane * oh * ow;
            int64_t* ip = idx.ptr<int64_t>() + plane * oh * ow;
            for (int64_t i = 0; i < oh; ++i) {
                int64_t j = 0;
                if (i < oh_in && ow_in > 0) {
                    if (k22)
                        max_row_inside<2, 2>(xp, w, i, ow_in, p, yp + i * ow, ip + i * ow);
                    else
                        max_row_inside<0, 0>(xp, w, i, ow_in, p, yp + i * ow, ip + i * ow);
                    j = ow_in;
                }
                for (; j < ow; ++j) max_window(xp, h, w, i, j, p, yp + i * ow + j, ip + i * ow + j);
            }
        });
    });
}

void max_pool2d_bwd(const ArrayView& gy, const ArrayView& idx, const ArrayView& gx, const Pool2dParams& p) {
    check_pool2d("max_pool2d backward", gx, gy, p, &idx);
    const int64_t hw = gx.shape[2] * gx.shape[3], ohw = gy.shape[2] * gy.shape[3];
    dispatch_float(gy.dtype, "max_pool2d", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        for_planes(gx, gy, [&](int64_t plane) {
            const T* gp = gy.ptr<T>() + plane * ohw;
            const int64_t* ip = idx.ptr<int64_t>() + plane * ohw;
            T* xp = gx.ptr<T>() + plane * hw;
            std::fill(xp, xp + hw, T(0));
            for (int64_t o = 0; o < ohw; ++o)
                if (ip[o] >= 0 && ip[o] < hw) xp[ip[o]] += gp[o];  // indices come from max_pool2d_fwd
        });
    });
}

void avg_pool2d_fwd(const ArrayView& x, const ArrayView& y, const Pool2dParams& p) {
    check_pool2d("avg_pool2d", x, y, p);
    const int64_t h = x.shape[2], w = x.shape[3], oh = y.shape[2], ow = y.shape[3];
    dispatch_float(x.dtype, "avg_pool2d", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        for_planes(x, y, [&](int64_t plane) {
            const T* xp = x.ptr<T>() + plane * h * w;
            T* yp = y.ptr<T>() + plane * oh * ow;
            for (int64_t i = 0; i < oh; ++i) {
                const int64_t hs = i * p.sh - p.ph;
                const int64_t h0 = std::max<int64_t>(hs, 0), h1 = std::min(hs + p.kh, h);
                for (int64_t j = 0; j < ow; ++j) {
                    const int64_t ws = j * p.sw - p.pw;
                    const int64_t w0 = std::max<int64_t>(ws, 0), w1 = std::min(ws + p.kw, w);
                    T s = 0;
                    for (int64_t a = h0; a < h1; ++a)
                        for (int64_t b = w0; b < w1; ++b) s += xp[a * w + b];
                    yp[i * ow + j] = s / T(avg_pool_divisor(hs, ws, h, w, p));
                }
            }
        });
    });
}

void avg_pool2d_bwd(const ArrayView& gy, const ArrayView& gx, const Pool2dParams& p) {
    check_pool2d("avg_pool2d backward", gx, gy, p);
    const int64_t h = gx.shape[2], w = gx.shape[3], oh = gy.shape[2], ow = gy.shape[3];
    // Window ranges per input row / column (windows i with i*s - pad <= a < i*s - pad + k) and each
    // output's reciprocal divisor: computed once per call, not per element of every plane.
    std::vector<int64_t> i0(h), i1(h), j0(w), j1(w);
    for (int64_t a = 0; a < h; ++a) {  // a negative numerator truncates toward 0; the max(0) fixes it
        i0[a] = std::max<int64_t>(0, (a + p.ph - p.kh + p.sh) / p.sh);
        i1[a] = std::min(oh, (a + p.ph) / p.sh + 1);
    }
    for (int64_t b = 0; b < w; ++b) {
        j0[b] = std::max<int64_t>(0, (b + p.pw - p.kw + p.sw) / p.sw);
        j1[b] = std::min(ow, (b + p.pw) / p.sw + 1);
    }
    dispatch_float(gy.dtype, "avg_pool2d", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        std::vector<T> inv(oh * ow);
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j)
                inv[i * ow + j] = T(1) / T(avg_pool_divisor(i * p.sh - p.ph, j * p.sw - p.pw, h, w, p));
        for_planes(gx, gy, [&](int64_t plane) {
            const T* gp = gy.ptr<T>() + plane * oh * ow;
            T* xp = gx.ptr<T>() + plane * h * w;
            for (int64_t a = 0; a < h; ++a) {
                for (int64_t b = 0; b < w; ++b) {
                    T s = 0;
                    for (int64_t i = i0[a]; i < i1[a]; ++i)
                        for (int64_t j = j0[b]; j < j1[b]; ++j) s += gp[i * ow + j] * inv[i * ow + j];
                    xp[a * w + b] = s;
                }
            }
        });
    });
}

}  // namespace gc::cpu
