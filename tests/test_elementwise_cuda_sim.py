"""csrc/elementwise_cuda.cu checked without a GPU: tests/native/elementwise_cuda_sim.cpp runs unary and
binary ops on the 16-byte vector path (with tails), the scalar contiguous path (misaligned views) and the
strided path (broadcast operands, permuted outputs), comparisons and casts, in the host simulation of
tests/native/cuda_host_sim.h under AddressSanitizer + UBSan, against the CPU twins, in two thread orders."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim():
    return cuda_sim_build.executable("elementwise")


def test_cuda_elementwise_kernels_match_the_cpu_twins_on_the_host(sim):
    out = cuda_sim_build.run(sim, "6", expect="elementwise: 22 cases, ")
    assert " 0 failures" in out, out
