// The CPU GEMM of matmul_cpu.cpp as a building block for other kernels (conv2d's im2col products).
#pragma once
#include <cstdint>

namespace gc::cpu {

// C (M x N, contiguous, leading dim N) = A (M x K) @ B (K x N), both read through (row, column) strides;
// with `accumulate`, C += A @ B instead (C must then hold valid values; K == 0 leaves it unchanged).
// `threaded` lets a large product split over threads; pass false from inside a parallel region.
// Defined for float and double.
template <class T>
void gemm_strided(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
                  int64_t csb, T* C, bool threaded, bool accumulate = false);

}  // namespace gc::cpu
