"""The CUDA batch-norm kernels, checked without a GPU: tests/native/batchnorm_cuda_sim.cpp compiles the
unchanged device code of csrc/batchnorm_cuda.cuh for the host (threads as coroutines resumed in a random
order, __syncthreads as a block barrier, warp shuffles as lane exchanges) under AddressSanitizer and UBSan,
and compares the training forward, running-stat update, eval forward and backward with double loops."""

import cuda_sim_build  # tests/native, on the path through tests/conftest.py
import pytest

pytestmark = pytest.mark.skipif(
    cuda_sim_build.CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


def test_batchnorm_cuda_kernels_match_double_loops():
    # LeakSanitizer on, as this simulation always ran.
    exe = cuda_sim_build.executable("batchnorm")
    cuda_sim_build.run(exe, expect="deadlocks 0, mismatches 0", leaks=True)
