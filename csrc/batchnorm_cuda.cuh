// The CUDA batch-norm kernels' device code (one block per channel), kept apart from the launches in
// batchnorm_cuda.cu so tests/native/batchnorm_cuda_sim.cpp can run it unchanged on the host.
#pragma once
#include <cstdint>
#include "fast_divmod.h"

namespace gc::cuda::bn {

constexpr int kChannelThreads = 512;

// Sums v over the block; every thread gets the result.
__device__ inline double block_sum(double v) {
    __shared__ double part[32];
    __shared__ double result;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < int(blockDim.x / 32) ? part[lane] : 0.0;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
        if (lane == 0) result = v;
    }
    __syncthreads();
    const double out = result;
    __syncthreads();  // part/result are reused by the block's next reduction
    return out;
}

// The channel's layout: value j of channel c (j < N * S) sits at (j / S) * C * S + c * S + j % S.
struct Channel {
    FastDivmod s;
    int64_t row;  // C * S
    int32_t count;  // N * S
    __device__ int64_t at(int32_t j, int64_t c) const {
        int32_t n, r;
        s.divmod(j, n, r);
        return int64_t(n) * row + c * int64_t(s.d) + r;
    }
};

template <class T>
__global__ void bn_fwd_train(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                             T* __restrict__ out, T* __restrict__ save_mean, T* __restrict__ save_var, Channel ch,
                             double eps) {
    const int64_t c = blockIdx.x;
    double s1 = 0.0;
    for (int32_t j = threadIdx.x; j < ch.count; j += blockDim.x) s1 += double(x[ch.at(j, c)]);
    const double mean = ch.count > 0 ? block_sum(s1) / double(ch.count) : 0.0;
    const T tm = T(mean);
    double s2 = 0.0;  // two passes: the centred sum of squares has no cancellation
    for (int32_t j = threadIdx.x; j < ch.count; j += blockDim.x) {
        const double d = double(x[ch.at(j, c)]) - mean;
        s2 += d * d;
    }
    const double var = ch.count > 0 ? block_sum(s2) / double(ch.count) : 0.0;
    const T scale = T(double(w[c]) * rsqrt(var + eps)), shift = b[c];
    for (int32_t j = threadIdx.x; j < ch.count; j += blockDim.x) {
        const int64_t i = ch.at(j, c);
        out[i] = (x[i] - tm) * scale + shift;
    }
    if (threadIdx.x == 0) {
        save_mean[c] = tm;
        save_var[c] = T(var);
    }
}

template <class T>
__global__ void bn_update_running(const T* __restrict__ mean, const T* __restrict__ var, T* __restrict__ rm,
                                  T* __restrict__ rv, int64_t c, double momentum, double unbias) {
    const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (k >= c) return;
    rm[k] = T((1.0 - momentum) * double(rm[k]) + momentum * double(mean[k]));
    rv[k] = T((1.0 - momentum) * double(rv[k]) + momentum * double(var[k]) * unbias);
}

template <class T>
__global__ void bn_fwd_eval(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                            const T* __restrict__ rm, const T* __restrict__ rv, T* __restrict__ out, Channel ch,
                            double eps) {
    const int64_t c = blockIdx.x;
    const T m = rm[c], scale = T(double(w[c]) * rsqrt(double(rv[c]) + eps)), shift = b[c];
    for (int32_t j = threadIdx.x; j < ch.count; j += blockDim.x) {
        const int64_t i = ch.at(j, c);
        out[i] = (x[i] - m) * scale + shift;
    }
}

template <class T>
__global__ void bn_bwd(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ w,
                       const T* __restrict__ save_mean, const T* __restrict__ save_var, T* __restrict__ gx,
                       T* __restrict__ gw, T* __restrict__ gb, Channel ch, double eps) {
    const int64_t c = blockIdx.x;
    const T m = save_mean[c];
    double sg = 0.0, sgx = 0.0;
    for (int32_t j = threadIdx.x; j < ch.count; j += blockDim.x) {
        const int64_t i = ch.at(j, c);
        sg += double(g[i]);
        sgx += double(g[i]) * double(x[i] - m);
    }
    sg = block_sum(sg);
    sgx = block_sum(sgx);
    const double invstd = rsqrt(double(save_var[c]) + eps), wk = double(w[c]);
    const double cnt = double(ch.count);
    const double proj = ch.count > 0 ? sgx * invstd * invstd / cnt : 0.0, mg = ch.count > 0 ? sg / cnt : 0.0;
    const T a = T(wk * invstd), bb = T(-wk * invstd * proj), d = T(-wk * invstd * mg);
    for (int32_t j = threadIdx.x; j < ch.count; j += blockDim.x) {
        const int64_t i = ch.at(j, c);
        gx[i] = g[i] * a + (x[i] - m) * bb + d;
    }
    if (threadIdx.x == 0) {
        gb[c] = T(sg);
        gw[c] = T(sgx * invstd);
    }
}


// ---------------------------------------------------------------- split path (few channels, many values)
// One block per channel leaves most SMs idle when C is small (BatchNorm2d(32) on 64x32x28x28: 32 blocks).
// Here channel c's values are cut into `splits` slices of `chunk`; block (c, k) reduces slice k into
// double partials, one thread per channel merges them (Chan's formula for mean and M2), and an elementwise
// kernel over every value (all blocks busy) applies the per-channel coefficients.

struct Split {
    int32_t splits = 1, chunk = 0;
};

inline Split make_split(int32_t count, int32_t splits) {
    Split sp;
    sp.splits = splits < 1 ? 1 : splits;
    sp.chunk = int32_t((int64_t(count) + sp.splits - 1) / sp.splits);
    return sp;
}

// Slice k of a channel: [lo, hi) (empty when the slices overshoot the count).
__device__ inline void slice_of(const Split& sp, int32_t count, int32_t k, int32_t& lo, int32_t& hi) {
    const int64_t l = int64_t(k) * sp.chunk, h = l + sp.chunk;
    lo = int32_t(l < count ? l : count);
    hi = int32_t(h < count ? h : count);
}

template <class T>
__global__ void bn_partial_stats(const T* __restrict__ x, double* __restrict__ pmean, double* __restrict__ pm2,
                                 Channel ch, Split sp) {
    const int64_t c = blockIdx.x;
    int32_t lo, hi;
    slice_of(sp, ch.count, int32_t(blockIdx.y), lo, hi);
    double s1 = 0.0;
    for (int32_t j = lo + int32_t(threadIdx.x); j < hi; j += blockDim.x) s1 += double(x[ch.at(j, c)]);
    const double mean = hi > lo ? block_sum(s1) / double(hi - lo) : 0.0;
    double s2 = 0.0;  // centred on the slice's own mean: no cancellation
    for (int32_t j = lo + int32_t(threadIdx.x); j < hi; j += blockDim.x) {
        const double d = double(x[ch.at(j, c)]) - mean;
        s2 += d * d;
    }
    const double m2 = hi > lo ? block_sum(s2) : 0.0;
    if (threadIdx.x == 0) {
        pmean[c * sp.splits + blockIdx.y] = mean;
        pm2[c * sp.splits + blockIdx.y] = m2;
    }
}

// Merges a channel's slices; writes the saved statistics and the normalize pass's scale w * invstd.
template <class T>
__global__ void bn_finalize_stats(const double* __restrict__ pmean, const double* __restrict__ pm2,
                                  const T* __restrict__ w, T* __restrict__ save_mean, T* __restrict__ save_var,
                                  T* __restrict__ scale, int64_t channels, Channel ch, Split sp, double eps) {
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    double n = 0.0, mean = 0.0, m2 = 0.0;
    for (int32_t k = 0; k < sp.splits; ++k) {
        int32_t lo, hi;
        slice_of(sp, ch.count, k, lo, hi);
        if (hi <= lo) continue;
        const double nb = double(hi - lo), delta = pmean[c * sp.splits + k] - mean, total = n + nb;
        mean += delta * nb / total;
        m2 += pm2[c * sp.splits + k] + delta * delta * n * nb / total;
        n = total;
    }
    const double var = n > 0.0 ? m2 / n : 0.0;
    save_mean[c] = T(mean);
    save_var[c] = T(var);
    scale[c] = T(double(w[c]) * rsqrt(var + eps));
}

// The eval pass's scale from the running variance.
template <class T>
__global__ void bn_eval_scale(const T* __restrict__ w, const T* __restrict__ rv, T* __restrict__ scale,
                              int64_t channels, double eps) {
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c < channels) scale[c] = T(double(w[c]) * rsqrt(double(rv[c]) + eps));
}

// Value i of the (N, C, S) array belongs to channel (i / S) % C.
struct Elementwise {
    FastDivmod s, c;
    int32_t total;
    __device__ int32_t channel(int32_t i) const {
        int32_t q, r;
        c.divmod(s.div(i), q, r);
        return r;
    }
};

// out = (x - center[c]) * scale[c] + shift[c] over every value (training and eval).
template <class T>
__global__ void bn_apply(const T* __restrict__ x, const T* __restrict__ center, const T* __restrict__ scale,
                         const T* __restrict__ shift, T* __restrict__ out, Elementwise e) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < e.total; i += int64_t(gridDim.x) * blockDim.x) {
        const int32_t c = e.channel(int32_t(i));
        out[i] = (x[i] - center[c]) * scale[c] + shift[c];
    }
}

template <class T>
__global__ void bn_partial_grad(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ save_mean,
                                double* __restrict__ psg, double* __restrict__ psgx, Channel ch, Split sp) {
    const int64_t c = blockIdx.x;
    const T m = save_mean[c];
    int32_t lo, hi;
    slice_of(sp, ch.count, int32_t(blockIdx.y), lo, hi);
    double sg = 0.0, sgx = 0.0;
    for (int32_t j = lo + int32_t(threadIdx.x); j < hi; j += blockDim.x) {
        const int64_t i = ch.at(j, c);
        sg += double(g[i]);
        sgx += double(g[i]) * double(x[i] - m);
    }
    sg = block_sum(sg);
    sgx = block_sum(sgx);
    if (threadIdx.x == 0) {
        psg[c * sp.splits + blockIdx.y] = sg;
        psgx[c * sp.splits + blockIdx.y] = sgx;
    }
}

// Sums a channel's slices into grad_weight and grad_bias and the input gradient's coefficients
// gx = g * a + (x - mean) * b + d (coef holds a, b, d as three runs of C).
template <class T>
__global__ void bn_finalize_grad(const double* __restrict__ psg, const double* __restrict__ psgx,
                                 const T* __restrict__ w, const T* __restrict__ save_var, T* __restrict__ gw,
                                 T* __restrict__ gb, T* __restrict__ coef, int64_t channels, Channel ch, Split sp,
                                 double eps) {
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    double sg = 0.0, sgx = 0.0;
    for (int32_t k = 0; k < sp.splits; ++k) {
        sg += psg[c * sp.splits + k];
        sgx += psgx[c * sp.splits + k];
    }
    const double invstd = rsqrt(double(save_var[c]) + eps), wk = double(w[c]), cnt = double(ch.count);
    const double proj = ch.count > 0 ? sgx * invstd * invstd / cnt : 0.0, mg = ch.count > 0 ? sg / cnt : 0.0;
    gb[c] = T(sg);
    gw[c] = T(sgx * invstd);
    coef[c] = T(wk * invstd);
    coef[channels + c] = T(-wk * invstd * proj);
    coef[2 * channels + c] = T(-wk * invstd * mg);
}

template <class T>
__global__ void bn_grad_input(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ save_mean,
                              const T* __restrict__ coef, T* __restrict__ gx, int64_t channels, Elementwise e) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < e.total; i += int64_t(gridDim.x) * blockDim.x) {
        const int32_t c = e.channel(int32_t(i));
        gx[i] = g[i] * coef[c] + (x[i] - save_mean[c]) * coef[channels + c] + coef[2 * channels + c];
    }
}

}  // namespace gc::cuda::bn
