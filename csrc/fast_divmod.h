// Division by a run-time constant as a multiply-high and a shift (Granlund-Montgomery, as in CUTLASS's
// FastDivmod): the implicit-GEMM loaders split flat indices into (channel, row, column) per element, and
// a hardware-less 32-bit division there costs ~20 instructions against ~4 for this.
#pragma once
#include <cstdint>
#include "common.h"

namespace gc {

// Exact for 0 <= n < 2^31 and 1 <= d < 2^31 (the callers check that their indices fit).
struct FastDivmod {
    int32_t d = 1;
    uint32_t mul = 0, shift = 0;  // d == 1: mul 0 marks "quotient = n"

    FastDivmod() = default;
    explicit FastDivmod(int64_t divisor) {
        d = int32_t(divisor < 1 ? 1 : divisor);  // a zero extent never divides anything; keep it harmless
        if (d == 1) return;
        uint32_t log2_ceil = 0;
        while ((int64_t(1) << log2_ceil) < d) ++log2_ceil;
        const uint32_t p = 31 + log2_ceil;  // 32 < p <= 62, so the multiplier below fits in 32 bits
        mul = uint32_t(((uint64_t(1) << p) + uint64_t(d) - 1) / uint64_t(d));
        shift = p - 32;
    }

    GC_HD int32_t div(int32_t n) const {
        if (mul == 0) return n;
#if defined(__CUDA_ARCH__)
        return int32_t(__umulhi(uint32_t(n), mul) >> shift);
#else
        return int32_t(uint32_t((uint64_t(uint32_t(n)) * mul) >> 32) >> shift);
#endif
    }
    // q = n / d, r = n % d
    GC_HD void divmod(int32_t n, int32_t& q, int32_t& r) const {
        q = div(n);
        r = n - q * d;
    }
};

}  // namespace gc
