"""The CUDA conv kernels' index maps, checked without a GPU: tests/native/conv_cuda_sim.cpp compiles the
unchanged device code of csrc/conv_cuda.cuh and csrc/implicit_gemm_cuda.cuh for the host (threads as
coroutines, __syncthreads as a block barrier) under AddressSanitizer and UBSan, and compares both variants
with a plain-loop reference: every tile shape, split-K plans, grid chunking, groups, strides, dilation,
padding. On a GPU, tests/test_cuda_conv.py checks the same kernels on the device."""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "native" / "conv_cuda_sim.cpp"
CXX = shutil.which("g++") or shutil.which("clang++")

pytestmark = pytest.mark.skipif(
    CXX is None, reason="no host C++ compiler (g++ or clang++) to build the simulation"
)


def _build(out: pathlib.Path) -> pathlib.Path:
    exe = out / "conv_cuda_sim"
    base = [CXX, "-std=c++17", "-O1", f"-I{ROOT / 'csrc'}", str(SOURCE), "-o", str(exe)]
    sanitized = subprocess.run(
        base[:1] + ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"] + base[1:],
        capture_output=True,
        text=True,
    )
    if sanitized.returncode != 0:  # a toolchain without the sanitizer runtimes: still check the numbers
        plain = subprocess.run(base, capture_output=True, text=True)
        assert plain.returncode == 0, plain.stderr[-4000:]
    return exe


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("conv_cuda_sim"))


def test_cuda_conv_kernels_match_the_reference_on_the_host(sim):
    # 16 fixed geometries (the VAE's layers among them) and 8 random ones, float32 and float64.
    run = subprocess.run(
        [str(sim), "8"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0"},
    )
    report = run.stdout[-6000:] + run.stderr[-6000:]
    assert run.returncode == 0, report
    assert "24 cases, 0 failures" in run.stdout, report
    assert "ERROR: AddressSanitizer" not in run.stderr and "runtime error" not in run.stderr, report
