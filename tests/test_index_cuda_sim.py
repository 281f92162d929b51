"""csrc/index_cuda.cu checked without a GPU: tests/native/index_cuda_sim.cpp runs gather, scatter (set, and
add through atomics) and where with broadcast operands in the host simulation of tests/native/cuda_host_sim.h
under AddressSanitizer + UBSan, against the CPU twins, over ranks 0-4, every dim, index shapes smaller than
their operands and permuted strides, in two thread orders."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim():
    return cuda_sim_build.executable("index")


def test_cuda_index_kernels_match_the_cpu_twins_on_the_host(sim):
    out = cuda_sim_build.run(sim, "24", expect="index: 28 cases, ")
    assert " 0 failures" in out, out
