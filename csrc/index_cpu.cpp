// CPU gather and scatter (set or add) along one dim, the kernels behind gather, scatter_add,
// index_select, advanced indexing and index_put.
#include <algorithm>
#include <type_traits>
#include "index_common.h"
#include "indexing.h"
#include "kernels.h"
#include "parallel.h"

namespace gc::cpu {
namespace {

// Bad index values raise IndexError before any element is written.
void check_index_values(const IndexGeom& g, const ArrayView& index, const char* op) {
    // Only the index's own elements: broadcast (stride-0) dims are visited once.
    IndexGeom own = g;
    for (int d = 0; d < own.ndim; ++d)
        if (own.si[d] == 0) own.shape[d] = std::min<int64_t>(own.shape[d], 1);
    const int64_t* idx = index.ptr<int64_t>();
    const int64_t n = own.numel();
    for (int64_t i = 0; i < n; ++i) {
        int64_t v = idx[own.index_offset(i)];
        if (v < 0 || v >= g.dim_size)
            throw std::out_of_range(std::string("gradcore: ") + op + ": index " + std::to_string(v) +
                                    " is out of bounds for dim " + std::to_string(g.dim) + " of size " +
                                    std::to_string(g.dim_size));
    }
}

// Calls body(off_a, off_i, off_b_without_dim, j_stride_b) for rows [rb, re) of the index's last dim:
// one unravel per row, then the inner loop walks the row with constant strides (no divisions).
template <class Body>
void for_each_index_row(const IndexGeom& g, int64_t rb, int64_t re, Body&& body) {
    const int last = g.ndim - 1;
    const int64_t inner = g.shape[last];
    for (int64_t r = rb; r < re; ++r) {
        int64_t rest = r, oa = 0, oi = 0, ob = 0;
        for (int d = last - 1; d >= 0; --d) {
            int64_t c = rest % g.shape[d];
            rest /= g.shape[d];
            oa += c * g.sa[d];
            oi += c * g.si[d];
            if (d != g.dim) ob += c * g.sb[d];
        }
        body(oa, oi, ob, inner);
    }
}

}  // namespace

void gather(const ArrayView& x, int64_t dim, const ArrayView& index, const ArrayView& out) {
    GC_CHECK(out.ndim == index.ndim, "gather: output must have the index's shape");
    for (int d = 0; d < out.ndim; ++d) GC_CHECK(out.shape[d] == index.shape[d], "gather: output must have the index's shape");
    IndexGeom g = make_index_geom(out, index, x, dim, "gather");
    check_index_values(g, index, "gather");
    const int64_t* idx = index.ptr<int64_t>();
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T* o = out.ptr<T>();
        const T* xi = x.ptr<T>();
        if (g.ndim == 0) {
            o[0] = xi[0];
            return;
        }
        const int last = g.ndim - 1;
        const int64_t inner = g.shape[last], rows = inner ? g.numel() / inner : 0;
        const int64_t sa = g.sa[last], si = g.si[last], sb_dim = g.sb[g.dim];
        const int64_t sb_j = last == g.dim ? 0 : g.sb[last];
        parallel_for(rows, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
            for_each_index_row(g, b, e, [&](int64_t oa, int64_t oi, int64_t ob, int64_t n) {
                if (si == 0 && sa == 1 && sb_j == 1) {  // one index per row (index_select, embedding): a row copy
                    const T* src = xi + ob + idx[oi] * sb_dim;
                    std::copy(src, src + n, o + oa);
                } else {
                    for (int64_t j = 0; j < n; ++j) o[oa + j * sa] = xi[ob + j * sb_j + idx[oi + j * si] * sb_dim];
                }
            });
        });
    });
}

void scatter(const ArrayView& src, int64_t dim, const ArrayView& index, const ArrayView& out, bool accumulate) {
    for (int d = 0; d < src.ndim && d < index.ndim; ++d)
        GC_CHECK(src.shape[d] >= index.shape[d], "scatter: src is smaller than the index");
    IndexGeom g = make_index_geom(src, index, out, dim, "scatter");
    check_index_values(g, index, "scatter");
    const int64_t* idx = index.ptr<int64_t>();
    dispatch_any(src.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T* o = out.ptr<T>();
        const T* s = src.ptr<T>();
        if (g.ndim == 0) {
            o[0] = accumulate ? T(o[0] + s[0]) : s[0];
            return;
        }
        const int last = g.ndim - 1;
        const int64_t inner = g.shape[last], rows = inner ? g.numel() / inner : 0;
        const int64_t sa = g.sa[last], si = g.si[last], sb_dim = g.sb[g.dim];
        const int64_t sb_j = last == g.dim ? 0 : g.sb[last];
        // One thread: several elements may land on one output element.
        for_each_index_row(g, 0, rows, [&](int64_t oa, int64_t oi, int64_t ob, int64_t n) {
            for (int64_t j = 0; j < n; ++j) {
                T& dst = o[ob + j * sb_j + idx[oi + j * si] * sb_dim];
                if (!accumulate) dst = s[oa + j * sa];
                else if constexpr (std::is_same_v<T, bool>) dst = dst || s[oa + j * sa];
                else dst += s[oa + j * sa];
            }
        });
    });
}

void where(const ArrayView& cond, const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    check_where_args(cond, a, b, out);
    if (out.numel() == 0) return;
    const ArrayView* ins[] = {&cond, &a, &b};
    auto loop = make_loop<4>(out, ins);
    const bool* c = cond.ptr<bool>();
    dispatch_any(out.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T* o = out.ptr<T>();
        const T* pa = a.ptr<T>();
        const T* pb = b.ptr<T>();
        int64_t per_row = loop.shape[loop.ndim - 1];
        parallel_for(loop.rows(), std::max<int64_t>(1, (1 << 16) / per_row), [&](int64_t rb, int64_t re) {
            loop.for_each_row(rb, re, [&](const int64_t* off, int64_t n, const int64_t* st) {
                for (int64_t i = 0; i < n; ++i)
                    o[off[0] + i * st[0]] = c[off[1] + i * st[1]] ? pa[off[2] + i * st[2]] : pb[off[3] + i * st[3]];
            });
        });
    });
}

}  // namespace gc::cpu
