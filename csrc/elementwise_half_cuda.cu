// CUDA float16/bfloat16 elementwise kernels: load 16 bits, compute the shared functor in float, round once.
// The unary_*/binary_* bindings send half operands here instead of through float32 twins (one launch, not
// five); the CPU twins of those names compute the same float32 values on twins and round once too.
// Compiled, not yet run on a GPU.
#include <type_traits>
#include "cuda_common.h"
#include "half.h"
#include "indexing.h"
#include "kernels.h"

namespace gc::cuda {
namespace {

template <class Op, class H>
__global__ void unary_half_kernel(StridedLoop<2> loop, H* out, const H* x, int64_t n) {
    Op op;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[loop.offset(0, i)] = from_float<H>(op(to_float(x[loop.offset(1, i)])));
}

template <class Op, class H>
__global__ void binary_half_kernel(StridedLoop<3> loop, H* out, const H* a, const H* b, int64_t n) {
    Op op;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[loop.offset(0, i)] = from_float<H>(op(to_float(a[loop.offset(1, i)]), to_float(b[loop.offset(2, i)])));
}

inline void check_half_operands(const ArrayView& x, const ArrayView& out, const char* op) {
    check_same_dtype(x, out, op);
    GC_CHECK(is_half(out.dtype), std::string(op) + ": float16 or bfloat16 operands expected");
}

}  // namespace

template <class Op>
void unary_half(const ArrayView& x, const ArrayView& out) {
    check_half_operands(x, out, "unary op");
    const ArrayView* ins[] = {&x};
    auto loop = make_loop<2>(out, ins);
    const int64_t n = loop.numel();
    if (n == 0 || out.numel() == 0) return;
    if (out.dtype == DType::Float16)
        unary_half_kernel<Op, Half><<<grid_for(n), kThreads, 0, stream()>>>(loop, out.ptr<Half>(), x.ptr<Half>(), n);
    else
        unary_half_kernel<Op, BFloat16><<<grid_for(n), kThreads, 0, stream()>>>(loop, out.ptr<BFloat16>(),
                                                                               x.ptr<BFloat16>(), n);
    GC_LAUNCH_CHECK("unary (half) kernel");
}

template <class Op>
void binary_half(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    check_half_operands(a, out, "binary op");
    check_same_dtype(b, out, "binary op");
    const ArrayView* ins[] = {&a, &b};
    auto loop = make_loop<3>(out, ins);
    const int64_t n = loop.numel();
    if (n == 0 || out.numel() == 0) return;
    if (out.dtype == DType::Float16)
        binary_half_kernel<Op, Half><<<grid_for(n), kThreads, 0, stream()>>>(loop, out.ptr<Half>(), a.ptr<Half>(),
                                                                            b.ptr<Half>(), n);
    else
        binary_half_kernel<Op, BFloat16><<<grid_for(n), kThreads, 0, stream()>>>(
            loop, out.ptr<BFloat16>(), a.ptr<BFloat16>(), b.ptr<BFloat16>(), n);
    GC_LAUNCH_CHECK("binary (half) kernel");
}

#define GC_INSTANTIATE_UNARY_HALF(name, Op) template void unary_half<Op>(const ArrayView&, const ArrayView&);
#define GC_INSTANTIATE_BINARY_HALF(name, Op) \
    template void binary_half<Op>(const ArrayView&, const ArrayView&, const ArrayView&);
GC_UNARY_OPS(GC_INSTANTIATE_UNARY_HALF)
GC_BINARY_OPS(GC_INSTANTIATE_BINARY_HALF)
#undef GC_INSTANTIATE_UNARY_HALF
#undef GC_INSTANTIATE_BINARY_HALF

}  // namespace gc::cuda
