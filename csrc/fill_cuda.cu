// CUDA fill: the scalar travels as a kernel argument (no host->device upload, capturable in a CUDA graph).
// Compiled, not yet run on a GPU.
#include <type_traits>
#include "cuda_common.h"
#include "half.h"
#include "kernels.h"

namespace gc::cuda {
namespace {

template <class T>
__global__ void fill_kernel(T* out, int64_t n, T v) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = v;
}

}  // namespace

void fill(const ArrayView& out, double fvalue, int64_t ivalue) {
    check_fill_args(out);
    const int64_t n = out.numel();
    if (n == 0) return;
    dispatch_all(out.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T v;
        if constexpr (is_half_type<T>::value) v = convert<T>(fvalue);  // through float, as torch
        else v = std::is_floating_point<T>::value ? T(fvalue) : T(ivalue);
        fill_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(out.ptr<T>(), n, v);
    });
    GC_LAUNCH_CHECK("fill kernel");
}

}  // namespace gc::cuda
