"""csrc/softmax_ce_cuda.cu checked without a GPU: tests/native/softmax_ce_cuda_sim.cpp runs the fused
softmax cross-entropy (kept-row count, a block per row merging (max, sum) pairs through warp shuffles, the
loss reduction, the device error record of a bad target) in the host simulation of
tests/native/cuda_host_sim.h under AddressSanitizer + UBSan, against the CPU twin, for every reduction,
int32 / int64 targets, ignore_index and class counts around each block-size threshold, in two thread
orders."""

import importlib.util
import pathlib

import pytest

_spec = importlib.util.spec_from_file_location(
    "cuda_sim_build", pathlib.Path(__file__).resolve().parent / "native" / "cuda_sim_build.py"
)
cuda_sim_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cuda_sim_build)

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("softmax_ce_cuda_sim")
    return cuda_sim_build.build(
        out, "softmax_ce_cuda_sim.cpp", ["softmax_ce_cuda.cu"], ["softmax_ce_cpu.cpp"]
    )


def test_cuda_softmax_ce_kernels_match_the_cpu_twin_on_the_host(sim):
    out = cuda_sim_build.run(sim, "6", expect="softmax_ce: 42 cases, ")
    assert " 0 failures" in out, out
