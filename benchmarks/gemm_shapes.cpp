// Times gc::cpu::gemm_strided on the products of the MLP 784-256-128-10 step and the conv's M = 32 shapes,
// min and median of N runs, without Python: quick A/B of csrc/matmul_cpu.cpp on a loaded machine.
//   g++ -std=c++17 -O3 -march=native -ffp-contract=fast -pthread -Icsrc benchmarks/gemm_shapes.cpp \
//       csrc/matmul_cpu.cpp -o /tmp/gemm_shapes && GRADCORE_NUM_THREADS=1 /tmp/gemm_shapes [batch] [runs]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "gemm_cpu.h"

namespace {

struct Shape {
    const char* name;
    int64_t M, N, K;
    bool ta, tb;  // A stored as (K x M) / B stored as (N x K), read transposed
};

double seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
    const int64_t b = argc > 1 ? std::atoll(argv[1]) : 8192;
    const int runs = argc > 2 ? std::atoi(argv[2]) : 20;
    const Shape shapes[] = {
        {"fwd x@W1.T", b, 256, 784, false, true},  {"fwd x@W2.T", b, 128, 256, false, true},
        {"fwd x@W3.T", b, 10, 128, false, true},   {"bwd g@W3", b, 128, 10, false, false},
        {"bwd g.T@x3", 10, 128, b, true, false},   {"bwd g@W2", b, 256, 128, false, false},
        {"bwd g.T@x2", 128, 256, b, true, false},  {"bwd g.T@x1", 256, 784, b, true, false},
        {"conv w@col", 32, 784, 288, false, false}, {"conv w.T@gy", 288, 784, 32, true, false},
        {"conv gy@col.T", 32, 288, 784, false, true}, {"square 1024", 1024, 1024, 1024, false, false},
        {"square 512", 512, 512, 512, false, false}, {"square 256", 256, 256, 256, false, false},
        {"512 lda 1000", 512, 512, 1000, false, false},
    };
    double sum_min = 0, sum_med = 0;
    for (const Shape& s : shapes) {
        std::vector<float> A(s.M * s.K), B(s.K * s.N), C(s.M * s.N);
        for (size_t i = 0; i < A.size(); ++i) A[i] = float(i % 7) * 0.25f - 0.7f;
        for (size_t i = 0; i < B.size(); ++i) B[i] = float(i % 5) * 0.5f - 1.0f;
        const int64_t rsa = s.ta ? 1 : s.K, csa = s.ta ? s.M : 1, rsb = s.tb ? 1 : s.N, csb = s.tb ? s.K : 1;
        std::vector<double> t;
        for (int r = 0; r < runs + 2; ++r) {
            double t0 = seconds();
            gc::cpu::gemm_strided<float>(s.M, s.N, s.K, A.data(), rsa, csa, B.data(), rsb, csb, C.data(), true);
            if (r >= 2) t.push_back(seconds() - t0);
        }
        std::sort(t.begin(), t.end());
        const double flop = 2.0 * s.M * s.N * s.K;
        sum_min += t[0];
        sum_med += t[t.size() / 2];
        std::printf("%-14s %5lld x %4lld x %5lld  min %8.3f ms (%4.0f GFLOP/s)  median %8.3f ms\n", s.name,
                    (long long)s.M, (long long)s.N, (long long)s.K, t[0] * 1e3, flop / t[0] / 1e9,
                    t[t.size() / 2] * 1e3);
    }
    std::printf("sum: min %.3f ms, median %.3f ms\n", sum_min * 1e3, sum_med * 1e3);
    return 0;
}
