// CUDA 2-d pooling, twins of pool_cpu.cpp: one thread per output element (max with argmax, average),
// and both backwards in gather form, one thread per input element (no atomics).
// Compiled, not yet run on a GPU (launches on the current stream).
#include <type_traits>
#include "cuda_common.h"
#include "pool.h"

namespace gc::cuda {
namespace {

__device__ inline int64_t first_inside(int64_t start, int64_t step) {
    return start >= 0 ? start : start + ((-start + step - 1) / step) * step;
}

template <class T>
__global__ void max_pool2d_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t* __restrict__ idx, int64_t n,
                                  int64_t h, int64_t w, int64_t oh, int64_t ow, Pool2dParams p) {
    for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(gridDim.x) * blockDim.x) {
        const int64_t j = o % ow, i = (o / ow) % oh, plane = o / (ow * oh);
        const T* xp = x + plane * h * w;
        const int64_t hs = first_inside(i * p.sh - p.ph, p.dh);
        const int64_t he = min(i * p.sh - p.ph + (p.kh - 1) * p.dh + 1, h);
        const int64_t ws = first_inside(j * p.sw - p.pw, p.dw);
        const int64_t we = min(j * p.sw - p.pw + (p.kw - 1) * p.dw + 1, w);
        int64_t best = min(hs, h - 1) * w + min(ws, w - 1);
        T m = -INFINITY;
        for (int64_t a = hs; a < he; a += p.dh) {
            for (int64_t b = ws; b < we; b += p.dw) {
                const T v = xp[a * w + b];
                if (v > m || isnan(v)) {  // torch's test: the last NaN wins
                    m = v;
                    best = a * w + b;
                }
            }
        }
        y[o] = m;
        idx[o] = best;
    }
}

// One thread per input element: the windows that can hold it, in ascending order (the CPU twin's order).
template <class T>
__global__ void max_pool2d_bwd_kernel(const T* __restrict__ gy, const int64_t* __restrict__ idx, T* __restrict__ gx,
                                      int64_t n, int64_t h, int64_t w, int64_t oh, int64_t ow, Pool2dParams p) {
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t b = e % w, a = (e / w) % h, plane = e / (w * h);
        const T* gp = gy + plane * oh * ow;
        const int64_t* ip = idx + plane * oh * ow;
        // windows i with i*sh - ph <= a <= i*sh - ph + (kh-1)*dh (a negative numerator truncates; max(0) fixes it)
        const int64_t i0 = max(int64_t(0), (a + p.ph - (p.kh - 1) * p.dh + p.sh - 1) / p.sh);
        const int64_t i1 = min(oh, (a + p.ph) / p.sh + 1);
        const int64_t j0 = max(int64_t(0), (b + p.pw - (p.kw - 1) * p.dw + p.sw - 1) / p.sw);
        const int64_t j1 = min(ow, (b + p.pw) / p.sw + 1);
        const int64_t me = a * w + b;
        T s = 0;
        for (int64_t i = i0; i < i1; ++i)
            for (int64_t j = j0; j < j1; ++j)
                if (ip[i * ow + j] == me) s += gp[i * ow + j];
        gx[e] = s;
    }
}

template <class T>
__global__ void avg_pool2d_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, int64_t h, int64_t w,
                                  int64_t oh, int64_t ow, Pool2dParams p) {
    for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(gridDim.x) * blockDim.x) {
        const int64_t j = o % ow, i = (o / ow) % oh, plane = o / (ow * oh);
        const T* xp = x + plane * h * w;
        const int64_t hs = i * p.sh - p.ph, ws = j * p.sw - p.pw;
        const int64_t h0 = max(hs, int64_t(0)), h1 = min(hs + p.kh, h);
        const int64_t w0 = max(ws, int64_t(0)), w1 = min(ws + p.kw, w);
        T s = 0;
        for (int64_t a = h0; a < h1; ++a)
            for (int64_t b = w0; b < w1; ++b) s += xp[a * w + b];
        y[o] = s / T(avg_pool_divisor(hs, ws, h, w, p));
    }
}

template <class T>
__global__ void avg_pool2d_bwd_kernel(const T* __restrict__ gy, T* __restrict__ gx, int64_t n, int64_t h, int64_t w,
                                      int64_t oh, int64_t ow, Pool2dParams p) {
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t b = e % w, a = (e / w) % h, plane = e / (w * h);
        const T* gp = gy + plane * oh * ow;
        // windows i with i*sh - ph <= a < i*sh - ph + kh (a negative numerator truncates; max(0) fixes it)
        const int64_t i0 = max(int64_t(0), (a + p.ph - p.kh + p.sh) / p.sh), i1 = min(oh, (a + p.ph) / p.sh + 1);
        const int64_t j0 = max(int64_t(0), (b + p.pw - p.kw + p.sw) / p.sw), j1 = min(ow, (b + p.pw) / p.sw + 1);
        T s = 0;
        for (int64_t i = i0; i < i1; ++i)
            for (int64_t j = j0; j < j1; ++j)
                s += gp[i * ow + j] / T(avg_pool_divisor(i * p.sh - p.ph, j * p.sw - p.pw, h, w, p));
        gx[e] = s;
    }
}

}  // namespace

void max_pool2d_fwd(const ArrayView& x, const ArrayView& y, const ArrayView& idx, const Pool2dParams& p) {
    check_pool2d("max_pool2d", x, y, p, &idx);
    const int64_t n = y.numel();
    if (n == 0) return;
    dispatch_float(x.dtype, "max_pool2d", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        max_pool2d_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(x.ptr<T>(), y.ptr<T>(), idx.ptr<int64_t>(), n,
                                                                     x.shape[2], x.shape[3], y.shape[2], y.shape[3], p);
        GC_LAUNCH_CHECK("max_pool2d kernel");
    });
}

void max_pool2d_bwd(const ArrayView& gy, const ArrayView& idx, const ArrayView& gx, const Pool2dParams& p) {
    check_pool2d("max_pool2d backward", gx, gy, p, &idx);
    const int64_t n = gx.numel();
    if (n == 0) return;
    dispatch_float(gy.dtype, "max_pool2d", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        max_pool2d_bwd_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(
            gy.ptr<T>(), idx.ptr<int64_t>(), gx.ptr<T>(), n, gx.shape[2], gx.shape[3], gy.shape[2], gy.shape[3], p);
        GC_LAUNCH_CHECK("max_pool2d backward kernel");
    });
}

void avg_pool2d_fwd(const ArrayView& x, const ArrayView& y, const Pool2dParams& p) {
    check_pool2d("avg_pool2d", x, y, p);
    const int64_t n = y.numel();
    if (n == 0) return;
    dispatch_float(x.dtype, "avg_pool2d", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        avg_pool2d_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(x.ptr<T>(), y.ptr<T>(), n, x.shape[2], x.shape[3],
                                                                     y.shape[2], y.shape[3], p);
        GC_LAUNCH_CHECK("avg_pool2d kernel");
    });
}

void avg_pool2d_bwd(const ArrayView& gy, const ArrayView& gx, const Pool2dParams& p) {
    check_pool2d("avg_pool2d backward", gx, gy, p);
    const int64_t n = gx.numel();
    if (n == 0) return;
    dispatch_float(gy.dtype, "avg_pool2d", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        avg_pool2d_bwd_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(gy.ptr<T>(), gx.ptr<T>(), n, gx.shape[2],
                                                                         gx.shape[3], gy.shape[2], gy.shape[3], p);
        GC_LAUNCH_CHECK("avg_pool2d backward kernel");
    });
}

}  // namespace gc::cuda
