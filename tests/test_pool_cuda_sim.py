"""csrc/pool_cuda.cu checked without a GPU: tests/native/pool_cuda_sim.cpp runs its host entry points
(grid choice included) and unchanged kernels in the host simulation of tests/native/cuda_host_sim.h under
AddressSanitizer + UBSan, and compares max/avg pooling forward and backward (argmax indices, NaN and -inf
inputs, ceil_mode, padding, dilation, count_include_pad, divisor_override, grid-stride loops on a 1-SM
device) with the CPU twins, bit for bit, in two thread orders."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim():
    return cuda_sim_build.executable("pool")


def test_cuda_pool_kernels_match_the_cpu_twins_on_the_host(sim):
    # 9 fixed geometries and 60 random ones, float32 and float64, max and avg, forward and backward.
    out = cuda_sim_build.run(sim, "60", expect="pool: 69 cases, ")
    assert " 0 failures" in out, out
