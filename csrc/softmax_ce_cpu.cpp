// CPU fused softmax-cross-entropy: mean loss and its gradient w.r.t. the logits in one call.
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>
#include "kernels.h"
#include "parallel.h"

namespace gc::cpu {
namespace {

template <class Idx>
void check_targets(const Idx* t, int64_t n, int64_t classes) {
    for (int64_t r = 0; r < n; ++r)
        if (t[r] < 0 || t[r] >= classes)
            throw std::out_of_range("gradcore: cross_entropy target " + std::to_string(int64_t(t[r])) +
                                    " at row " + std::to_string(r) + " is out of range [0, " +
                                    std::to_string(classes) + ")");
}

template <class T, class Idx>
void softmax_ce_typed(const ArrayView& logits, const Idx* targets, T* loss, T* dlogits) {
    const int64_t n = logits.shape[0], c = logits.shape[1];
    const T* x = logits.ptr<T>();
    const T inv_n = T(1) / T(n);
    std::vector<double> row_loss(n);
    parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(c, 1)), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const T* xr = x + r * c;
            T* dr = dlogits + r * c;
            // Three vectorized passes over a row that stays in L2: max, exp and sum (exp kept in
            // dlogits), then scale. The first is the only read of the logits from memory.
            T m = -INFINITY;
#pragma omp simd reduction(max : m)
            for (int64_t j = 0; j < c; ++j) m = xr[j] > m ? xr[j] : m;
            T s = T(0);
#pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < c; ++j) {
                dr[j] = exp_any(xr[j] - m);
                s += dr[j];
            }
            const T lse = m + std::log(s);
            const T scale = inv_n / s;
#pragma omp simd
            for (int64_t j = 0; j < c; ++j) dr[j] *= scale;
            const Idx t = targets[r];
            dr[t] -= inv_n;
            row_loss[r] = double(lse) - double(xr[t]);
        }
    });
    double total = 0.0;
    for (double v : row_loss) total += v;
    *loss = T(total / double(n));
}

}  // namespace

void softmax_ce(const ArrayView& logits, const ArrayView& targets, const ArrayView& loss,
                const ArrayView& dlogits) {
    check_softmax_ce_args(logits, targets, loss, dlogits);
    dispatch_float(logits.dtype, "cross_entropy", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto go = [&](auto* idx) {
            check_targets(idx, logits.shape[0], logits.shape[1]);
            softmax_ce_typed<T>(logits, idx, loss.ptr<T>(), dlogits.ptr<T>());
        };
        if (targets.dtype == DType::Int64) go(targets.ptr<int64_t>());
        else go(targets.ptr<int32_t>());
    });
}

}  // namespace gc::cpu
