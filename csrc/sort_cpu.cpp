// CPU sort / top-k along the last axis: rows in parallel, each a std::sort (or partial_sort for k < n) of
// (value, index) pairs under sort.h's total, stable order.
#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>
#include "kernels.h"
#include "parallel.h"
#include "sort.h"

namespace gc::cpu {

void sort_lastdim(const ArrayView& x, const ArrayView& values, const ArrayView& indices, bool descending) {
    check_sort_args(x, values, indices);
    if (values.numel() == 0) return;
    const int64_t n = x.shape[x.ndim - 1];
    const int64_t k = values.shape[x.ndim - 1];
    const int64_t rows = x.numel() / n;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T* px = x.ptr<T>();
        T* pv = values.ptr<T>();
        int64_t* pi = indices.ptr<int64_t>();
        parallel_for(rows, std::max<int64_t>(1, 16384 / n), [&](int64_t b, int64_t e) {
            std::vector<std::pair<T, int64_t>> row(static_cast<size_t>(n));
            auto before = [descending](const std::pair<T, int64_t>& p, const std::pair<T, int64_t>& q) {
                return sort_before(p.first, p.second, q.first, q.second, descending);
            };
            for (int64_t r = b; r < e; ++r) {
                const T* xr = px + r * n;
                for (int64_t j = 0; j < n; ++j) row[j] = {xr[j], j};
                if (k < n) std::partial_sort(row.begin(), row.begin() + k, row.end(), before);
                else std::sort(row.begin(), row.end(), before);  // the index tie-break makes it stable
                for (int64_t j = 0; j < k; ++j) {
                    pv[r * k + j] = row[j].first;
                    pi[r * k + j] = row[j].second;
                }
            }
        });
    });
}

void cumprod_lastdim(const ArrayView& x, const ArrayView& out) {
    check_sum_dtypes(x, out, "cumprod");
    if (x.numel() == 0 && out.numel() == 0) return;
    check_lastdim_args(x, out, "cumprod");
    GC_CHECK(out.numel() == x.numel(), "cumprod: output size differs from the input's");
    const int64_t c = x.shape[x.ndim - 1];
    if (c == 0) return;
    const int64_t rows = x.numel() / c;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        using A = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
        dispatch_any(out.dtype, [&](auto* otag) {
            using O = std::remove_pointer_t<decltype(otag)>;
            const T* px = x.ptr<T>();
            O* po = out.ptr<O>();
            parallel_for(rows, std::max<int64_t>(1, 65536 / c), [&](int64_t b, int64_t e) {
                for (int64_t r = b; r < e; ++r) {
                    A acc = 1;
                    for (int64_t j = 0; j < c; ++j) {
                        acc *= A(px[r * c + j]);
                        po[r * c + j] = O(acc);
                    }
                }
            });
        });
    });
}

}  // namespace gc::cpu
