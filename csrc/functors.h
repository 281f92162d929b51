// Every elementwise body written once, shared by the CPU and CUDA kernels.
#pragma once
#include <cmath>
#include <limits>
#include <type_traits>
#include "common.h"
#ifndef __CUDACC__
#include "fastmath.h"
#include "simd_math.h"
#endif

namespace gc {

// X-macro lists: the bindings, the CPU and the CUDA files all expand the same tables.
#define GC_UNARY_OPS(X) X(neg, Neg) X(exp, Exp) X(log, Log) X(relu, Relu) X(sigmoid, Sigmoid) \
    X(tanh, Tanh) X(sqrt, Sqrt) X(abs, Abs) X(sign, Sign) X(copy, Copy) \
    X(erf, Erf) GC_MATH_UNARY_OPS(X)
// The torch math set (ops_math.py): one line each here, so CPU, CUDA, half and bindings all get them.
#define GC_MATH_UNARY_OPS(X) X(sin, Sin) X(cos, Cos) X(tan, Tan) X(asin, Asin) X(acos, Acos) X(atan, Atan) \
    X(sinh, Sinh) X(cosh, Cosh) X(asinh, Asinh) X(acosh, Acosh) X(atanh, Atanh) X(floor, Floor) X(ceil, Ceil) \
    X(round, Round) X(trunc, Trunc) X(log1p, Log1p) X(expm1, Expm1) X(log2, Log2) X(log10, Log10) \
    X(exp2, Exp2) X(rsqrt, Rsqrt) X(reciprocal, Reciprocal) X(signbit, Signbit) X(frac, Frac)
#define GC_MATH_BINARY_OPS(X) X(atan2, Atan2) X(hypot, Hypot) X(fmod, Fmod) X(remainder, Remainder) \
    X(floor_divide, FloorDivide) X(copysign, Copysign)
#define GC_BINARY_OPS(X) X(add, Add) X(sub, Sub) X(mul, Mul) X(div, Div) X(pow, Pow) \
    X(maximum, Maximum) X(minimum, Minimum) X(eq, Eq) X(ne, Ne) X(gt, Gt) X(ge, Ge) X(lt, Lt) \
    X(le, Le) X(relu_grad, ReluGrad) GC_MATH_BINARY_OPS(X)

// Bitwise ops on integers, logical ops on bool (float tensors are refused by dispatch_for_op).
#define GC_BITWISE_BINARY_OPS(X) X(bitwise_and, BitAnd) X(bitwise_or, BitOr) X(bitwise_xor, BitXor)
#define GC_BITWISE_UNARY_OPS(X) X(bitwise_not, BitNot)
// Comparisons write bool outputs (kernels "compare_eq", ...), as torch's comparisons return bool.
#define GC_COMPARE_OPS(X) X(eq, Eq) X(ne, Ne) X(gt, Gt) X(ge, Ge) X(lt, Lt) X(le, Le)

struct Neg { template <class T> GC_HD T operator()(T x) const { return -x; } };
// exp for every kernel: the vectorizable polynomial for float32 on the CPU, the library elsewhere.
template <class T>
GC_HD T exp_any(T x) {
#ifndef __CUDACC__
    if constexpr (std::is_same_v<T, float>) return exp_f32(x);
#endif
    return std::exp(x);
}

struct Exp { template <class T> GC_HD T operator()(T x) const { return exp_any(x); } };
struct Log { template <class T> GC_HD T operator()(T x) const { return std::log(x); } };
struct Relu { template <class T> GC_HD T operator()(T x) const { return x > T(0) ? x : T(0); } };
struct Sigmoid {
    // Never overflows exp and has no branch: e = exp(-|x|) <= 1, then pick s or 1 - s by sign.
    template <class T> GC_HD T operator()(T x) const {
        T e = exp_any(x < T(0) ? x : -x);
        T s = T(1) / (T(1) + e);
        return x >= T(0) ? s : e * s;
    }
};
struct Tanh {
    template <class T> GC_HD T operator()(T x) const {
#ifndef __CUDACC__
        if constexpr (std::is_same_v<T, float>) return tanh_f32(x);
#endif
        return std::tanh(x);
    }
};
struct Sqrt { template <class T> GC_HD T operator()(T x) const { return std::sqrt(x); } };
struct Abs { template <class T> GC_HD T operator()(T x) const { return x < T(0) ? -x : x; } };
struct Sign { template <class T> GC_HD T operator()(T x) const { return T((x > T(0)) - (x < T(0))); } };
struct Copy { template <class T> GC_HD T operator()(T x) const { return x; } };
// The Gauss error function, for the exact GELU.
struct Erf {
    template <class T> GC_HD T operator()(T x) const {
#ifndef __CUDACC__
        if constexpr (std::is_floating_point_v<T>) return ::gc::vm::erf(x);
#endif
        return T(std::erf(x));
    }
};

struct Add { template <class T> GC_HD T operator()(T a, T b) const { return a + b; } };
struct Sub { template <class T> GC_HD T operator()(T a, T b) const { return a - b; } };
struct Mul { template <class T> GC_HD T operator()(T a, T b) const { return a * b; } };
struct Div { template <class T> GC_HD T operator()(T a, T b) const { return a / b; } };
struct Pow { template <class T> GC_HD T operator()(T a, T b) const { return T(std::pow(a, b)); } };
// NaN in either operand propagates, as in NumPy's maximum/minimum.
struct Maximum { template <class T> GC_HD T operator()(T a, T b) const { return (a > b || a != a) ? a : b; } };
struct Minimum { template <class T> GC_HD T operator()(T a, T b) const { return (a < b || a != a) ? a : b; } };
struct Eq { template <class T> GC_HD T operator()(T a, T b) const { return T(a == b); } };
struct Ne { template <class T> GC_HD T operator()(T a, T b) const { return T(a != b); } };
struct Gt { template <class T> GC_HD T operator()(T a, T b) const { return T(a > b); } };
struct Ge { template <class T> GC_HD T operator()(T a, T b) const { return T(a >= b); } };
struct Lt { template <class T> GC_HD T operator()(T a, T b) const { return T(a < b); } };
struct Le { template <class T> GC_HD T operator()(T a, T b) const { return T(a <= b); } };
struct BitAnd {
    template <class T> GC_HD T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) return T(a & b); else return T(0);
    }
};
struct BitOr {
    template <class T> GC_HD T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) return T(a | b); else return T(0);
    }
};
struct BitXor {
    template <class T> GC_HD T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) return T(a ^ b); else return T(0);
    }
};
struct BitNot {
    template <class T> GC_HD T operator()(T x) const {
        if constexpr (std::is_same_v<T, bool>) return !x;
        else if constexpr (std::is_integral_v<T>) return T(~x);
        else return T(0);
    }
};
// Gradient of relu: passes g where the forward input x was positive.
struct ReluGrad { template <class T> GC_HD T operator()(T g, T x) const { return x > T(0) ? g : T(0); } };

// ---- the torch math set. Transcendentals are float-only (Python promotes integer inputs first);
// floor/ceil/round/trunc return integers unchanged; integer division guards 0 and -1 (no SIGFPE: the
// Python layer raises ZeroDivisionError first, as torch).
// GC_VM(fn): the vectorisable host version (simd_math.h: libmvec, rint-based rounding) on the CPU, CUDA's
// own function in device code, so device accuracy is unchanged.
#ifdef __CUDACC__
#define GC_VM(fn) std::fn
#else
#define GC_VM(fn) ::gc::vm::fn
#endif
#define GC_FLOAT_FUNCTOR(Name, expr) \
    struct Name { template <class T> GC_HD T operator()(T x) const { return T(expr); } };
GC_FLOAT_FUNCTOR(Sin, GC_VM(sin)(x))
GC_FLOAT_FUNCTOR(Cos, GC_VM(cos)(x))
GC_FLOAT_FUNCTOR(Tan, GC_VM(tan)(x))
GC_FLOAT_FUNCTOR(Asin, GC_VM(asin)(x))
GC_FLOAT_FUNCTOR(Acos, GC_VM(acos)(x))
GC_FLOAT_FUNCTOR(Atan, GC_VM(atan)(x))
GC_FLOAT_FUNCTOR(Sinh, GC_VM(sinh)(x))
GC_FLOAT_FUNCTOR(Cosh, GC_VM(cosh)(x))
GC_FLOAT_FUNCTOR(Asinh, GC_VM(asinh)(x))
GC_FLOAT_FUNCTOR(Acosh, GC_VM(acosh)(x))
GC_FLOAT_FUNCTOR(Atanh, GC_VM(atanh)(x))
GC_FLOAT_FUNCTOR(Log1p, GC_VM(log1p)(x))
GC_FLOAT_FUNCTOR(Expm1, GC_VM(expm1)(x))
GC_FLOAT_FUNCTOR(Log2, GC_VM(log2)(x))
GC_FLOAT_FUNCTOR(Log10, GC_VM(log10)(x))
GC_FLOAT_FUNCTOR(Exp2, GC_VM(exp2)(x))
GC_FLOAT_FUNCTOR(Rsqrt, T(1) / std::sqrt(x))
GC_FLOAT_FUNCTOR(Reciprocal, T(1) / x)
#undef GC_FLOAT_FUNCTOR
// Rounding: integers (and bools) pass through, as torch; round is half-to-even (rint in the default
// rounding mode), as torch.round.
#define GC_ROUNDING_FUNCTOR(Name, fn)                                           \
    struct Name {                                                               \
        template <class T> GC_HD T operator()(T x) const {                      \
            if constexpr (std::is_floating_point_v<T>) return T(fn(x));         \
            else return x;                                                      \
        }                                                                       \
    };
GC_ROUNDING_FUNCTOR(Floor, GC_VM(floor))
GC_ROUNDING_FUNCTOR(Ceil, GC_VM(ceil))
GC_ROUNDING_FUNCTOR(Round, GC_VM(rint))
GC_ROUNDING_FUNCTOR(Trunc, GC_VM(trunc))
#undef GC_ROUNDING_FUNCTOR
// x - trunc(x) in one pass (torch.frac; NaN for +-inf, as torch).
struct Frac { template <class T> GC_HD T operator()(T x) const { return T(x - GC_VM(trunc)(x)); } };
// 1 where the sign bit is set (-0.0 and negative NaN included), else 0; Python casts to bool.
struct Signbit {
    template <class T> GC_HD T operator()(T x) const {
        if constexpr (std::is_floating_point_v<T>) return T(std::signbit(x) ? 1 : 0);
        else if constexpr (std::is_same_v<T, bool>) return false;
        else return T(x < T(0));
    }
};
struct Atan2 { template <class T> GC_HD T operator()(T a, T b) const { return T(GC_VM(atan2)(a, b)); } };
struct Hypot { template <class T> GC_HD T operator()(T a, T b) const { return T(GC_VM(hypot)(a, b)); } };
struct Copysign { template <class T> GC_HD T operator()(T a, T b) const { return T(std::copysign(a, b)); } };
// GC_VEC_PATH(Name, expr): the CPU kernels' vector path for a binary float functor. vec(a, b) (branch-free,
// vectorised) equals operator() wherever vec_ok(a, b); elementwise_cpu.cpp runs blocks where every
// element is ok through vec and the rest through operator(). Not compiled for CUDA.
#ifdef __CUDACC__
#define GC_VEC_PATH(Name, expr)
#else
#define GC_VEC_PATH(Name, expr)                                                                     \
    template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>                      \
    __attribute__((always_inline)) static bool vec_ok(T a, T b) { return ::gc::vm::fmod_fast_ok(a, b); } \
    template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>                      \
    __attribute__((always_inline)) static T vec(T a, T b) { return expr; }
#endif
// C's truncated remainder (torch.fmod): the result has the dividend's sign.
struct Fmod {
    template <class T> GC_HD T operator()(T a, T b) const {
        if constexpr (std::is_floating_point_v<T>) return T(std::fmod(a, b));
        else if constexpr (std::is_same_v<T, bool>) return a && !b;
        else return (b == T(0) || b == T(-1)) ? T(0) : T(a % b);
    }
    GC_VEC_PATH(Fmod, ::gc::vm::fmod_fast(a, b))
};
// Python's floored remainder (torch.remainder): the result has the divisor's sign.
struct Remainder {
    template <class T> GC_HD T operator()(T a, T b) const {
        if constexpr (std::is_floating_point_v<T>) {
            T m = std::fmod(a, b);
            if (m != T(0) && ((b < T(0)) != (m < T(0)))) m += b;
            return m;
        } else if constexpr (std::is_same_v<T, bool>) {
            return a && !b;
        } else {
            if (b == T(0) || b == T(-1)) return T(0);
            T m = T(a % b);
            if (m != T(0) && ((b < T(0)) != (m < T(0)))) m = T(m + b);
            return m;
        }
    }
    GC_VEC_PATH(Remainder, remainder_vec(a, b))
#ifndef __CUDACC__
    template <class T> __attribute__((always_inline)) static T remainder_vec(T a, T b) {
        T m = ::gc::vm::fmod_fast(a, b);
        return m + (((m != T(0)) & ((b < T(0)) != (m < T(0)))) ? b : T(-0.0));  // selects, see simd_math.h
    }
#endif
};
// Floored division (torch.floor_divide, Python's //), computed as torch's div_floor for floats.
struct FloorDivide {
    template <class T> GC_HD T operator()(T a, T b) const {
        if constexpr (std::is_floating_point_v<T>) {
            if (b == T(0)) return a / b;
            T m = std::fmod(a, b);
            T d = (a - m) / b;
            if (m != T(0) && ((b < T(0)) != (m < T(0)))) d -= T(1);
            if (d == T(0)) return std::copysign(T(0), a / b);
            T f = std::floor(d);
            if (d - f > T(0.5)) f += T(1);
            return f;
        } else if constexpr (std::is_same_v<T, bool>) {
            return a;
        } else {
            if (b == T(0)) return T(0);
            if (b == T(-1)) return T(T(0) - a);  // wraps for the minimum, as torch, instead of trapping
            T q = T(a / b);
            if ((a % b) != T(0) && ((a < T(0)) != (b < T(0)))) q = T(q - 1);
            return q;
        }
    }
    GC_VEC_PATH(FloorDivide, floor_divide_vec(a, b))
#ifndef __CUDACC__
    // The same steps as operator() with branches turned into selects of constants (see simd_math.h; b != 0
    // is guaranteed by vec_ok).
    template <class T> __attribute__((always_inline)) static T floor_divide_vec(T a, T b) {
        T m = ::gc::vm::fmod_fast(a, b);
        T d = (a - m) / b;
        d = d - (((m != T(0)) & ((b < T(0)) != (m < T(0)))) ? T(1) : T(0));
        T f = ::gc::vm::floor(d);
        f = f + (d - f > T(0.5) ? T(1) : T(-0.0));
        const T zero = std::copysign(T(0), a / b);
        return d == T(0) ? zero : f;
    }
#endif
};

// Reductions: an identity and a combine step, shared by the CPU and CUDA reduce kernels.
struct SumReduce {
    template <class T> GC_HD static T init() { return T(0); }
    template <class T> GC_HD static T combine(T acc, T x) { return acc + x; }
};
struct MaxReduce {
    template <class T> GC_HD static T init() {
        if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
        else return std::numeric_limits<T>::lowest();
    }
    // NaN wins, as in NumPy.
    template <class T> GC_HD static T combine(T acc, T x) { return (x > acc || x != x) ? x : acc; }
};
struct MinReduce {
    template <class T> GC_HD static T init() {
        if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
        else return std::numeric_limits<T>::max();
    }
    // NaN wins, as in NumPy and torch.
    template <class T> GC_HD static T combine(T acc, T x) { return (x < acc || x != x) ? x : acc; }
};
struct ProdReduce {
    template <class T> GC_HD static T init() { return T(1); }
    template <class T> GC_HD static T combine(T acc, T x) { return acc * x; }
};

// Ops that only make sense on floating dtypes; integer tensors get a clear error instead.
template <class Op> struct FloatOnly { static constexpr bool value = false; };
template <> struct FloatOnly<Exp> { static constexpr bool value = true; };
template <> struct FloatOnly<Log> { static constexpr bool value = true; };
template <> struct FloatOnly<Sigmoid> { static constexpr bool value = true; };
template <> struct FloatOnly<Tanh> { static constexpr bool value = true; };
template <> struct FloatOnly<Sqrt> { static constexpr bool value = true; };
template <> struct FloatOnly<Pow> { static constexpr bool value = true; };
template <> struct FloatOnly<Erf> { static constexpr bool value = true; };
template <> struct FloatOnly<Sin> { static constexpr bool value = true; };
template <> struct FloatOnly<Cos> { static constexpr bool value = true; };
template <> struct FloatOnly<Tan> { static constexpr bool value = true; };
template <> struct FloatOnly<Asin> { static constexpr bool value = true; };
template <> struct FloatOnly<Acos> { static constexpr bool value = true; };
template <> struct FloatOnly<Atan> { static constexpr bool value = true; };
template <> struct FloatOnly<Sinh> { static constexpr bool value = true; };
template <> struct FloatOnly<Cosh> { static constexpr bool value = true; };
template <> struct FloatOnly<Asinh> { static constexpr bool value = true; };
template <> struct FloatOnly<Acosh> { static constexpr bool value = true; };
template <> struct FloatOnly<Atanh> { static constexpr bool value = true; };
template <> struct FloatOnly<Log1p> { static constexpr bool value = true; };
template <> struct FloatOnly<Expm1> { static constexpr bool value = true; };
template <> struct FloatOnly<Log2> { static constexpr bool value = true; };
template <> struct FloatOnly<Log10> { static constexpr bool value = true; };
template <> struct FloatOnly<Exp2> { static constexpr bool value = true; };
template <> struct FloatOnly<Rsqrt> { static constexpr bool value = true; };
template <> struct FloatOnly<Reciprocal> { static constexpr bool value = true; };
template <> struct FloatOnly<Frac> { static constexpr bool value = true; };
template <> struct FloatOnly<Atan2> { static constexpr bool value = true; };
template <> struct FloatOnly<Hypot> { static constexpr bool value = true; };
template <> struct FloatOnly<Copysign> { static constexpr bool value = true; };
// Ops that only make sense on integer and bool dtypes.
template <class Op> struct IntOnly { static constexpr bool value = false; };
template <> struct IntOnly<BitAnd> { static constexpr bool value = true; };
template <> struct IntOnly<BitOr> { static constexpr bool value = true; };
template <> struct IntOnly<BitXor> { static constexpr bool value = true; };
template <> struct IntOnly<BitNot> { static constexpr bool value = true; };

// Calls f(T* tag) for dtype t, refusing integer dtypes for float-only ops with a clear message.
template <class Op, class F>
void dispatch_for_op(DType t, F&& f) {
    dispatch_any(t, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if constexpr (FloatOnly<Op>::value && !std::is_floating_point_v<T>) {
            throw std::invalid_argument(std::string("gradcore: this op needs float tensors, got ") + dtype_name(t));
        } else if constexpr (IntOnly<Op>::value && std::is_floating_point_v<T>) {
            throw std::invalid_argument(std::string("gradcore: this op needs integer or bool tensors, got ") +
                                        dtype_name(t));
        } else {
            f(tag);
        }
    });
}

// Adam's per-element update, shared by both devices. `decoupled` selects AdamW's weight decay.
template <class T>
GC_HD void adam_update(T& p, T g, T& m, T& v, T lr, T beta1, T beta2, T eps, T wd, T bc1, T bc2,
                       bool decoupled) {
    if (decoupled) p -= lr * wd * p;
    else g += wd * p;
    m = beta1 * m + (T(1) - beta1) * g;
    v = beta2 * v + (T(1) - beta2) * g * g;
    T m_hat = m / bc1;
    T v_hat = v / bc2;
    p -= lr * m_hat / (std::sqrt(v_hat) + eps);
}

// One SGD element step with torch's semantics: the first momentum buffer is the gradient itself,
// later ones are momentum * buf + (1 - dampening) * d; Nesterov steps along d + momentum * buf.
template <class T>
GC_HD void sgd_update(T& p, T g, T& buf, T lr, T momentum, T dampening, T wd, bool nesterov, bool first) {
    T d = g + wd * p;
    if (momentum != T(0)) {
        T b = first ? d : momentum * buf + (T(1) - dampening) * d;
        buf = b;
        d = nesterov ? d + momentum * b : b;
    }
    p -= lr * d;
}

}  // namespace gc
