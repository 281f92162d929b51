"""csrc/optim_cuda.cu checked without a GPU: tests/native/optim_cuda_sim.cpp runs the multi-tensor Adam
(coupled and decoupled weight decay) and SGD (dampening, Nesterov, first step) launches, tensor tables and
4096-element chunks included, in the host simulation of tests/native/cuda_host_sim.h under AddressSanitizer
+ UBSan, against the CPU twins, over lists of mixed sizes and dtypes that need several tables."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


@pytest.fixture(scope="module")
def sim():
    return cuda_sim_build.executable("optim")


def test_cuda_optim_kernels_match_the_cpu_twins_on_the_host(sim):
    out = cuda_sim_build.run(sim, "4", expect="optim: 8 cases, ")
    assert " 0 failures" in out, out
