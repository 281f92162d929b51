"""csrc/reduce_cuda.cu checked without a GPU: tests/native/reduce_cuda_sim.cpp runs its host entry points
and unchanged kernels (warp shuffles in lockstep, block barriers) in the host simulation of
tests/native/cuda_host_sim.h under AddressSanitizer + UBSan: sum / max / min / prod over any axes of permuted
inputs through every kernel the host code picks (warp, block and thread per output, split partials, the
empty fill), argmax / argmin (NaN, ties) and cumsum, against the CPU twins, in two thread orders."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim():
    return cuda_sim_build.executable("reduce")


def test_cuda_reductions_match_the_cpu_twins_on_the_host(sim):
    # 13 fixed shapes (each kernel choice) and 16 random ones over 5 dtype pairs, 8 last-axis shapes.
    out = cuda_sim_build.run(sim, "16", expect="reduce: 37 cases, ")
    assert " 0 failures" in out, out
