"""The CUDA batch-norm kernels, checked without a GPU: tests/native/batchnorm_cuda_sim.cpp compiles the
unchanged device code of csrc/batchnorm_cuda.cuh for the host (threads as coroutines resumed in a random
order, __syncthreads as a block barrier, warp shuffles as lane exchanges) under AddressSanitizer and UBSan,
and compares the training forward, running-stat update, eval forward and backward with double loops."""

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "native" / "batchnorm_cuda_sim.cpp"
CXX = shutil.which("g++") or shutil.which("clang++")

pytestmark = pytest.mark.skipif(
    CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


def test_batchnorm_cuda_kernels_match_double_loops(tmp_path):
    exe = tmp_path / "batchnorm_cuda_sim"
    base = [CXX, "-std=c++17", "-O1", f"-I{ROOT / 'csrc'}", str(SOURCE), "-o", str(exe)]
    sanitized = subprocess.run(
        base[:1] + ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"] + base[1:],
        capture_output=True,
        text=True,
    )
    if sanitized.returncode != 0:  # a toolchain without the sanitizer runtimes: still check the numbers
        plain = subprocess.run(base, capture_output=True, text=True)
        assert plain.returncode == 0, plain.stderr[-4000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "deadlocks 0, mismatches 0" in run.stdout
