// CUDA row-wise layer-norm and log-softmax (forward and backward): one block per row, block
// reductions through warp shuffles, sums in double (the CPU twin's accumulation).
// Compiled, not yet run on a GPU (launches on the current stream).
#include <type_traits>
#include "cuda_common.h"
#include "kernels.h"
#include "rownorm.h"

namespace gc::cuda {
namespace {

constexpr int kRowThreads = 256;

struct SumOp {
    __device__ double operator()(double a, double b) const { return a + b; }
};
struct MaxOp {
    __device__ double operator()(double a, double b) const { return (a > b || a != a) ? a : b; }
};

// Reduces v over the block; every thread gets the result.
template <class Op>
__device__ double block_reduce(double v, Op op, double identity) {
    __shared__ double part[32];
    __shared__ double result;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < int(blockDim.x / 32) ? part[lane] : identity;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, o));
        if (lane == 0) result = v;
    }
    __syncthreads();
    const double out = result;
    __syncthreads();  // part/result are reused by the next reduction of this block
    return out;
}

template <class T>
__global__ void layernorm_fwd_rows(const T* __restrict__ x, T* __restrict__ out, T* __restrict__ rstd, int64_t d,
                                   double eps) {
    const T* xr = x + int64_t(blockIdx.x) * d;
    T* o = out + int64_t(blockIdx.x) * d;
    double s = 0.0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += double(xr[j]);
    const double mean = block_reduce(s, SumOp{}, 0.0) / double(d);
    double v = 0.0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
        const double c = double(xr[j]) - mean;
        v += c * c;
    }
    const double r = rsqrt(block_reduce(v, SumOp{}, 0.0) / double(d) + eps);
    const T tm = T(mean), tr = T(r);
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) o[j] = (xr[j] - tm) * tr;
    if (threadIdx.x == 0) rstd[blockIdx.x] = tr;
}

template <class T>
__global__ void layernorm_bwd_rows(const T* __restrict__ g, const T* __restrict__ xhat, const T* __restrict__ rstd,
                                   T* __restrict__ dx, int64_t d) {
    const int64_t base = int64_t(blockIdx.x) * d;
    double sg = 0.0, sgh = 0.0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
        sg += double(g[base + j]);
        sgh += double(g[base + j]) * double(xhat[base + j]);
    }
    const T mg = T(block_reduce(sg, SumOp{}, 0.0) / double(d));
    const T mgh = T(block_reduce(sgh, SumOp{}, 0.0) / double(d));
    const T r = rstd[blockIdx.x];
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dx[base + j] = r * (g[base + j] - mg - xhat[base + j] * mgh);
}

template <class T>
__global__ void log_softmax_fwd_rows(const T* __restrict__ x, T* __restrict__ out, int64_t d) {
    const T* xr = x + int64_t(blockIdx.x) * d;
    T* o = out + int64_t(blockIdx.x) * d;
    double m = -INFINITY;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) m = MaxOp{}(m, double(xr[j]));
    T tm = T(block_reduce(m, MaxOp{}, -INFINITY));
    if (!isfinite(tm)) tm = T(0);  // all -inf (or an inf) row: shift by 0, as the CPU twin
    double s = 0.0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += double(exp(xr[j] - tm));
    const T lse = tm + T(log(block_reduce(s, SumOp{}, 0.0)));
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) o[j] = xr[j] - lse;
}

template <class T>
__global__ void log_softmax_bwd_rows(const T* __restrict__ g, const T* __restrict__ out, T* __restrict__ dx,
                                     int64_t d) {
    const int64_t base = int64_t(blockIdx.x) * d;
    double s = 0.0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += double(g[base + j]);
    const T ts = T(block_reduce(s, SumOp{}, 0.0));
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dx[base + j] = g[base + j] - exp(out[base + j]) * ts;
}

int rows_grid(const ArrayView& x, const char* op) {
    GC_CHECK(x.shape[0] < (1LL << 31), std::string(op) + ": more than 2^31 rows");
    return int(x.shape[0]);
}

}  // namespace

void layernorm_fwd(const ArrayView& x, const ArrayView& out, const ArrayView& rstd, double eps) {
    check_rows("layer_norm", x, {&out}, &rstd);
    if (x.numel() == 0) return;
    dispatch_float(x.dtype, "layer_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        layernorm_fwd_rows<T><<<rows_grid(x, "layer_norm"), kRowThreads, 0, stream()>>>(x.ptr<T>(), out.ptr<T>(), rstd.ptr<T>(),
                                                                           x.shape[1], eps);
        GC_LAUNCH_CHECK("layer_norm kernel");
    });
}

void layernorm_bwd(const ArrayView& g, const ArrayView& xhat, const ArrayView& rstd, const ArrayView& dx) {
    check_rows("layer_norm backward", g, {&xhat, &dx}, &rstd);
    if (g.numel() == 0) return;
    dispatch_float(g.dtype, "layer_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        layernorm_bwd_rows<T><<<rows_grid(g, "layer_norm"), kRowThreads, 0, stream()>>>(g.ptr<T>(), xhat.ptr<T>(), rstd.ptr<T>(),
                                                                           dx.ptr<T>(), g.shape[1]);
        GC_LAUNCH_CHECK("layer_norm backward kernel");
    });
}

void log_softmax_fwd(const ArrayView& x, const ArrayView& out) {
    check_rows("log_softmax", x, {&out});
    if (x.numel() == 0) return;
    dispatch_float(x.dtype, "log_softmax", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        log_softmax_fwd_rows<T><<<rows_grid(x, "log_softmax"), kRowThreads, 0, stream()>>>(x.ptr<T>(), out.ptr<T>(), x.shape[1]);
        GC_LAUNCH_CHECK("log_softmax kernel");
    });
}

void log_softmax_bwd(const ArrayView& g, const ArrayView& out, const ArrayView& dx) {
    check_rows("log_softmax backward", g, {&out, &dx});
    if (g.numel() == 0) return;
    dispatch_float(g.dtype, "log_softmax", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        log_softmax_bwd_rows<T><<<rows_grid(g, "log_softmax"), kRowThreads, 0, stream()>>>(g.ptr<T>(), out.ptr<T>(), dx.ptr<T>(),
                                                                              g.shape[1]);
        GC_LAUNCH_CHECK("log_softmax backward kernel");
    });
}

}  // namespace gc::cuda
