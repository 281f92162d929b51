// CUDA fused softmax-cross-entropy: a tiny kernel counts the rows whose target is not ignore_index
// (the mean's divisor, kept on the device), one block per row reads the logits once for an online
// (max, sum) pair, then writes dlogits = (softmax - onehot) * scale (zero rows where ignored); a last
// tiny kernel sums, averages or copies out the per-row losses. Out-of-range targets are flagged on the device (no host sync inside the op) and
// raised by raise_pending_errors() at the next sync point, or at once in sync-debug mode.
// Compiled, not yet run on a GPU (the device error record, the async scratch memset, current-stream launches).
#include <string>
#include <type_traits>
#include "cuda_common.h"
#include "kernels.h"

namespace gc::cuda {
namespace {

template <class T>
struct MaxSum {
    T m, s;
};

template <class T>
__device__ MaxSum<T> merge(MaxSum<T> a, MaxSum<T> b) {
    if (a.m == -INFINITY) return b;
    if (b.m == -INFINITY) return a;
    T m = a.m > b.m ? a.m : b.m;
    return {m, a.s * exp(a.m - m) + b.s * exp(b.m - m)};
}

// One block: *kept = the count of rows whose target is not ignore_index (as a double).
template <class Idx>
__global__ void count_kept(const Idx* __restrict__ targets, int64_t n, int64_t ignore_index, double* kept) {
    __shared__ unsigned long long partial[32];
    unsigned long long v = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) v += int64_t(targets[i]) != ignore_index ? 1 : 0;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0ull;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
        if (threadIdx.x == 0) *kept = double(v);
    }
}

template <class T, class Idx>
__global__ void softmax_ce_rows(const T* __restrict__ x, const Idx* __restrict__ targets, T* __restrict__ dx,
                                double* __restrict__ row_loss, unsigned long long* __restrict__ bad, int64_t n,
                                int64_t c, int64_t ignore_index, int reduction, const double* __restrict__ kept) {
    __shared__ T sm[32], ss[32];
    const int64_t r = blockIdx.x;
    const T* xr = x + r * c;
    T* dr = dx + r * c;
    MaxSum<T> acc{-INFINITY, T(0)};
    for (int64_t j = threadIdx.x; j < c; j += blockDim.x) acc = merge(acc, MaxSum<T>{xr[j], T(1)});
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        MaxSum<T> other{__shfl_down_sync(0xffffffffu, acc.m, o), __shfl_down_sync(0xffffffffu, acc.s, o)};
        acc = merge(acc, other);
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
    if (lane == 0) {
        sm[warp] = acc.m;
        ss[warp] = acc.s;
    }
    __syncthreads();
    if (warp == 0) {
        acc = lane < blockDim.x / 32 ? MaxSum<T>{sm[lane], ss[lane]} : MaxSum<T>{-INFINITY, T(0)};
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            MaxSum<T> other{__shfl_down_sync(0xffffffffu, acc.m, o), __shfl_down_sync(0xffffffffu, acc.s, o)};
            acc = merge(acc, other);
        }
        if (lane == 0) sm[0] = acc.m + log(acc.s);
    }
    __syncthreads();
    const T lse = sm[0];
    const Idx t = targets[r];
    if (int64_t(t) == ignore_index) {  // no loss, no gradient
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) dr[j] = T(0);
        if (threadIdx.x == 0) row_loss[r] = 0.0;
        return;
    }
    const bool valid = t >= 0 && t < c;
    // d(loss)/d(row loss): 1/kept for the mean (kept >= 1 here: this row counts), 1 otherwise.
    const T inv_n = reduction == kCeMean ? T(1.0 / *kept) : T(1);
    for (int64_t j = threadIdx.x; j < c; j += blockDim.x)
        dr[j] = (exp(xr[j] - lse) - (valid && j == t ? T(1) : T(0))) * inv_n;
    if (threadIdx.x == 0) {
        if (valid) {
            row_loss[r] = double(lse) - double(xr[t]);
        } else {
            row_loss[r] = 0.0;
            // Report the first bad row: the smallest row index wins; the host reads its value.
            atomicMin(bad, (unsigned long long)r);
        }
    }
}

// Also publishes this launch's first bad row (if any) to the process-wide error record, unless an
// earlier unreported error holds it: the first error is the one raised.
template <class T, class Idx>
__global__ void reduce_rows(const double* row_loss, T* loss, int64_t n, const unsigned long long* bad,
                            const Idx* targets, int64_t c, DeviceError* err, int reduction, const double* kept) {
    __shared__ double partial[32];
    if (threadIdx.x == 0 && *bad != ~0ull && atomicCAS(&err->kind, 0, 1) == 0) {
        err->row = int64_t(*bad);
        err->value = int64_t(targets[*bad]);
        err->classes = c;
    }
    if (reduction == kCeNone) {
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) loss[i] = T(row_loss[i]);
        return;
    }
    double v = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) v += row_loss[i];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0.0;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
        // The mean of no rows is 0/0 = nan, as torch.
        if (threadIdx.x == 0) *loss = T(reduction == kCeMean ? v / *kept : v);
    }
}

}  // namespace

void softmax_ce(const ArrayView& logits, const ArrayView& targets, const ArrayView& loss, const ArrayView& dlogits,
                int64_t ignore_index, int reduction) {
    check_softmax_ce_args(logits, targets, loss, dlogits, reduction);
    const int64_t n = logits.shape[0], c = logits.shape[1];
    GC_CHECK(n < (1LL << 31), "cross_entropy: batch must be below 2^31 rows");
    auto scratch = device_alloc(sizeof(double) * (n + 1) + sizeof(unsigned long long));
    double* row_loss = static_cast<double*>(scratch->ptr);
    double* kept = row_loss + n;                                      // rows not ignored
    auto* bad = reinterpret_cast<unsigned long long*>(kept + 1);      // first bad row; all ones: none
    GC_CUDA_CHECK(cudaMemsetAsync(bad, 0xFF, sizeof(*bad), stream()));
    DeviceError* err = device_error_slot();
    const int threads = c >= 1024 ? 512 : (c >= 256 ? 256 : 64);
    dispatch_float(logits.dtype, "cross_entropy", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto go = [&](auto* idx) {
            using Idx = std::remove_const_t<std::remove_pointer_t<decltype(idx)>>;
            count_kept<Idx><<<1, 1024, 0, stream()>>>(idx, n, ignore_index, kept);
            GC_LAUNCH_CHECK("softmax_ce count kernel");
            softmax_ce_rows<T><<<int(n), threads, 0, stream()>>>(logits.ptr<T>(), idx, dlogits.ptr<T>(), row_loss,
                                                                 bad, n, c, ignore_index, reduction, kept);
            GC_LAUNCH_CHECK("softmax_ce kernel");
            reduce_rows<T, Idx><<<1, 1024, 0, stream()>>>(row_loss, loss.ptr<T>(), n, bad, idx, c, err, reduction,
                                                          kept);
            GC_LAUNCH_CHECK("softmax_ce mean kernel");  // in sync-debug mode this raises a bad target at once
        };
        if (targets.dtype == DType::Int64) go(targets.ptr<int64_t>());
        else go(targets.ptr<int32_t>());
    });
    // scratch goes back to the cache on this stream: later work there is ordered after these kernels.
}

}  // namespace gc::cuda
