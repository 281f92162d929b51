// CPU reductions: sum (wide accumulators), max, min, prod over any axes (keepdims-shaped output);
// argmax/argmin and cumsum along the last axis.
#include <algorithm>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>
#include "indexing.h"
#include "kernels.h"
#include "parallel.h"

namespace gc::cpu {
namespace {

// Sums accumulate in double for both float types (float32 would stall at 2**24) and in int64 for ints.
template <class T>
using AccOf = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// Iteration over x's shape with two operands: 0 = x, 1 = out broadcast (stride 0 on reduced axes).
// Dims are ordered by |x stride| so the innermost loop walks x's memory in order (reversed views too);
// broadcast (stride-0) dims go outermost, so rows stay long and vectorized.
StridedLoop<2> reduction_loop(const ArrayView& x, const ArrayView& out) {
    GC_CHECK(out.ndim == x.ndim, "reduction output must keep the input's rank");
    int64_t ostr[kMaxDims];
    broadcast_strides(out, x, ostr);
    int perm[kMaxDims];
    std::iota(perm, perm + x.ndim, 0);
    auto mag = [](int64_t s) { return s == 0 ? std::numeric_limits<int64_t>::max() : s < 0 ? -s : s; };
    std::stable_sort(perm, perm + x.ndim,
                     [&](int p, int q) { return mag(x.strides[p]) > mag(x.strides[q]); });
    StridedLoop<2> loop;
    loop.ndim = x.ndim;
    for (int d = 0; d < x.ndim; ++d) {
        loop.shape[d] = x.shape[perm[d]];
        loop.strides[0][d] = x.strides[perm[d]];
        loop.strides[1][d] = ostr[perm[d]];
    }
    loop.collapse();
    return loop;
}

// Sum of n elements at stride s in A. 16 independent lanes vectorize without reassociation flags;
// each block of 4096 is folded pairwise and added to a compensated (Kahan) total, so the error stays
// near one rounding per block however long the row is.
template <class T, class A>
A row_sum(const T* p, int64_t n, int64_t s) {
    if (n <= 0) return A(0);
    if (s == 0) return A(p[0]) * A(n);  // an expanded (broadcast) axis
    if (s < 0) {  // a reversed view: the same elements in memory order
        p += (n - 1) * s;
        s = -s;
    }
    constexpr int L = 16;
    constexpr int64_t B = 4096;
    A total = 0, comp = 0;
    for (int64_t b0 = 0; b0 < n; b0 += B) {
        const int64_t m = std::min(B, n - b0);
        const T* q = p + b0 * s;
        A lanes[L] = {};
        int64_t i = 0;
        if (s == 1) {
            for (; i + L <= m; i += L)
                for (int l = 0; l < L; ++l) lanes[l] += A(q[i + l]);
        } else {
            for (; i + L <= m; i += L)
                for (int l = 0; l < L; ++l) lanes[l] += A(q[(i + l) * s]);
        }
        A tail = 0;
        for (; i < m; ++i) tail += A(q[i * s]);
        for (int w = L / 2; w > 0; w /= 2)
            for (int l = 0; l < w; ++l) lanes[l] += lanes[l + w];
        const A block = lanes[0] + tail;
        if constexpr (std::is_floating_point_v<A>) {
            const A y = block - comp;
            const A t = total + y;
            comp = (t - total) - y;
            total = t;
        } else {
            total += block;
        }
    }
    return total;
}

// Column sums of an (R, C) matrix with row stride S (an outer-axis reduction, e.g. a bias gradient):
// each tile of W columns is summed in W wide registers over a block of RB rows, then added to `out`;
// a thread's tiles walk one row block at a time so its rows stay in cache across tiles.
template <class T, class A>
void column_sums(const T* x, int64_t R, int64_t S, int64_t C, A* out) {
    constexpr int64_t W = 64, RB = 64;
    const int64_t tiles = (C + W - 1) / W;
    parallel_for(tiles, std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(R, 1)), [&](int64_t b, int64_t e) {
        for (int64_t r0 = 0; r0 < R; r0 += RB) {
            const int64_t r1 = std::min(R, r0 + RB);
            for (int64_t t = b; t < e; ++t) {
                const int64_t c0 = t * W;
                A acc[W] = {};
                if (c0 + W <= C) {
                    for (int64_t r = r0; r < r1; ++r) {
                        const T* p = x + r * S + c0;
                        for (int64_t j = 0; j < W; ++j) acc[j] += A(p[j]);
                    }
                    for (int64_t j = 0; j < W; ++j) out[c0 + j] += acc[j];
                } else {
                    const int64_t w = C - c0;
                    for (int64_t r = r0; r < r1; ++r) {
                        const T* p = x + r * S + c0;
                        for (int64_t j = 0; j < w; ++j) acc[j] += A(p[j]);
                    }
                    for (int64_t j = 0; j < w; ++j) out[c0 + j] += acc[j];
                }
            }
        }
    });
}

template <class T, class O>
void sum_typed(const ArrayView& x, const ArrayView& out) {
    using A = AccOf<T>;
    O* o = out.ptr<O>();
    const int64_t n_out = out.numel();
    if (n_out == 0) return;
    std::vector<A> acc(size_t(n_out), A(0));
    if (x.numel() > 0) {
        auto loop = reduction_loop(x, out);
        const T* xi = x.ptr<T>();
        if (loop.ndim == 1 && loop.strides[1][0] == 0) {
            // One long row into one output: split into fixed chunks (the same result on any thread count).
            const int64_t n = loop.shape[0], s = loop.strides[0][0];
            const int64_t chunks = std::clamp<int64_t>(n >> 18, 1, 64);
            std::vector<A> part(size_t(chunks), A(0));
            const T* base = s < 0 ? xi + (n - 1) * s : xi;
            const int64_t step = s < 0 ? -s : s;
            parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
                for (int64_t c = b; c < e; ++c) {
                    int64_t lo = n * c / chunks, hi = n * (c + 1) / chunks;
                    part[size_t(c)] = row_sum<T, A>(base + lo * step, hi - lo, step);
                }
            });
            for (A v : part) acc[0] += v;
        } else if (loop.ndim == 2 && loop.strides[1][0] == 0 && loop.strides[1][1] == 1 && loop.strides[0][1] == 1) {
            column_sums<T, A>(xi, loop.shape[0], loop.strides[0][0], loop.shape[1], acc.data());
        } else {
            A* pa = acc.data();
            loop.for_each_row(0, loop.rows(), [&](const int64_t* off, int64_t n, const int64_t* st) {
                const T* px = xi + off[0];
                A* po = pa + off[1];
                if (st[1] == 0) {
                    *po += row_sum<T, A>(px, n, st[0]);
                } else if (st[0] == 1 && st[1] == 1) {
                    // Column sums: each output element accumulates one input row in the wide type.
#pragma omp simd
                    for (int64_t i = 0; i < n; ++i) po[i] += A(px[i]);
                } else {
                    for (int64_t i = 0; i < n; ++i) po[i * st[1]] += A(px[i * st[0]]);
                }
            });
        }
    }
    for (int64_t i = 0; i < n_out; ++i) o[i] = O(acc[size_t(i)]);
}

template <class Acc, class T>
void reduce_typed(const ArrayView& x, const ArrayView& out) {
    T* o = out.ptr<T>();
    const int64_t n_out = out.numel();
    std::fill(o, o + n_out, Acc::template init<T>());
    if (x.numel() == 0) return;
    auto loop = reduction_loop(x, out);
    const T* xi = x.ptr<T>();
    // Rows may share an output element, so these reductions stay on one thread (they are memory-bound).
    loop.for_each_row(0, loop.rows(), [&](const int64_t* off, int64_t n, const int64_t* st) {
        const T* px = xi + off[0];
        T* po = o + off[1];
        if (st[1] == 0) {
            int64_t s = st[0];
            if (s < 0) {
                px += (n - 1) * s;
                s = -s;
            }
            // 16 independent lanes let the compiler vectorize without reassociation flags.
            constexpr int L = 16;
            T lanes[L];
            for (int l = 0; l < L; ++l) lanes[l] = Acc::template init<T>();
            int64_t i = 0;
            if (s == 1) {
                for (; i + L <= n; i += L)
                    for (int l = 0; l < L; ++l) lanes[l] = Acc::combine(lanes[l], px[i + l]);
            }
            T acc = *po;
            for (int l = 0; l < L; ++l) acc = Acc::combine(acc, lanes[l]);
            for (; i < n; ++i) acc = Acc::combine(acc, px[i * s]);
            *po = acc;
        } else if (st[0] == 1 && st[1] == 1) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) po[i] = Acc::combine(po[i], px[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) po[i * st[1]] = Acc::combine(po[i * st[1]], px[i * st[0]]);
        }
    });
}

// Index of the largest (Max) or smallest value per row; the first NaN wins, then the first of ties.
template <bool Max, class T>
int64_t arg_extreme(const T* row, int64_t c) {
    T best = row[0];
    int64_t idx = 0;
    if (best != best) return 0;
    for (int64_t j = 1; j < c; ++j) {
        const T v = row[j];
        if (v != v) return j;
        if (Max ? v > best : v < best) {
            best = v;
            idx = j;
        }
    }
    return idx;
}

template <bool Max>
void arg_lastdim(const ArrayView& x, const ArrayView& out, const char* op) {
    if (out.numel() == 0 && x.ndim >= 1 && x.shape[x.ndim - 1] > 0) return;
    check_lastdim_args(x, out, op);
    GC_CHECK(out.dtype == DType::Int64, std::string(op) + ": output must be int64");
    const int64_t c = x.shape[x.ndim - 1];
    GC_CHECK(c > 0, std::string(op) + ": cannot reduce an empty axis");
    const int64_t rows = x.numel() / c;
    int64_t* o = out.ptr<int64_t>();
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T* px = x.ptr<T>();
        parallel_for(rows, std::max<int64_t>(1, 65536 / c), [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) o[r] = arg_extreme<Max>(px + r * c, c);
        });
    });
}

}  // namespace

void reduce_sum(const ArrayView& x, const ArrayView& out) {
    check_sum_dtypes(x, out, "sum");
    if (out.numel() == 0) return;  // zero-size arrays may carry any strides
    GC_CHECK(out.is_contiguous(), "sum: output must be contiguous");
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        dispatch_any(out.dtype, [&](auto* otag) { sum_typed<T, std::remove_pointer_t<decltype(otag)>>(x, out); });
    });
}

void reduce_max(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "max");
    if (out.numel() == 0) return;
    GC_CHECK(out.is_contiguous(), "max: output must be contiguous");
    GC_CHECK(x.numel() > 0, "max: cannot reduce an empty tensor");
    dispatch_any(x.dtype, [&](auto* tag) { reduce_typed<MaxReduce, std::remove_pointer_t<decltype(tag)>>(x, out); });
}

void reduce_min(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "min");
    if (out.numel() == 0) return;
    GC_CHECK(out.is_contiguous(), "min: output must be contiguous");
    GC_CHECK(x.numel() > 0, "min: cannot reduce an empty tensor");
    dispatch_any(x.dtype, [&](auto* tag) { reduce_typed<MinReduce, std::remove_pointer_t<decltype(tag)>>(x, out); });
}

void reduce_prod(const ArrayView& x, const ArrayView& out) {
    check_same_dtype(x, out, "prod");
    if (out.numel() == 0) return;
    GC_CHECK(out.is_contiguous(), "prod: output must be contiguous");
    dispatch_any(x.dtype, [&](auto* tag) { reduce_typed<ProdReduce, std::remove_pointer_t<decltype(tag)>>(x, out); });
}

void argmax_lastdim(const ArrayView& x, const ArrayView& out) { arg_lastdim<true>(x, out, "argmax"); }

void argmin_lastdim(const ArrayView& x, const ArrayView& out) { arg_lastdim<false>(x, out, "argmin"); }

void cumsum_lastdim(const ArrayView& x, const ArrayView& out) {
    check_sum_dtypes(x, out, "cumsum");
    if (x.numel() == 0 && out.numel() == 0) return;
    check_lastdim_args(x, out, "cumsum");
    GC_CHECK(out.numel() == x.numel(), "cumsum: output size differs from the input's");
    const int64_t c = x.shape[x.ndim - 1];
    if (c == 0) return;
    const int64_t rows = x.numel() / c;
    dispatch_any(x.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        using A = AccOf<T>;
        dispatch_any(out.dtype, [&](auto* otag) {
            using O = std::remove_pointer_t<decltype(otag)>;
            const T* px = x.ptr<T>();
            O* po = out.ptr<O>();
            parallel_for(rows, std::max<int64_t>(1, 65536 / c), [&](int64_t b, int64_t e) {
                for (int64_t r = b; r < e; ++r) {
                    A acc = 0;  // wide running sum, so long float32 prefixes do not stall
                    for (int64_t j = 0; j < c; ++j) {
                        acc += A(px[r * c + j]);
                        po[r * c + j] = O(acc);
                    }
                }
            });
        });
    });
}

}  // namespace gc::cpu
