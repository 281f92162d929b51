"""csrc/reduce_cuda.cu checked without a GPU: tests/native/reduce_cuda_sim.cpp runs its host entry points
and unchanged kernels (warp shuffles in lockstep, block barriers) in the host simulation of
tests/native/cuda_host_sim.h under AddressSanitizer + UBSan: sum / max / min / prod over any axes of permuted
inputs through every kernel the host code picks (warp, block and thread per output, split partials, the
empty fill), argmax / argmin (NaN, ties) and cumsum, against the CPU twins, in two thread orders."""

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
    out = tmp_path_factory.mktemp("reduce_cuda_sim")
    return cuda_sim_build.build(out, "reduce_cuda_sim.cpp", ["reduce_cuda.cu"], ["reduce_cpu.cpp"])


def test_cuda_reductions_match_the_cpu_twins_on_the_host(sim):
    # 13 fixed shapes (each kernel choice) and 16 random ones over 5 dtype pairs, 8 last-axis shapes.
    out = cuda_sim_build.run(sim, "16", expect="reduce: 37 cases, ")
    assert " 0 failures" in out, out
