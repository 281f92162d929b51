// Checks gc::cpu::gemm_strided (csrc/matmul_cpu.cpp) against a double (float) or long double (double)
// loop: shapes around every micro-tile, strip and cache-block edge, all four transpose combinations,
// float and double, accumulate on and off, with and without a bias row, serial and threaded (pre-packed
// B, fine ranges, K split between threads). Built and
// run under AddressSanitizer by tests/test_gemm_cpu.py.
// Usage: gemm_check [random_cases]; prints "N cases, F failures".
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <type_traits>
#include <vector>
#include "gemm_cpu.h"

namespace {

struct Case {
    int64_t M, N, K;
    bool ta, tb, accumulate, threaded;
    bool bias = false;  // C += bias[j] on every row (Linear's epilogue)
};

template <class T>
bool run_case(const Case& c, std::mt19937& rng) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    // Operands stored row-major as (M x K) / (K x N), or as their transposes read through strides; a
    // padded leading dimension catches reads past a row.
    const int64_t pad = 3;
    const int64_t lda = (c.ta ? c.M : c.K) + pad, ldb = (c.tb ? c.K : c.N) + pad;
    std::vector<T> A((c.ta ? c.K : c.M) * lda), B((c.tb ? c.N : c.K) * ldb), C(c.M * c.N);
    for (auto& v : A) v = T(u(rng));
    for (auto& v : B) v = T(u(rng));
    for (auto& v : C) v = T(u(rng));
    const std::vector<T> C0 = C;
    std::vector<T> bias(c.bias ? c.N : 0);
    for (auto& v : bias) v = T(u(rng));
    const int64_t rsa = c.ta ? 1 : lda, csa = c.ta ? lda : 1, rsb = c.tb ? 1 : ldb, csb = c.tb ? ldb : 1;
    gc::cpu::gemm_strided<T>(c.M, c.N, c.K, A.data(), rsa, csa, B.data(), rsb, csb, C.data(), c.threaded,
                             c.accumulate, c.bias ? bias.data() : nullptr);
    const double eps = sizeof(T) == 4 ? 1e-6 : 1e-15;
    for (int64_t i = 0; i < c.M; ++i)
        for (int64_t j = 0; j < c.N; ++j) {
            // float: a double reference is exact enough and fast; double: long double.
            using Ref = std::conditional_t<sizeof(T) == 4, double, long double>;
            Ref ref = (c.accumulate ? C0[i * c.N + j] : Ref(0)) + (c.bias ? Ref(bias[j]) : Ref(0));
            double mag = std::fabs(double(ref));
            for (int64_t k = 0; k < c.K; ++k) {
                Ref p = Ref(A[i * rsa + k * csa]) * B[k * rsb + j * csb];
                ref += p;
                mag += std::fabs(double(p));
            }
            const double err = std::fabs(double(C[i * c.N + j] - ref));
            if (!(err <= 4 * eps * (mag + 1) * std::sqrt(double(c.K) + 1))) {
                std::printf("FAIL %s M=%lld N=%lld K=%lld ta=%d tb=%d acc=%d thr=%d bias=%d at (%lld,%lld): %g vs %g\n",
                            sizeof(T) == 4 ? "float" : "double", (long long)c.M, (long long)c.N, (long long)c.K,
                            c.ta, c.tb, c.accumulate, c.threaded, c.bias, (long long)i, (long long)j,
                            double(C[i * c.N + j]), double(ref));
                return false;
            }
        }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    const int randoms = argc > 1 ? std::atoi(argv[1]) : 40;
    std::mt19937 rng(1234);
    std::vector<Case> cases;
    // Edges of the micro-tile (MR = 12 rows; NR = 32 float / 16 double columns), of the 8- and 4-row
    // strips, of KC = 256, and skinny shapes both ways (the MLP's N = 10, the conv's M = 32, gemv).
    const int64_t ms[] = {1, 3, 4, 8, 11, 12, 13, 32, 97};
    const int64_t ns[] = {1, 10, 16, 17, 31, 32, 33, 65};
    const int64_t ks[] = {0, 1, 7, 255, 257};
    for (int64_t M : ms)
        for (int64_t N : ns)
            for (int64_t K : ks) {
                const int v = int(M * 7 + N * 3 + K);  // vary the flags over the grid without a 16x blow-up
                cases.push_back({M, N, K, bool(v & 1), bool(v & 2), bool(v & 4), bool(v & 8), bool(v & 16)});
            }
    // Products large enough to split over threads and to cross MC / NC blocks.
    const int64_t big[12][3] = {{200, 40, 300}, {40, 1100, 70}, {130, 1030, 20}, {1000, 10, 64}, {10, 1000, 600},
                              {32, 300, 600}, {300, 32, 600}, {2000, 1, 300}, {1, 2000, 300}, {64, 256, 784},
                              // >= 5e7 flops: a shared pre-packed B (split M) and 4 ranges per thread
                              {420, 70, 900}, {70, 500, 800}};
    for (int i = 0; i < 12; ++i)  // each transpose combination once, accumulate on for half of them
        for (int f = 0; f < 4; ++f)
            cases.push_back({big[i][0], big[i][1], big[i][2], bool(f & 1), bool(f & 2), bool((f + i) & 1), true,
                             bool((f + i) & 2)});
    // K >= 1024 and >= 4 max(M, N): K split between threads (gemm_split_k), K not a multiple of the
    // 256-long chunks, fewer chunks than 2 parts per thread (K = 1030 on 3 threads), M or N below a tile.
    const int64_t long_k[4][3] = {{10, 128, 2048}, {40, 33, 1500}, {130, 70, 1300}, {3, 5, 1030}};
    for (int i = 0; i < 4; ++i)
        for (int f = 0; f < 4; ++f)
            cases.push_back({long_k[i][0], long_k[i][1], long_k[i][2], bool(f & 1), bool(f & 2), bool((f + i) & 1),
                             true, bool((f + i) & 2)});
    std::uniform_int_distribution<int> dim(1, 150), flag(0, 1);
    for (int r = 0; r < randoms; ++r)
        cases.push_back({dim(rng), dim(rng), dim(rng), bool(flag(rng)), bool(flag(rng)), bool(flag(rng)), true,
                         bool(flag(rng))});
    int failures = 0, total = 0;
    for (const Case& c : cases) {
        failures += !run_case<float>(c, rng);
        failures += !run_case<double>(c, rng);
        total += 2;
    }
    std::printf("%d cases, %d failures\n", total, failures);
    return failures != 0;
}
