// The elementwise ops tests/native/elementwise_cuda_sim.cpp runs, and only those: force-included (-include,
// tests/native/cuda_sim_build.py) into the simulation's two objects (the driver with csrc/elementwise_cuda.cu,
// and csrc/elementwise_cpu.cpp), it narrows csrc/functors.h's X-macro op lists that
// csrc/elementwise_entry.inc expands into explicit instantiations (every op x every dtype x three paths).
// The ops it leaves out were compiled under ASan + UBSan here and never run: about two thirds of the
// simulation's compile time for no check. Each op's device code is still compiled by nvcc in every CUDA
// build and run on a GPU by tests/test_cuda*.py; its CPU twin is tested from Python everywhere.
// A driver that starts using another op fails to link (undefined gc::cpu::unary<Op>): add it below.
#pragma once
#include "functors.h"

#undef GC_UNARY_OPS
#undef GC_BINARY_OPS
#undef GC_BITWISE_UNARY_OPS
#undef GC_BITWISE_BINARY_OPS
#undef GC_COMPARE_OPS
#define GC_UNARY_OPS(X) X(neg, Neg) X(exp, Exp) X(abs, Abs) X(relu, Relu) X(tanh, Tanh)
#define GC_BINARY_OPS(X) X(add, Add) X(sub, Sub) X(mul, Mul) X(div, Div) X(pow, Pow) X(maximum, Maximum)
#define GC_BITWISE_UNARY_OPS(X)
#define GC_BITWISE_BINARY_OPS(X)
#define GC_COMPARE_OPS(X) X(lt, Lt) X(eq, Eq)
