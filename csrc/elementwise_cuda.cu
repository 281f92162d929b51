// CUDA elementwise kernels: unary, binary with broadcasting, casts. Contiguous operands take a
// 16-byte vectorized grid-stride path; anything else goes through StridedLoop offsets.
// Compiled, not yet run on a GPU (launches on the current stream).
#include <type_traits>
#include "cuda_common.h"
#include "half.h"
#include "indexing.h"
#include "kernels.h"

namespace gc::cuda {
namespace {

template <class T>
struct alignas(16) Pack {
    static constexpr int N = 16 / sizeof(T);
    T v[N];
};

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

template <class Op, class T>
__global__ void unary_contig(T* __restrict__ out, const T* __restrict__ x, int64_t n, bool vec) {
    Op op;
    int64_t tid = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    int64_t stride = int64_t(gridDim.x) * blockDim.x;
    constexpr int N = Pack<T>::N;
    int64_t done = 0;
    if (vec) {
        int64_t packs = n / N;
        for (int64_t i = tid; i < packs; i += stride) {
            Pack<T> p = reinterpret_cast<const Pack<T>*>(x)[i];
#pragma unroll
            for (int k = 0; k < N; ++k) p.v[k] = op(p.v[k]);
            reinterpret_cast<Pack<T>*>(out)[i] = p;
        }
        done = packs * N;
    }
    for (int64_t i = done + tid; i < n; i += stride) out[i] = op(x[i]);
}

template <class Op, class T>
__global__ void unary_strided(StridedLoop<2> loop, T* out, const T* x, int64_t n) {
    Op op;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[loop.offset(0, i)] = op(x[loop.offset(1, i)]);
}

template <class Op, class T>
__global__ void binary_contig(T* __restrict__ out, const T* __restrict__ a, const T* __restrict__ b, int64_t n,
                              bool vec) {
    Op op;
    int64_t tid = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    int64_t stride = int64_t(gridDim.x) * blockDim.x;
    constexpr int N = Pack<T>::N;
    int64_t done = 0;
    if (vec) {
        int64_t packs = n / N;
        for (int64_t i = tid; i < packs; i += stride) {
            Pack<T> pa = reinterpret_cast<const Pack<T>*>(a)[i];
            Pack<T> pb = reinterpret_cast<const Pack<T>*>(b)[i];
#pragma unroll
            for (int k = 0; k < N; ++k) pa.v[k] = op(pa.v[k], pb.v[k]);
            reinterpret_cast<Pack<T>*>(out)[i] = pa;
        }
        done = packs * N;
    }
    for (int64_t i = done + tid; i < n; i += stride) out[i] = op(a[i], b[i]);
}

template <class Op, class T>
__global__ void binary_strided(StridedLoop<3> loop, T* out, const T* a, const T* b, int64_t n) {
    Op op;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[loop.offset(0, i)] = op(a[loop.offset(1, i)], b[loop.offset(2, i)]);
}

template <class In, class Out>
__global__ void cast_strided(StridedLoop<2> loop, Out* out, const In* x, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[loop.offset(0, i)] = convert<Out>(x[loop.offset(1, i)]);
}

template <class Op, class T>
__global__ void compare_strided(StridedLoop<3> loop, bool* out, const T* a, const T* b, int64_t n) {
    Op op;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[loop.offset(0, i)] = op(a[loop.offset(1, i)], b[loop.offset(2, i)]) != T(0);
}

template <int N>
bool fully_contiguous(const StridedLoop<N>& loop) {
    if (loop.ndim != 1) return false;
    for (int k = 0; k < N; ++k)
        if (loop.strides[k][0] != 1) return false;
    return true;
}

template <class Op, class T>
void unary_typed(const ArrayView& x, const ArrayView& out) {
    const ArrayView* ins[] = {&x};
    auto loop = make_loop<2>(out, ins);
    int64_t n = loop.numel();
    if (n == 0 || out.numel() == 0) return;
    if (fully_contiguous(loop)) {
        bool vec = aligned16(out.data) && aligned16(x.data);
        unary_contig<Op, T><<<grid_for(n / (vec ? Pack<T>::N : 1)), kThreads, 0, stream()>>>(out.ptr<T>(), x.ptr<T>(), n, vec);
    } else {
        unary_strided<Op, T><<<grid_for(n), kThreads, 0, stream()>>>(loop, out.ptr<T>(), x.ptr<T>(), n);
    }
    GC_LAUNCH_CHECK("unary kernel");
}

template <class Op, class T>
void binary_typed(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    const ArrayView* ins[] = {&a, &b};
    auto loop = make_loop<3>(out, ins);
    int64_t n = loop.numel();
    if (n == 0 || out.numel() == 0) return;
    if (fully_contiguous(loop)) {
        bool vec = aligned16(out.data) && aligned16(a.data) && aligned16(b.data);
        binary_contig<Op, T><<<grid_for(n / (vec ? Pack<T>::N : 1)), kThreads, 0, stream()>>>(out.ptr<T>(), a.ptr<T>(),
                                                                                  b.ptr<T>(), n, vec);
    } else {
        binary_strided<Op, T><<<grid_for(n), kThreads, 0, stream()>>>(loop, out.ptr<T>(), a.ptr<T>(), b.ptr<T>(), n);
    }
    GC_LAUNCH_CHECK("binary kernel");
}

template <class Op, class T>
void compare_typed(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    const ArrayView* ins[] = {&a, &b};
    auto loop = make_loop<3>(out, ins);
    int64_t n = loop.numel();
    if (n == 0 || out.numel() == 0) return;
    compare_strided<Op, T><<<grid_for(n), kThreads, 0, stream()>>>(loop, out.ptr<bool>(), a.ptr<T>(), b.ptr<T>(), n);
    GC_LAUNCH_CHECK("compare kernel");
}

}  // namespace

#include "elementwise_entry.inc"

void cast(const ArrayView& x, const ArrayView& out) {
    const ArrayView* ins[] = {&x};
    auto loop = make_loop<2>(out, ins);
    int64_t n = loop.numel();
    if (n == 0 || out.numel() == 0) return;
    dispatch_all(x.dtype, [&](auto* in_tag) {
        using In = std::remove_pointer_t<decltype(in_tag)>;
        dispatch_all(out.dtype, [&](auto* out_tag) {
            using Out = std::remove_pointer_t<decltype(out_tag)>;
            cast_strided<In, Out><<<grid_for(n), kThreads, 0, stream()>>>(loop, out.ptr<Out>(), x.ptr<In>(), n);
        });
    });
    GC_LAUNCH_CHECK("cast kernel");
}

}  // namespace gc::cuda
