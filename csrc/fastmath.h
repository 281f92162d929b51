// Branch-free float32 exp and tanh for the CPU kernels. Written so GCC vectorizes them inside
// `omp simd` loops (libm's scalar expf/tanhf do not vectorize); max relative error ~2 ulp.
// GPU code and float64 keep the precise library functions.
#pragma once
#include <cstdint>
#include <cstring>

namespace gc {

__attribute__((always_inline)) inline float bits_to_float(int32_t i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}

// Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, then Cephes' degree-6 polynomial for e^r.
__attribute__((always_inline)) inline float exp_f32(float x) {
    const float hi = 88.72283905f, lo = -87.3365447505531f;  // ln(FLT_MAX), ln(FLT_MIN)
    const bool underflow = x < lo, overflow = x > hi;
    x = overflow ? hi : (underflow ? lo : x);
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
    float n = (x * 1.44269504088896341f + shifter) - shifter;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    // 2^n as two normal halves, since 2^128 itself is not a float.
    const int32_t k = static_cast<int32_t>(n), k1 = k / 2, k2 = k - k1;
    // The exponent field is shifted as unsigned: on the underflow path k + 127 can be negative, and a left
    // shift of a negative int is undefined in C++17 (the value is discarded there, but UBSan flags it).
    const auto pow2 = [](int32_t e) {
        return bits_to_float(static_cast<int32_t>(static_cast<uint32_t>(e + 127) << 23));
    };
    const float r_out = underflow ? 0.0f : y * pow2(k1) * pow2(k2);
    return overflow ? __builtin_inff() : r_out;
}

// tanh(|x|) = (1 - e) / (1 + e) with e = exp(-2|x|); near 0 that loses digits, so a short odd
// Taylor series takes over below |x| = 0.0625 (its first omitted term is below 2e-13).
__attribute__((always_inline)) inline float tanh_f32(float x) {
    float a = x < 0.0f ? -x : x;
    float e = exp_f32(-2.0f * a);
    float big = (1.0f - e) / (1.0f + e);
    float a2 = a * a;
    float small = a * (1.0f + a2 * (-1.0f / 3.0f + a2 * (2.0f / 15.0f + a2 * (-17.0f / 315.0f))));
    float t = a < 0.0625f ? small : big;
    return x < 0.0f ? -t : t;
}

}  // namespace gc
