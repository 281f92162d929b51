"""csrc/matmul_cuda.cu checked without a GPU: tests/native/matmul_cuda_sim.cpp runs the naive and the tiled
(shared-memory) matmul through the host code's grid choice in the host simulation of
tests/native/cuda_host_sim.h under AddressSanitizer + UBSan, against a double loop, over batched, broadcast
and transposed operands and sizes around the tile edges, racechecking the shared tiles."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim():
    return cuda_sim_build.executable("matmul")


def test_cuda_matmul_kernels_match_a_loop_on_the_host(sim):
    # 6 fixed shapes (tile edges, K = 0, broadcast batches) and 10 random ones, both variants.
    out = cuda_sim_build.run(sim, "10", expect="matmul: 16 cases, ")
    assert " 0 failures" in out, out
