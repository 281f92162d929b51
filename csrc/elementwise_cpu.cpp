// CPU elementwise kernels: unary, binary with NumPy broadcasting, and dtype casts.
#include <algorithm>
#include <type_traits>
#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif
#include "half.h"
#include "indexing.h"
#include "kernels.h"
#include "parallel.h"

namespace gc::cpu {
namespace {

constexpr int64_t kMinPerThread = 1 << 16;

// Runs inner(offsets, len, inner_strides) over the whole loop, split across threads.
// A fully collapsed (1-d) loop is split into chunks; otherwise whole rows go to threads.
template <int N, class Inner>
void run(const StridedLoop<N>& loop, Inner&& inner) {
    if (loop.numel() == 0) return;  // empty tensors: nothing to do (and rows() would divide by zero)
    if (loop.ndim == 1) {
        parallel_for(loop.shape[0], kMinPerThread, [&](int64_t b, int64_t e) {
            int64_t offs[N], st[N];
            for (int k = 0; k < N; ++k) { st[k] = loop.strides[k][0]; offs[k] = b * st[k]; }
            inner(offs, e - b, st);
        });
    } else {
        int64_t per_row = loop.shape[loop.ndim - 1];
        parallel_for(loop.rows(), std::max<int64_t>(1, kMinPerThread / per_row),
                     [&](int64_t b, int64_t e) { loop.for_each_row(b, e, inner); });
    }
}

template <class Op, class T>
void unary_typed(const ArrayView& x, const ArrayView& out) {
    const ArrayView* ins[] = {&x};
    auto loop = make_loop<2>(out, ins);
    T* o = out.ptr<T>();
    const T* xi = x.ptr<T>();
    Op op;
    run(loop, [&](const int64_t* off, int64_t n, const int64_t* st) {
        T* po = o + off[0];
        const T* px = xi + off[1];
        if (st[0] == 1 && st[1] == 1) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) po[i] = op(px[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) po[i * st[0]] = op(px[i * st[1]]);
        }
    });
}

// Binary math functors with a vector path (functors.h GC_VEC_PATH: fmod, remainder, floor_divide on floats).
template <class Op, class T, class = void> struct HasVecPath : std::false_type {};
template <class Op, class T>
struct HasVecPath<Op, T, std::void_t<decltype(Op::template vec_ok<T>(T(), T()))>> : std::true_type {};

// n elements of op(a(i), b(i)) for a functor with a vector path, in blocks: a block whose elements all pass
// vec_ok (checked first, so in-place outputs never overwrite an input still needed) runs vectorised
// through vec, any other block element by element through operator() (zero divisors, inf, NaN, huge
// quotients).
template <class Op, class T, class A, class B>
void vec_path_run(Op op, T* po, int64_t n, A a, B b) {
    constexpr int64_t kBlock = 256;
    for (int64_t s = 0; s < n; s += kBlock) {
        const int64_t e = std::min(n, s + kBlock);
        int ok = 1;  // `&` and an int: `&&` is control flow, which stops the vectoriser
#pragma omp simd reduction(& : ok)
        for (int64_t i = s; i < e; ++i) ok &= int(Op::vec_ok(a(i), b(i)));
        if (ok) {
#pragma omp simd
            for (int64_t i = s; i < e; ++i) po[i] = Op::vec(a(i), b(i));
        } else {
            for (int64_t i = s; i < e; ++i) po[i] = op(a(i), b(i));
        }
    }
}

template <class Op, class T>
void binary_typed(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    const ArrayView* ins[] = {&a, &b};
    auto loop = make_loop<3>(out, ins);
    T* o = out.ptr<T>();
    const T* pa0 = a.ptr<T>();
    const T* pb0 = b.ptr<T>();
    Op op;
    run(loop, [&](const int64_t* off, int64_t n, const int64_t* st) {
        T* po = o + off[0];
        const T* pa = pa0 + off[1];
        const T* pb = pb0 + off[2];
        if constexpr (HasVecPath<Op, T>::value) {
            if (st[0] == 1 && (st[1] == 1 || st[1] == 0) && (st[2] == 1 || st[2] == 0)) {
                const T sa = *pa, sb = *pb;  // the broadcast operand, when one is
                const auto va = [=](int64_t i) { return pa[i]; };
                const auto vb = [=](int64_t i) { return pb[i]; };
                const auto ca = [=](int64_t) { return sa; };
                const auto cb = [=](int64_t) { return sb; };
                if (st[1] == 1 && st[2] == 1) vec_path_run(op, po, n, va, vb);
                else if (st[1] == 1) vec_path_run(op, po, n, va, cb);
                else if (st[2] == 1) vec_path_run(op, po, n, ca, vb);
                else vec_path_run(op, po, n, ca, cb);
                return;
            }
        }
        if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[i]);
        } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {  // tensor op scalar / row broadcast
            const T s = *pb;
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], s);
        } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
            const T s = *pa;
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) po[i] = op(s, pb[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) po[i * st[0]] = op(pa[i * st[1]], pb[i * st[2]]);
        }
    });
}

// A comparison of two T operands into a bool output.
template <class Op, class T>
void compare_typed(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    const ArrayView* ins[] = {&a, &b};
    auto loop = make_loop<3>(out, ins);
    bool* o = out.ptr<bool>();
    const T* pa0 = a.ptr<T>();
    const T* pb0 = b.ptr<T>();
    Op op;
    run(loop, [&](const int64_t* off, int64_t n, const int64_t* st) {
        bool* po = o + off[0];
        const T* pa = pa0 + off[1];
        const T* pb = pb0 + off[2];
        if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
            for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[i]) != T(0);
        } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {  // tensor vs scalar
            const T s = *pb;
            for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], s) != T(0);
        } else {
            for (int64_t i = 0; i < n; ++i) po[i * st[0]] = op(pa[i * st[1]], pb[i * st[2]]) != T(0);
        }
    });
}

// A contiguous run of conversions; float <-> float16 8 at a time with F16C (the same rounding as the scalar
// instruction half.h uses, so results do not depend on where a run starts).
template <class Out, class In>
void convert_run(const In* px, Out* po, int64_t n) {
    int64_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
    if constexpr (std::is_same<In, float>::value && std::is_same<Out, Half>::value) {
        for (; i + 8 <= n; i += 8)
            _mm_storeu_si128(reinterpret_cast<__m128i*>(po + i),
                             _mm256_cvtps_ph(_mm256_loadu_ps(px + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    } else if constexpr (std::is_same<In, Half>::value && std::is_same<Out, float>::value) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(po + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(px + i))));
    }
#endif
    for (; i < n; ++i) po[i] = convert<Out>(px[i]);
}

}  // namespace

#include "elementwise_entry.inc"

void cast(const ArrayView& x, const ArrayView& out) {
    const ArrayView* ins[] = {&x};
    auto loop = make_loop<2>(out, ins);
    dispatch_all(x.dtype, [&](auto* in_tag) {
        using In = std::remove_pointer_t<decltype(in_tag)>;
        dispatch_all(out.dtype, [&](auto* out_tag) {
            using Out = std::remove_pointer_t<decltype(out_tag)>;
            const In* xi = x.ptr<In>();
            Out* o = out.ptr<Out>();
            run(loop, [&](const int64_t* off, int64_t n, const int64_t* st) {
                if (st[0] == 1 && st[1] == 1) {  // contiguous rows: vectorized
                    convert_run<Out>(xi + off[1], o + off[0], n);
                    return;
                }
                for (int64_t i = 0; i < n; ++i) o[off[0] + i * st[0]] = convert<Out>(xi[off[1] + i * st[1]]);
            });
        });
    });
}

}  // namespace gc::cpu
