"""The CPU GEMM (csrc/matmul_cpu.cpp) at its edges: shapes around every micro-tile, strip and cache-block
edge, transposed operands, skinny products both ways, both dtypes, against float64 NumPy; and the native
gemm_strided entry (with its accumulate option) under AddressSanitizer through tests/native/gemm_check.cpp."""

import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

import gradcore as gc
from gradcore.testing import assert_close

ROOT = pathlib.Path(__file__).resolve().parent.parent
CXX = shutil.which("g++") or shutil.which("clang++")

# MR = 12 rows; NR = 32 (float32) / 16 (float64) columns; KC = 256; MC = 96; plus the MLP's shapes.
EDGE_SHAPES = [
    (1, 1, 1),
    (4, 16, 3),
    (8, 32, 5),
    (11, 31, 7),
    (12, 32, 256),
    (13, 33, 257),
    (25, 17, 1),
    (97, 65, 40),
    (64, 10, 128),  # h2 @ W3.T: N = 10
    (10, 128, 64),  # g.T @ h2: K = batch
    (256, 784, 64),  # the first layer's weight gradient
    (32, 300, 75),  # a conv product: M = 32
    (300, 32, 75),
    (1, 70, 300),  # gemv both ways
    (70, 1, 300),
]


def _ref(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a.astype(np.float64) @ b.astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("M,N,K", EDGE_SHAPES)
def test_matmul_edges_and_transposes_match_float64_numpy(M, N, K, ta, tb, dtype):
    rng = np.random.default_rng(M * 1000 + N * 10 + K)
    a = rng.uniform(-1, 1, (K, M) if ta else (M, K)).astype(dtype)
    b = rng.uniform(-1, 1, (N, K) if tb else (K, N)).astype(dtype)
    ga, gb = gc.tensor(a), gc.tensor(b)
    ga, gb = (ga.T if ta else ga), (gb.T if tb else gb)  # strided views: packing reads them transposed
    out = (ga @ gb).numpy()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert out.dtype == dtype and out.shape == (M, N)
    assert_close(out, _ref(a.T if ta else a, b.T if tb else b), rtol=tol, atol=tol * np.sqrt(K))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_large_batch_products_match_float64_numpy(dtype):
    # The three products of a Linear at batch 2048, split over threads: y = x @ W.T, gx = g @ W, gW = g.T @ x.
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2048, 128)).astype(dtype)
    w = rng.uniform(-1, 1, (10, 128)).astype(dtype)
    g = rng.uniform(-1, 1, (2048, 10)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    gx, gw, gg = gc.tensor(x), gc.tensor(w), gc.tensor(g)
    assert_close((gx @ gw.T).numpy(), _ref(x, w.T), rtol=tol, atol=tol * 12)
    assert_close((gg @ gw).numpy(), _ref(g, w), rtol=tol, atol=tol * 4)
    assert_close((gg.T @ gx).numpy(), _ref(g.T, x), rtol=tol, atol=tol * 50)


@pytest.mark.skipif(CXX is None, reason="no host C++ compiler to build tests/native/gemm_check.cpp")
def test_gemm_strided_with_accumulate_under_asan(tmp_path):
    exe = tmp_path / "gemm_check"
    src = [str(ROOT / "tests" / "native" / "gemm_check.cpp"), str(ROOT / "csrc" / "matmul_cpu.cpp")]
    # -march=native as the shipped build (GRADCORE_NATIVE_ARCH): the AVX-512 transposes and masked stores
    base = [CXX, "-std=c++17", "-O1", "-march=native", "-pthread", f"-I{ROOT / 'csrc'}", *src, "-o", str(exe)]
    sanitized = subprocess.run(
        base[:1] + ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"] + base[1:],
        capture_output=True,
        text=True,
    )
    if sanitized.returncode != 0:  # a toolchain without the sanitizer runtimes: still check the numbers
        plain = subprocess.run(base, capture_output=True, text=True)
        assert plain.returncode == 0, plain.stderr[-4000:]
    # Three threads, so the split paths run even on a 1-core machine.
    env = {**os.environ, "GRADCORE_NUM_THREADS": "3", "ASAN_OPTIONS": "detect_leaks=0"}
    run = subprocess.run([str(exe), "20"], capture_output=True, text=True, timeout=600, env=env)
    report = run.stdout[-6000:] + run.stderr[-6000:]
    assert run.returncode == 0, report
    assert "888 cases, 0 failures" in run.stdout, report
    assert "ERROR: AddressSanitizer" not in run.stderr and "runtime error" not in run.stderr, report


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("M,N,K", [(10, 128, 4096), (33, 70, 1500), (64, 256, 2048), (5, 3, 1030)])
def test_long_k_products_split_between_threads_match_float64_numpy(M, N, K, ta, tb, dtype):
    # K >= 1024 and >= 4 max(M, N): each thread sums its own K range (the weight gradients g.T @ x at a
    # large batch), then the parts are added; K not a multiple of the 256-long ranges, M / N below a tile.
    rng = np.random.default_rng(M + N + K)
    a = rng.uniform(-1, 1, (K, M) if ta else (M, K)).astype(dtype)
    b = rng.uniform(-1, 1, (N, K) if tb else (K, N)).astype(dtype)
    ga, gb = gc.tensor(a), gc.tensor(b)
    ga, gb = (ga.T if ta else ga), (gb.T if tb else gb)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close((ga @ gb).numpy(), _ref(a.T if ta else a, b.T if tb else b), rtol=tol, atol=tol * np.sqrt(K))


# Linear's forward as one GEMM with the bias added in its store (kernel matmul_bias): shapes reaching each
# path of the GEMM (gemv both ways, N below one vector, partial right edges, rows not a multiple of the
# 12-row tile, a pre-packed B split over threads, K split over threads, K = 0).
BIAS_SHAPES = [
    (1, 7, 5),
    (9, 1, 33),
    (64, 10, 128),
    (13, 33, 257),
    (1000, 70, 400),  # >= 5e7 flop: B packed once, shared by the threads
    (32, 64, 2048),
    (6, 5, 0),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("M,N,K", BIAS_SHAPES)
def test_linear_bias_epilogue_matches_torch(M, N, K, dtype):
    import torch

    rng = np.random.default_rng(M * 7 + N + K)
    x = rng.uniform(-1, 1, (M, K)).astype(dtype)
    w = rng.uniform(-1, 1, (N, K)).astype(dtype)
    b = rng.uniform(-1, 1, N).astype(dtype)
    out = gc.nn.functional.linear(gc.tensor(x), gc.tensor(w), gc.tensor(b)).numpy()
    ref = torch.nn.functional.linear(*(torch.from_numpy(v.astype(np.float64)) for v in (x, w, b))).numpy()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert out.dtype == dtype and out.shape == (M, N)
    assert_close(out, ref, rtol=tol, atol=tol * np.sqrt(K + 1))


def test_matmul_bias_kernel_reads_strided_operands_and_a_strided_bias():
    rng = np.random.default_rng(5)
    a = rng.uniform(-1, 1, (40, 97)).astype(np.float32)
    b = rng.uniform(-1, 1, (50, 40)).astype(np.float32)  # read transposed: (40 x 50) through strides
    bias = rng.uniform(-1, 1, 100).astype(np.float32)[::2]  # every second value: stride 2
    out = np.empty((97, 50), np.float32)
    gc._C.cpu.matmul_bias(a.T, b.T, bias, out)
    assert_close(out, _ref(a.T, b.T) + bias.astype(np.float64), rtol=1e-5, atol=1e-5)


def test_matmul_bias_kernel_rejects_a_bias_of_the_wrong_shape_or_dtype():
    a, b = np.ones((4, 3), np.float32), np.ones((3, 5), np.float32)
    out = np.empty((4, 5), np.float32)
    with pytest.raises(Exception, match="bias must have shape"):
        gc._C.cpu.matmul_bias(a, b, np.ones(4, np.float32), out)
    with pytest.raises(Exception, match="dtype"):
        gc._C.cpu.matmul_bias(a, b, np.ones(5, np.float64), out)


def test_linear_with_bias_still_differentiates_every_input():
    rng = np.random.default_rng(6)
    x = gc.tensor(rng.uniform(-1, 1, (7, 5)), requires_grad=True)
    w = gc.tensor(rng.uniform(-1, 1, (3, 5)), requires_grad=True)
    b = gc.tensor(rng.uniform(-1, 1, 3), requires_grad=True)
    assert gc.testing.gradcheck(lambda x, w, b: gc.nn.functional.linear(x, w, b), (x, w, b))
