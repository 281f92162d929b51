"""The CUDA conv kernels' index maps, checked without a GPU: tests/native/conv_cuda_sim.cpp compiles the
unchanged device code of csrc/conv_cuda.cuh and csrc/implicit_gemm_cuda.cuh for the host (threads as
coroutines, __syncthreads as a block barrier) under AddressSanitizer and UBSan, and compares both variants
with a plain-loop reference: every tile shape, split-K plans, grid chunking, groups, strides, dilation,
padding. On a GPU, tests/test_cuda_conv.py checks the same kernels on the device."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim():
    return cuda_sim_build.executable("conv")


def test_cuda_conv_kernels_match_the_reference_on_the_host(sim):
    # 16 fixed geometries (the VAE's layers among them) and 8 random ones, float32 and float64.
    cuda_sim_build.run(sim, "8", expect="24 cases, 0 failures")
