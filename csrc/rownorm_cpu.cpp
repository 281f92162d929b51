// CPU row-wise layer-norm and log-softmax (forward and backward): rows split across threads, each
// row a few vectorized passes that stay in cache; sums accumulate in double.
#include <cmath>
#include <type_traits>
#include "kernels.h"
#include "parallel.h"
#include "rownorm.h"

namespace gc::cpu {
namespace {

template <class F>
void for_rows(const ArrayView& x, F&& body) {
    const int64_t r = x.shape[0], d = x.shape[1];
    parallel_for(r, std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1)), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) body(i, d);
    });
}

}  // namespace

void layernorm_fwd(const ArrayView& x, const ArrayView& out, const ArrayView& rstd, double eps) {
    check_rows("layer_norm", x, {&out}, &rstd);
    dispatch_float(x.dtype, "layer_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T* px = x.ptr<T>();
        T* po = out.ptr<T>();
        T* pr = rstd.ptr<T>();
        for_rows(x, [&](int64_t i, int64_t d) {
            const T* xr = px + i * d;
            T* o = po + i * d;
            double s = 0.0;
#pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < d; ++j) s += double(xr[j]);
            const double mean = d ? s / double(d) : 0.0;
            double v = 0.0;
#pragma omp simd reduction(+ : v)
            for (int64_t j = 0; j < d; ++j) {
                const double c = double(xr[j]) - mean;
                v += c * c;
            }
            const double r = 1.0 / std::sqrt((d ? v / double(d) : 0.0) + eps);
            const T tm = T(mean), tr = T(r);
#pragma omp simd
            for (int64_t j = 0; j < d; ++j) o[j] = (xr[j] - tm) * tr;
            pr[i] = tr;
        });
    });
}

void layernorm_bwd(const ArrayView& g, const ArrayView& xhat, const ArrayView& rstd, const ArrayView& dx) {
    check_rows("layer_norm backward", g, {&xhat, &dx}, &rstd);
    dispatch_float(g.dtype, "layer_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T* pg = g.ptr<T>();
        const T* ph = xhat.ptr<T>();
        const T* pr = rstd.ptr<T>();
        T* pd = dx.ptr<T>();
        for_rows(g, [&](int64_t i, int64_t d) {
            const T* gr = pg + i * d;
            const T* hr = ph + i * d;
            T* o = pd + i * d;
            double sg = 0.0, sgh = 0.0;
#pragma omp simd reduction(+ : sg, sgh)
            for (int64_t j = 0; j < d; ++j) {
                sg += double(gr[j]);
                sgh += double(gr[j]) * double(hr[j]);
            }
            const T mg = T(sg / double(d)), mgh = T(sgh / double(d)), r = pr[i];
#pragma omp simd
            for (int64_t j = 0; j < d; ++j) o[j] = r * (gr[j] - mg - hr[j] * mgh);
        });
    });
}

void log_softmax_fwd(const ArrayView& x, const ArrayView& out) {
    check_rows("log_softmax", x, {&out});
    dispatch_float(x.dtype, "log_softmax", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T* px = x.ptr<T>();
        T* po = out.ptr<T>();
        for_rows(x, [&](int64_t i, int64_t d) {
            const T* xr = px + i * d;
            T* o = po + i * d;
            T m = -INFINITY;
#pragma omp simd reduction(max : m)
            for (int64_t j = 0; j < d; ++j) m = xr[j] > m ? xr[j] : m;
            if (!std::isfinite(m)) m = T(0);  // all -inf (or an inf) row: shift by 0, as torch
            double s = 0.0;
#pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < d; ++j) s += double(exp_any(T(xr[j] - m)));
            const T lse = m + T(std::log(s));
#pragma omp simd
            for (int64_t j = 0; j < d; ++j) o[j] = xr[j] - lse;
        });
    });
}

void log_softmax_bwd(const ArrayView& g, const ArrayView& out, const ArrayView& dx) {
    check_rows("log_softmax backward", g, {&out, &dx});
    dispatch_float(g.dtype, "log_softmax", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T* pg = g.ptr<T>();
        const T* po = out.ptr<T>();
        T* pd = dx.ptr<T>();
        for_rows(g, [&](int64_t i, int64_t d) {
            const T* gr = pg + i * d;
            const T* orow = po + i * d;
            T* o = pd + i * d;
            double s = 0.0;
#pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < d; ++j) s += double(gr[j]);
            const T ts = T(s);
#pragma omp simd
            for (int64_t j = 0; j < d; ++j) o[j] = gr[j] - exp_any(orow[j]) * ts;
        });
    });
}

}  // namespace gc::cpu
