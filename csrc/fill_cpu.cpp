// CPU fill: every element of a contiguous array set to one scalar (the CUDA twin is fill_cuda.cu).
#include <type_traits>
#include "half.h"
#include "kernels.h"
#include "parallel.h"

namespace gc::cpu {

void fill(const ArrayView& out, double fvalue, int64_t ivalue) {
    check_fill_args(out);
    dispatch_all(out.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T v;
        if constexpr (is_half_type<T>::value) v = convert<T>(fvalue);  // through float, as torch
        else v = std::is_floating_point<T>::value ? T(fvalue) : T(ivalue);
        T* o = out.ptr<T>();
        parallel_for(out.numel(), 1 << 16, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) o[i] = v;
        });
    });
}

}  // namespace gc::cpu
