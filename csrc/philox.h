// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11), one definition for
// the CPU and the GPU so both devices draw bit-identical numbers from the same (counter, key).
#pragma once
#include <cstdint>
#include "common.h"

namespace gc {

struct Philox4 {
    uint32_t v[4];
};

GC_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
    uint64_t p = uint64_t(a) * uint64_t(b);
    *hi = uint32_t(p >> 32);
    return uint32_t(p);
}

GC_HD Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
    constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#if defined(__CUDACC__)
#pragma unroll
#endif
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {  // the key schedule bumps between rounds, not before the first
            k0 += W0;
            k1 += W1;
        }
        uint32_t hi0, hi1;
        uint32_t lo0 = mulhilo32(M0, ctr.v[0], &hi0);
        uint32_t lo1 = mulhilo32(M1, ctr.v[2], &hi1);
        ctr = Philox4{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    }
    return ctr;
}

// The dropout draw for element index i: counter (i + offset) as a 64-bit number in words 0-1, key = seed.
// u = first word / 2^32 is exact in double, so the keep test u >= p agrees bit for bit on every device.
GC_HD bool dropout_keep(uint64_t i, uint64_t offset, uint64_t seed, double p) {
    uint64_t c = i + offset;
    Philox4 r = philox4x32_10(Philox4{{uint32_t(c), uint32_t(c >> 32), 0u, 0u}}, uint32_t(seed), uint32_t(seed >> 32));
    return double(r.v[0]) * (1.0 / 4294967296.0) >= p;
}

// Checks shared by both devices' dropout_mask kernels.
inline void check_dropout_args(const ArrayView& out, double p) {
    GC_CHECK(out.dtype == DType::Float32 || out.dtype == DType::Float64,
             std::string("dropout_mask: the mask must be float32 or float64, got ") + dtype_name(out.dtype));
    GC_CHECK(out.numel() == 0 || out.is_contiguous(), "dropout_mask: the mask must be contiguous");
    GC_CHECK(p >= 0.0 && p <= 1.0, "dropout_mask: probability must be in [0, 1], got " + std::to_string(p));
}

// 1/(1-p) for kept elements; p == 1 keeps nothing (u < 1 always), and the scale is never used.
inline double dropout_scale(double p) { return p < 1.0 ? 1.0 / (1.0 - p) : 0.0; }

}  // namespace gc
