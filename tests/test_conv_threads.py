"""The CPU conv kernels' threaded splits (conv_cpu.cpp, conv_implicit_cpu.h, conv_wgrad_cpu.h) against
float64 torch, run in a child process with GRADCORE_NUM_THREADS=3 so every split runs on any machine:
samples per work item (N >= threads), panels or (group, panel) columns per thread (N < threads), the
stride phases of the input gradient in one parallel region; and the same bits on a second run."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

TF = torch.nn.functional

# (n, c, o, (h, w), (kh, kw), kwargs): each hits one split of the three kernels with 3 threads.
SHAPES = [
    (1, 16, 16, (12, 12), (3, 3), dict(padding=1)),  # N=1: panels / weight-gradient columns split
    (2, 32, 24, (9, 11), (3, 3), dict(padding=1)),  # N < threads
    (7, 16, 20, (13, 12), (3, 3), dict(padding=1)),  # N >= threads, odd sizes: samples per work item
    (5, 24, 16, (11, 10), (3, 3), dict(stride=2, padding=1)),  # stride phases, samples per work item
    (2, 24, 16, (10, 9), (3, 3), dict(stride=2, padding=1)),  # stride phases, N < threads
    (3, 18, 24, (9, 8), (5, 3), dict(padding=(0, 1), groups=3)),  # groups: (group, panel) columns
    (1, 16, 24, (11, 13), (3, 2), dict(stride=(2, 3), padding=(1, 0), dilation=(1, 2))),
    (4, 16, 16, (12, 12), (3, 3), dict(padding=2, dilation=2)),  # dilation
    (1, 1, 32, (14, 14), (3, 3), dict(padding=1)),  # the im2col path (1 input channel), N=1
    (9, 1, 32, (14, 14), (3, 3), dict(padding=1)),  # the im2col path, samples per range
]


def _geom(kw: dict) -> tuple[int, ...]:
    def pair(v, default):
        v = kw.get(v, default)
        return v if isinstance(v, tuple) else (v, v)

    s, p, d = pair("stride", 1), pair("padding", 0), pair("dilation", 1)
    return (*s, *p, *d, kw.get("groups", 1))


def _check_all() -> None:
    """Runs in the child process: every shape, both dtypes, all three kernels, twice."""
    from gradcore import _C

    for dtype in (np.float32, np.float64):
        tol = dict(atol=1e-4, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-10, rtol=1e-10)
        for i, (n, c, o, hw, k, kw) in enumerate(SHAPES):
            g = kw.get("groups", 1)
            rng = np.random.default_rng(i)
            x = rng.uniform(-1, 1, (n, c) + hw)
            w = rng.uniform(-1, 1, (o, c // g) + k)
            tx, tw = torch.tensor(x), torch.tensor(w)
            y_want = TF.conv2d(tx, tw, **kw)
            gy = rng.uniform(-1, 1, tuple(y_want.shape))
            tgy = torch.tensor(gy)
            gx_want = torch.nn.grad.conv2d_input(x.shape, tw, tgy, **kw).numpy()
            gw_want = torch.nn.grad.conv2d_weight(tx, w.shape, tgy, **kw).numpy()
            xs, ws, gys = (a.astype(dtype) for a in (x, w, gy))
            runs = []
            for _ in range(2):
                y, gx, gw = np.empty(gy.shape, dtype), np.empty(x.shape, dtype), np.empty(w.shape, dtype)
                _C.cpu.conv2d_forward(xs, ws, y, *_geom(kw))
                _C.cpu.conv2d_backward_input(gys, ws, gx, *_geom(kw))
                _C.cpu.conv2d_backward_weight(xs, gys, gw, *_geom(kw))
                runs.append((y, gx, gw))
            label = f"shape {i} {np.dtype(dtype).name}"
            for got, want, name in zip(runs[0], (y_want.numpy(), gx_want, gw_want), ("y", "gx", "gw")):
                np.testing.assert_allclose(got, want, err_msg=f"{label} {name}", **tol)
            for a, b, name in zip(runs[0], runs[1], ("y", "gx", "gw")):
                assert np.array_equal(a, b), f"{label} {name}: two runs differ"
    print("conv threads ok")


@pytest.mark.parametrize("path", ["auto", "im2col", "implicit"])
def test_threaded_splits_match_torch_and_repeat(path):
    env = {**os.environ, "GRADCORE_NUM_THREADS": "3"}
    if path != "auto":
        env["GRADCORE_CONV_PATH"] = path
    here = os.path.dirname(os.path.abspath(__file__))
    code = f"import sys; sys.path.insert(0, {here!r}); import test_conv_threads as t; t._check_all()"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0 and "conv threads ok" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
