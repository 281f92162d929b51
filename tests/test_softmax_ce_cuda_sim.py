"""csrc/softmax_ce_cuda.cu checked without a GPU: tests/native/softmax_ce_cuda_sim.cpp runs the fused
softmax cross-entropy (kept-row count, a block per row merging (max, sum) pairs through warp shuffles, the
loss reduction, the device error record of a bad target) in the host simulation of
tests/native/cuda_host_sim.h under AddressSanitizer + UBSan, against the CPU twin, for every reduction,
int32 / int64 targets, ignore_index and class counts around each block-size threshold, in two thread
orders."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim():
    return cuda_sim_build.executable("softmax_ce")


def test_cuda_softmax_ce_kernels_match_the_cpu_twin_on_the_host(sim):
    out = cuda_sim_build.run(sim, "6", expect="softmax_ce: 42 cases, ")
    assert " 0 failures" in out, out
