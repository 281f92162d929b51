"""csrc/rownorm_cuda.cu checked without a GPU: tests/native/rownorm_cuda_sim.cpp runs layer-norm and
log-softmax rows, forward and backward (block_reduce's shuffles and reused shared slots), in the host
simulation of tests/native/cuda_host_sim.h under AddressSanitizer + UBSan, against the CPU twins, for row
lengths around the warp and block sizes and rows of -inf / NaN, in two thread orders."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim():
    return cuda_sim_build.executable("rownorm")


def test_cuda_rownorm_kernels_match_the_cpu_twin_on_the_host(sim):
    out = cuda_sim_build.run(sim, "8", expect="rownorm: 44 cases, ")
    assert " 0 failures" in out, out
