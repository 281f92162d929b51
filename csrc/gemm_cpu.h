// The CPU GEMM of matmul_cpu.cpp as a building block for other kernels (conv2d's im2col products).
#pragma once
#include <cstdint>

#include "common.h"

namespace gc::cpu {

// C (M x N, contiguous, leading dim N) = A (M x K) @ B (K x N), both read through (row, column) strides;
// with `accumulate`, C += A @ B instead (C must then hold valid values; K == 0 leaves it unchanged).
// `threaded` lets a large product split over threads; pass false from inside a parallel region.
// With `bias` (N values, contiguous), bias[j] is added to every row of C in the GEMM's own store.
// Defined for float and double.
template <class T>
void gemm_strided(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
                  int64_t csb, T* C, bool threaded, bool accumulate = false, const T* bias = nullptr);

// out (M x N) = a (M x K) @ b (K x N) + bias (N): Linear's forward in one pass over out (the kernel
// `matmul_bias`; its CUDA twin runs the matmul and then the broadcast add).
void matmul_bias(const ArrayView& a, const ArrayView& b, const ArrayView& bias, const ArrayView& out);

}  // namespace gc::cpu
