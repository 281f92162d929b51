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

}  // namespace gc::cuda::bn
