// CPU random kernels: the dropout mask from counter-based Philox4x32-10 (the CUDA twin is random_cuda.cu).
#include <type_traits>
#include "kernels.h"
#include "parallel.h"
#include "philox.h"

namespace gc::cpu {

void dropout_mask(const ArrayView& out, double p, uint64_t seed, uint64_t offset) {
    check_dropout_args(out, p);
    const double scale = dropout_scale(p);
    dispatch_float(out.dtype, "dropout_mask", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T* o = out.ptr<T>();
        const T kept = T(scale);
        parallel_for(out.numel(), 1 << 14, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) o[i] = dropout_keep(uint64_t(i), offset, seed, p) ? kept : T(0);
        });
    });
}

}  // namespace gc::cpu
