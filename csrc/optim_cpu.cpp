// CPU fused optimizer steps: one call updates every parameter tensor in place.
#include <cmath>
#include <type_traits>
#include "kernels.h"
#include "parallel.h"

namespace gc::cpu {

void adam_step(const OptimLists& t, double lr, double beta1, double beta2, double eps, double weight_decay,
               int64_t step, bool decoupled) {
    check_optim_lists(t, true);
    GC_CHECK(step >= 1, "adam: step count must be >= 1");
    const double bc1 = 1.0 - std::pow(beta1, double(step));
    const double bc2 = 1.0 - std::pow(beta2, double(step));
    for (size_t i = 0; i < t.params.size(); ++i) {
        dispatch_float(t.params[i].dtype, "adam", [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            T* p = t.params[i].ptr<T>();
            const T* g = t.grads[i].ptr<T>();
            T* m = t.bufs1[i].ptr<T>();
            T* v = t.bufs2[i].ptr<T>();
            parallel_for(t.params[i].numel(), 1 << 15, [&](int64_t b, int64_t e) {
#pragma omp simd
                for (int64_t j = b; j < e; ++j)
                    adam_update<T>(p[j], g[j], m[j], v[j], T(lr), T(beta1), T(beta2), T(eps), T(weight_decay),
                                   T(bc1), T(bc2), decoupled);
            });
        });
    }
}

void sgd_step(const OptimLists& t, double lr, double momentum, double weight_decay, double dampening,
              bool nesterov, bool first) {
    check_optim_lists(t, false);
    for (size_t i = 0; i < t.params.size(); ++i) {
        dispatch_float(t.params[i].dtype, "sgd", [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            T* p = t.params[i].ptr<T>();
            const T* g = t.grads[i].ptr<T>();
            T* buf = t.bufs1[i].ptr<T>();
            parallel_for(t.params[i].numel(), 1 << 15, [&](int64_t b, int64_t e) {
#pragma omp simd
                for (int64_t j = b; j < e; ++j)
                    sgd_update<T>(p[j], g[j], buf[j], T(lr), T(momentum), T(dampening), T(weight_decay), nesterov,
                                  first);
            });
        });
    }
}

}  // namespace gc::cpu
