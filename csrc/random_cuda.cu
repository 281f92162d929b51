// CUDA random kernels: the dropout mask from counter-based Philox4x32-10, bit-identical to random_cpu.cpp.
// Compiled, not yet run on a GPU.
#include <type_traits>
#include "cuda_common.h"
#include "kernels.h"
#include "philox.h"

namespace gc::cuda {
namespace {

template <class T>
__global__ void dropout_mask_kernel(T* out, int64_t n, double p, T kept, uint64_t seed, uint64_t offset) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = dropout_keep(uint64_t(i), offset, seed, p) ? kept : T(0);
}

}  // namespace

void dropout_mask(const ArrayView& out, double p, uint64_t seed, uint64_t offset) {
    check_dropout_args(out, p);
    const int64_t n = out.numel();
    if (n == 0) return;
    const double scale = dropout_scale(p);
    dispatch_float(out.dtype, "dropout_mask", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        dropout_mask_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(out.ptr<T>(), n, p, T(scale), seed, offset);
    });
    GC_LAUNCH_CHECK("dropout_mask kernel");
}

}  // namespace gc::cuda
