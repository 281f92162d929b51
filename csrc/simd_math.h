// Vectorisable CPU math for the torch math set: glibc's SIMD math (libmvec) under private names, and exact
// branch-free rounding and remainders (rint- and fma-based) that GCC vectorises inside `omp simd` loops.
#pragma once
#include <cmath>
#include <cstdint>

// libmvec (glibc >= 2.35 on x86-64) holds SSE/AVX2/AVX-512 variants of the whole libm set, each within
// 4 ulp and with IEEE special values (lanes with inf/NaN/huge arguments fall back to the scalar routine
// inside libmvec). glibc's <math.h> only announces them under -ffast-math, which we must not use; so
// each is declared here once more under a private name bound to the libm symbol (asm label) with the
// `simd` attribute: GCC then calls _ZGVeN16v_sinf & co. from vectorised loops, and only for calls
// written as gc::vm::sin(...), so no other kernel's std::exp / std::log changes.
// Linking needs nothing extra: glibc's libm.so linker script pulls libmvec in AS_NEEDED.
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(GC_NO_LIBMVEC) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define GC_HAVE_LIBMVEC 1
#endif

#ifdef GC_HAVE_LIBMVEC
#define GC_MV_ATTR __attribute__((simd("notinbranch"), const, nothrow, leaf))
#define GC_MV_DECL1(fn)                                        \
    GC_MV_ATTR double gc_mv_##fn(double) __asm__(#fn);         \
    GC_MV_ATTR float gc_mv_##fn##f(float) __asm__(#fn "f");
#define GC_MV_DECL2(fn)                                                \
    GC_MV_ATTR double gc_mv_##fn(double, double) __asm__(#fn);         \
    GC_MV_ATTR float gc_mv_##fn##f(float, float) __asm__(#fn "f");
extern "C" {
GC_MV_DECL1(sin) GC_MV_DECL1(cos) GC_MV_DECL1(tan) GC_MV_DECL1(asin) GC_MV_DECL1(acos) GC_MV_DECL1(atan)
GC_MV_DECL1(sinh) GC_MV_DECL1(cosh) GC_MV_DECL1(asinh) GC_MV_DECL1(acosh) GC_MV_DECL1(atanh)
GC_MV_DECL1(log1p) GC_MV_DECL1(expm1) GC_MV_DECL1(log2) GC_MV_DECL1(log10) GC_MV_DECL1(exp2)
GC_MV_DECL1(erf)
GC_MV_DECL2(atan2) GC_MV_DECL2(hypot)
}
#undef GC_MV_DECL1
#undef GC_MV_DECL2
#undef GC_MV_ATTR
#endif

namespace gc::vm {

#ifdef GC_HAVE_LIBMVEC
#define GC_VM_FN1(fn)                                                              \
    __attribute__((always_inline)) inline float fn(float x) { return gc_mv_##fn##f(x); } \
    __attribute__((always_inline)) inline double fn(double x) { return gc_mv_##fn(x); }
#define GC_VM_FN2(fn)                                                                              \
    __attribute__((always_inline)) inline float fn(float a, float b) { return gc_mv_##fn##f(a, b); } \
    __attribute__((always_inline)) inline double fn(double a, double b) { return gc_mv_##fn(a, b); }
#else
#define GC_VM_FN1(fn) using std::fn;
#define GC_VM_FN2(fn) using std::fn;
#endif
GC_VM_FN1(sin) GC_VM_FN1(cos) GC_VM_FN1(tan) GC_VM_FN1(asin) GC_VM_FN1(acos) GC_VM_FN1(atan)
GC_VM_FN1(sinh) GC_VM_FN1(cosh) GC_VM_FN1(asinh) GC_VM_FN1(acosh) GC_VM_FN1(atanh)
GC_VM_FN1(log1p) GC_VM_FN1(expm1) GC_VM_FN1(log2) GC_VM_FN1(log10) GC_VM_FN1(exp2) GC_VM_FN1(erf)
GC_VM_FN2(atan2) GC_VM_FN2(hypot)
#undef GC_VM_FN1
#undef GC_VM_FN2

// ---- rounding from rint (one vrndscale: GCC vectorises rint under -fno-math-errno, but not floor/ceil/
// trunc, which must keep the inexact flag clear unless -fno-trapping-math). In the default rounding mode
// rint is nearbyint: half to even. The result always carries x's sign (floor(-0.5) = -1, ceil(-0.5) = -0,
// trunc(-0.5) = -0), so copysign restores the -0 that r - 1 / r + 1 lose; inf and NaN pass through.
template <class T> __attribute__((always_inline)) inline T rint(T x) { return std::rint(x); }
// Conditional steps are written as selects of constants followed by an unconditional add: under the
// default -ftrapping-math GCC will not if-convert `c ? r - 1 : r` (the subtraction might raise), and a
// branch on random data costs more than the whole vector body. x - 0 and x + (-0) are x for every x.
template <class T> __attribute__((always_inline)) inline T floor(T x) {
    T r = std::rint(x);
    return std::copysign(r - (r > x ? T(1) : T(0)), x);
}
template <class T> __attribute__((always_inline)) inline T ceil(T x) {
    T r = std::rint(x);
    return std::copysign(r + (r < x ? T(1) : T(-0.0)), x);
}
template <class T> __attribute__((always_inline)) inline T trunc(T x) {
    T a = std::fabs(x), r = std::rint(a);
    return std::copysign(r - (r > a ? T(1) : T(0)), x);
}

// ---- exact fmod on a fast path. fmod_fast_ok says where fmod_fast is exact; elsewhere (zero, inf or NaN
// operands, |a / b| too large) the kernels call std::fmod.
// float: the quotient in double never rounds across an integer while |a / b| < 2^24 (its distance to
// the nearest integer is >= 2^-24 relative, the double rounding error 2^-53), and a - n * b is then exact
// in double (n * b has <= 48 bits, the difference is the float remainder).
// double: q = trunc(a / b) is the true integer part n or n + 1 in magnitude (a / b rounded up across an
// integer); fma(-q, b, a) is exact either way (the result is r or r - b, both representable), and one
// correction step adds b back. copysign gives zero results the dividend's sign, as fmod.
__attribute__((always_inline)) inline bool fmod_fast_ok(float a, float b) {
    float ab = std::fabs(b);
    return std::fabs(a) < ab * 16777216.0f && ab > 0.0f && ab <= 3.40282347e38f;
}
__attribute__((always_inline)) inline bool fmod_fast_ok(double a, double b) {
    double ab = std::fabs(b);
    return std::fabs(a) < ab * 4503599627370496.0 && ab > 0.0 && ab <= 1.7976931348623157e308;
}
__attribute__((always_inline)) inline float fmod_fast(float a, float b) {
    double da = a, db = b;
    double n = vm::trunc(da / db);
    return std::copysign(float(da - n * db), a);
}
__attribute__((always_inline)) inline double fmod_fast(double a, double b) {
    double q = vm::trunc(a / b);
    double r = std::fma(-q, b, a);
    const bool over = (r != 0.0) & ((r < 0.0) != (a < 0.0));
    const double back = q > 0.0 ? b : -b;
    return std::copysign(r + (over ? back : -0.0), a);
}

}  // namespace gc::vm
