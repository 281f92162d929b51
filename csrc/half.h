// float16 / bfloat16 storage types and their conversions (host and device), bit-exact with PyTorch's.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>
#include "common.h"
#if !defined(__CUDA_ARCH__) && defined(__F16C__)
#include <immintrin.h>
#endif

namespace gc {

// 16-bit storage only: kernels never compute in these types; values go through float (torch's CPU does
// the same), so these structs carry no arithmetic.
struct Half {
    uint16_t bits;
};
struct BFloat16 {
    uint16_t bits;
};

template <class T>
struct is_half_type : std::false_type {};
template <>
struct is_half_type<Half> : std::true_type {};
template <>
struct is_half_type<BFloat16> : std::true_type {};

GC_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
#endif
}

GC_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, 4);
    return f;
#endif
}

// IEEE binary16 from float, round to nearest even; overflow gives inf; NaN stays NaN (quiet, sign and
// the payload's top bits kept, so float32 NaN 0x7fc00000 gives 0x7e00 as torch does).
GC_HD uint16_t soft_float_to_half_bits(float f) {
    const uint32_t x = float_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0u));
    if (ax >= 0x47800000u) return uint16_t(sign | 0x7c00u);  // >= 65536: inf (65520..65536 rounds there too)
    if (ax < 0x38800000u) {                                 // below 2^-14: a subnormal half (or zero)
        if (ax < 0x33000000u) return uint16_t(sign);         // below 2^-25 (2^-25 itself ties to even: 0)
        const uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
        const uint32_t s = 126u - e;  // value / 2^-24 = m >> s, here 14 <= s <= 24
        uint32_t r = m >> s;
        const uint32_t rem = m & ((1u << s) - 1u), halfway = 1u << (s - 1u);
        if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
        return uint16_t(sign | r);
    }
    uint32_t r = (((ax >> 23) - 112u) << 10) | ((ax >> 13) & 0x3ffu);
    const uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;  // a carry into the exponent is right (may give inf)
    return uint16_t(sign | r);
}

GC_HD float soft_half_bits_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1fu) return bits_float(sign | 0x7f800000u | (m << 13));
    if (e == 0) {
        const float v = float(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
        return sign ? -v : v;
    }
    return bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

// The CPU's F16C instructions where the build has them (-march=native on x86): the same results (IEEE
// round to nearest even, quiet NaN keeping the payload's top bits), about 10x faster than the bit code.
GC_HD uint16_t float_to_half_bits(float f) {
#if !defined(__CUDA_ARCH__) && defined(__F16C__)
    return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#else
    return soft_float_to_half_bits(f);
#endif
}

GC_HD float half_bits_to_float(uint16_t h) {
#if !defined(__CUDA_ARCH__) && defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return soft_half_bits_to_float(h);
#endif
}

// bfloat16 from float: the top 16 bits, round to nearest even; NaN stays a quiet NaN.
GC_HD uint16_t float_to_bfloat16_bits(float f) {
    const uint32_t x = float_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);
    return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

GC_HD float bfloat16_bits_to_float(uint16_t b) { return bits_float(uint32_t(b) << 16); }

GC_HD float to_float(Half h) { return half_bits_to_float(h.bits); }
GC_HD float to_float(BFloat16 h) { return bfloat16_bits_to_float(h.bits); }

template <class H>
GC_HD H from_float(float f);
template <>
GC_HD Half from_float<Half>(float f) { return Half{float_to_half_bits(f)}; }
template <>
GC_HD BFloat16 from_float<BFloat16>(float f) { return BFloat16{float_to_bfloat16_bits(f)}; }

// The value of `v` as an Out, as torch converts: a half type reads as float; anything becomes a half type
// through float (so float64 -> float16 rounds twice, exactly as c10::Half(double) does).
template <class Out, class In>
GC_HD Out convert(In v) {
    if constexpr (is_half_type<In>::value && is_half_type<Out>::value) {
        return from_float<Out>(to_float(v));
    } else if constexpr (is_half_type<In>::value) {
        return static_cast<Out>(to_float(v));
    } else if constexpr (is_half_type<Out>::value) {
        return from_float<Out>(static_cast<float>(v));
    } else {
        return static_cast<Out>(v);
    }
}

inline bool is_half(DType t) { return t == DType::Float16 || t == DType::BFloat16; }

// dispatch_any plus the two 16-bit float types: only for kernels that move or convert values (cast).
template <typename F>
void dispatch_all(DType t, F&& f) {
    if (t == DType::Float16) f(static_cast<Half*>(nullptr));
    else if (t == DType::BFloat16) f(static_cast<BFloat16*>(nullptr));
    else dispatch_any(t, f);
}

// The float32 twin of a half operand: its shape, with dims where `v` has stride 0 (broadcast) kept at
// stride 0 and the others laid out contiguously, so a broadcast operand is not materialised. `n` gets
// the element count to allocate.
inline ArrayView float32_twin(const ArrayView& v, void* data, int64_t* n) {
    ArrayView t = v;
    t.data = data;
    t.dtype = DType::Float32;
    int64_t step = 1;
    for (int d = v.ndim - 1; d >= 0; --d) {
        if (v.strides[d] == 0 && v.shape[d] != 1) {
            t.strides[d] = 0;
        } else {
            t.strides[d] = step;
            step *= v.shape[d];
        }
    }
    *n = step;
    return t;
}

// The same view with its stride-0 dims cut to length 1, so a cast between an operand and its twin writes
// each stored element once.
inline ArrayView without_broadcast(const ArrayView& v, const ArrayView& ref) {
    ArrayView t = v;
    for (int d = 0; d < v.ndim; ++d)
        if (ref.strides[d] == 0) t.shape[d] = v.shape[d] == 0 ? 0 : 1;
    return t;
}

}  // namespace gc
