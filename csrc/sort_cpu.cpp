// CPU sort / top-k along the last axis: rows in parallel, each a std::sort (or partial_sort for k < n) of
// (value, index) pairs under sort.h's total, stable order.
#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>
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

}  // namespace gc::cpu
