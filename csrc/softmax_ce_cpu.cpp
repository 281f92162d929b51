// CPU fused softmax-cross-entropy: the loss (per row, mean or sum; rows targeting ignore_index left out)
// and its gradient w.r.t. the logits in one call.
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>
#include "kernels.h"
#include "parallel.h"

namespace gc::cpu {
namespace {

// Raises at once (the CPU has no reason to defer) naming the first bad target; returns the count of
// rows that are not ignored, the mean's divisor.
template <class Idx>
int64_t check_targets(const Idx* t, int64_t n, int64_t classes, int64_t ignore_index) {
    int64_t kept = 0;
    for (int64_t r = 0; r < n; ++r) {
        if (int64_t(t[r]) == ignore_index) continue;
        if (t[r] < 0 || t[r] >= classes)
            throw std::out_of_range("gradcore: cross_entropy target " + std::to_string(int64_t(t[r])) +
                                    " at row " + std::to_string(r) + " is out of range [0, " +
                                    std::to_string(classes) + ")");
        ++kept;
    }
    return kept;
}

template <class T, class Idx>
void softmax_ce_typed(const ArrayView& logits, const Idx* targets, T* loss, T* dlogits, int64_t ignore_index,
                      int reduction, int64_t kept) {
    const int64_t n = logits.shape[0], c = logits.shape[1];
    const T* x = logits.ptr<T>();
    // d(loss)/d(row loss): 1/kept for the mean (no row uses it when kept is 0), 1 otherwise.
    const T inv_n = reduction == kCeMean && kept > 0 ? T(1) / T(kept) : T(1);
    std::vector<double> row_loss(n);
    parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(c, 1)), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const T* xr = x + r * c;
            T* dr = dlogits + r * c;
            if (int64_t(targets[r]) == ignore_index) {  // no loss, no gradient
                for (int64_t j = 0; j < c; ++j) dr[j] = T(0);
                row_loss[r] = 0.0;
                continue;
            }
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
    if (reduction == kCeNone) {
        for (int64_t r = 0; r < n; ++r) loss[r] = T(row_loss[r]);
        return;
    }
    double total = 0.0;
    for (double v : row_loss) total += v;
    // The mean of no rows is 0/0 = nan, as torch.
    *loss = T(reduction == kCeMean ? total / double(kept) : total);
}

}  // namespace

void softmax_ce(const ArrayView& logits, const ArrayView& targets, const ArrayView& loss,
                const ArrayView& dlogits, int64_t ignore_index, int reduction) {
    check_softmax_ce_args(logits, targets, loss, dlogits, reduction);
    dispatch_float(logits.dtype, "cross_entropy", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto go = [&](auto* idx) {
            const int64_t kept = check_targets(idx, logits.shape[0], logits.shape[1], ignore_index);
            softmax_ce_typed<T>(logits, idx, loss.ptr<T>(), dlogits.ptr<T>(), ignore_index, reduction, kept);
        };
        if (targets.dtype == DType::Int64) go(targets.ptr<int64_t>());
        else go(targets.ptr<int32_t>());
    });
}

}  // namespace gc::cpu
