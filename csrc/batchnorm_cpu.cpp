// CPU batch-norm kernels: channels split across threads, each channel's N*S values a few vectorized
// passes (its slice of a conv activation stays in L2 between them); sums accumulate in double.
#include <cmath>
#include <type_traits>
#include <vector>
#include "batchnorm.h"
#include "parallel.h"

namespace gc::cpu {
namespace {

// body(c0, c1) over channel ranges, about 32k values per thread at least (waking one costs microseconds).
template <class F>
void for_channels(const ArrayView& x, F&& body) {
    const int64_t c = x.shape[1], per = std::max<int64_t>(1, x.shape[0] * x.shape[2]);
    parallel_for(c, std::max<int64_t>(1, 32768 / per), body);
}

// Mean and biased variance of channels [c0, c1), two passes (the centred sum of squares cancels nothing).
// The (N, C) case (S == 1) walks rows with channels innermost instead, so the loads stay contiguous.
template <class T>
void channel_stats(const T* x, int64_t n, int64_t c, int64_t s, int64_t c0, int64_t c1, double* mean, double* var) {
    const double cnt = double(n * s);
    if (s == 1) {
        for (int64_t k = c0; k < c1; ++k) mean[k - c0] = 0.0, var[k - c0] = 0.0;
        for (int64_t i = 0; i < n; ++i) {
            const T* row = x + i * c;
#pragma omp simd
            for (int64_t k = c0; k < c1; ++k) mean[k - c0] += double(row[k]);
        }
        for (int64_t k = c0; k < c1; ++k) mean[k - c0] = cnt > 0 ? mean[k - c0] / cnt : 0.0;
        for (int64_t i = 0; i < n; ++i) {
            const T* row = x + i * c;
#pragma omp simd
            for (int64_t k = c0; k < c1; ++k) {
                const double d = double(row[k]) - mean[k - c0];
                var[k - c0] += d * d;
            }
        }
        for (int64_t k = c0; k < c1; ++k) var[k - c0] = cnt > 0 ? var[k - c0] / cnt : 0.0;
        return;
    }
    for (int64_t k = c0; k < c1; ++k) {
        double s1 = 0.0;
        for (int64_t i = 0; i < n; ++i) {
            const T* p = x + (i * c + k) * s;
#pragma omp simd reduction(+ : s1)
            for (int64_t j = 0; j < s; ++j) s1 += double(p[j]);
        }
        const double m = cnt > 0 ? s1 / cnt : 0.0;
        double s2 = 0.0;  // two passes: the centred sum of squares has no cancellation
        for (int64_t i = 0; i < n; ++i) {
            const T* p = x + (i * c + k) * s;
#pragma omp simd reduction(+ : s2)
            for (int64_t j = 0; j < s; ++j) {
                const double d = double(p[j]) - m;
                s2 += d * d;
            }
        }
        mean[k - c0] = m;
        var[k - c0] = cnt > 0 ? s2 / cnt : 0.0;
    }
}

// out = (x - center[k]) * scale[k] + shift[k] over channels [c0, c1): centring first keeps the digits
// that x * scale + (shift - center * scale) would cancel away when |mean| >> std.
template <class T>
void affine_channels(const T* x, T* out, int64_t n, int64_t c, int64_t s, int64_t c0, int64_t c1, const T* center,
                     const T* scale, const T* shift) {
    if (s == 1) {
        for (int64_t i = 0; i < n; ++i) {
            const T* row = x + i * c;
            T* o = out + i * c;
#pragma omp simd
            for (int64_t k = c0; k < c1; ++k) o[k] = (row[k] - center[k - c0]) * scale[k - c0] + shift[k - c0];
        }
        return;
    }
    for (int64_t k = c0; k < c1; ++k) {
        const T m = center[k - c0], a = scale[k - c0], b = shift[k - c0];
        for (int64_t i = 0; i < n; ++i) {
            const T* p = x + (i * c + k) * s;
            T* o = out + (i * c + k) * s;
#pragma omp simd
            for (int64_t j = 0; j < s; ++j) o[j] = (p[j] - m) * a + b;
        }
    }
}

}  // namespace

void batchnorm_fwd_train(const ArrayView& x, const ArrayView& weight, const ArrayView& bias, const ArrayView& out,
                         const ArrayView& save_mean, const ArrayView& save_var, double eps) {
    check_batchnorm("batch_norm", x, {&out}, {&weight, &bias, &save_mean, &save_var});
    const int64_t n = x.shape[0], c = x.shape[1], s = x.shape[2];
    dispatch_float(x.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T *px = x.ptr<T>(), *pw = weight.ptr<T>(), *pb = bias.ptr<T>();
        T *po = out.ptr<T>(), *pm = save_mean.ptr<T>(), *pv = save_var.ptr<T>();
        for_channels(x, [&](int64_t c0, int64_t c1) {
            std::vector<double> mean(size_t(c1 - c0)), var(size_t(c1 - c0));
            std::vector<T> scale(static_cast<size_t>(c1 - c0));
            channel_stats(px, n, c, s, c0, c1, mean.data(), var.data());
            for (int64_t k = c0; k < c1; ++k) {
                pm[k] = T(mean[k - c0]);
                pv[k] = T(var[k - c0]);
                scale[k - c0] = T(double(pw[k]) / std::sqrt(var[k - c0] + eps));
            }
            affine_channels(px, po, n, c, s, c0, c1, pm + c0, scale.data(), pb + c0);
        });
    });
}

void batchnorm_update_running(const ArrayView& save_mean, const ArrayView& save_var, const ArrayView& running_mean,
                              const ArrayView& running_var, double momentum, int64_t count) {
    check_batchnorm_running(save_mean, save_var, running_mean, running_var, count);
    // torch keeps the unbiased variance; one value per channel has none (nan for 1, as torch's n / 0).
    const double unbias = count > 1 ? double(count) / double(count - 1) : (count == 1 ? NAN : 1.0);
    dispatch_float(save_mean.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T *pm = save_mean.ptr<T>(), *pv = save_var.ptr<T>();
        T *rm = running_mean.ptr<T>(), *rv = running_var.ptr<T>();
        for (int64_t k = 0; k < save_mean.numel(); ++k) {
            rm[k] = T((1.0 - momentum) * double(rm[k]) + momentum * double(pm[k]));
            rv[k] = T((1.0 - momentum) * double(rv[k]) + momentum * double(pv[k]) * unbias);
        }
    });
}

void batchnorm_fwd_eval(const ArrayView& x, const ArrayView& weight, const ArrayView& bias,
                        const ArrayView& running_mean, const ArrayView& running_var, const ArrayView& out, double eps) {
    check_batchnorm("batch_norm", x, {&out}, {&weight, &bias, &running_mean, &running_var});
    const int64_t n = x.shape[0], c = x.shape[1], s = x.shape[2];
    dispatch_float(x.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T *px = x.ptr<T>(), *pw = weight.ptr<T>(), *pb = bias.ptr<T>();
        const T *rm = running_mean.ptr<T>(), *rv = running_var.ptr<T>();
        T* po = out.ptr<T>();
        for_channels(x, [&](int64_t c0, int64_t c1) {
            std::vector<T> scale(size_t(c1 - c0));
            for (int64_t k = c0; k < c1; ++k) scale[k - c0] = T(double(pw[k]) / std::sqrt(double(rv[k]) + eps));
            affine_channels(px, po, n, c, s, c0, c1, rm + c0, scale.data(), pb + c0);
        });
    });
}

// gx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)), gw = sum(g * xhat), gb = sum(g), with
// xhat = (x - mean) * invstd; gx is written as g * a + (x - mean) * b + d per channel (one fused pass).
void batchnorm_bwd(const ArrayView& g, const ArrayView& x, const ArrayView& weight, const ArrayView& save_mean,
                   const ArrayView& save_var, const ArrayView& gx, const ArrayView& gw, const ArrayView& gb,
                   double eps) {
    check_batchnorm("batch_norm backward", x, {&g, &gx}, {&weight, &save_mean, &save_var, &gw, &gb});
    const int64_t n = x.shape[0], c = x.shape[1], s = x.shape[2];
    const double cnt = double(n * s);
    dispatch_float(x.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T *pg = g.ptr<T>(), *px = x.ptr<T>(), *pw = weight.ptr<T>(), *pm = save_mean.ptr<T>(),
                *pv = save_var.ptr<T>();
        T *pgx = gx.ptr<T>(), *pgw = gw.ptr<T>(), *pgb = gb.ptr<T>();
        for_channels(x, [&](int64_t c0, int64_t c1) {
            const int64_t w = c1 - c0;
            std::vector<double> sg(size_t(w), 0.0), sgx(size_t(w), 0.0);
            if (s == 1) {
                for (int64_t i = 0; i < n; ++i) {
                    const T *gr = pg + i * c, *xr = px + i * c;
#pragma omp simd
                    for (int64_t k = c0; k < c1; ++k) {
                        sg[k - c0] += double(gr[k]);
                        sgx[k - c0] += double(gr[k]) * (double(xr[k]) - double(pm[k]));
                    }
                }
            } else {
                for (int64_t k = c0; k < c1; ++k) {
                    const double m = double(pm[k]);
                    double a = 0.0, b = 0.0;
                    for (int64_t i = 0; i < n; ++i) {
                        const T *gp = pg + (i * c + k) * s, *xp = px + (i * c + k) * s;
#pragma omp simd reduction(+ : a, b)
                        for (int64_t j = 0; j < s; ++j) {
                            a += double(gp[j]);
                            b += double(gp[j]) * (double(xp[j]) - m);
                        }
                    }
                    sg[k - c0] = a;
                    sgx[k - c0] = b;
                }
            }
            std::vector<T> ca(static_cast<size_t>(w)), cb(static_cast<size_t>(w)), cd(static_cast<size_t>(w));
            for (int64_t k = c0; k < c1; ++k) {
                const double invstd = 1.0 / std::sqrt(double(pv[k]) + eps), wk = double(pw[k]);
                const double a = sg[k - c0], b = sgx[k - c0];
                pgb[k] = T(a);
                pgw[k] = T(b * invstd);
                const double proj = cnt > 0 ? b * invstd * invstd / cnt : 0.0, mg = cnt > 0 ? a / cnt : 0.0;
                ca[k - c0] = T(wk * invstd);
                cb[k - c0] = T(-wk * invstd * proj);
                cd[k - c0] = T(-wk * invstd * mg);
            }
            if (s == 1) {
                for (int64_t i = 0; i < n; ++i) {
                    const T *gr = pg + i * c, *xr = px + i * c;
                    T* o = pgx + i * c;
#pragma omp simd
                    for (int64_t k = c0; k < c1; ++k)
                        o[k] = gr[k] * ca[k - c0] + (xr[k] - pm[k]) * cb[k - c0] + cd[k - c0];
                }
                return;
            }
            for (int64_t k = c0; k < c1; ++k) {
                const T a = ca[k - c0], b = cb[k - c0], d = cd[k - c0], m = pm[k];
                for (int64_t i = 0; i < n; ++i) {
                    const T *gp = pg + (i * c + k) * s, *xp = px + (i * c + k) * s;
                    T* o = pgx + (i * c + k) * s;
#pragma omp simd
                    for (int64_t j = 0; j < s; ++j) o[j] = gp[j] * a + (xp[j] - m) * b + d;
                }
            }
        });
    });
}

}  // namespace gc::cpu
