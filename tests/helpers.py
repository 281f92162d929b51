"""Test helpers: run a gradcore function and its float64 NumPy twin, compare values and gradients."""

import gzip
import struct

import numpy as np

import gradcore as gc
from gradcore.__main__ import main
from gradcore.testing import assert_close

TOL = {gc.float32: dict(atol=1e-5, rtol=1e-4), gc.float64: dict(atol=1e-10, rtol=1e-9)}


def check_against_numpy(fn, ref_fn, ref_grad_fn, arrays, dtype, device, tol=None):
    """fn: gradcore tensors -> tensor; ref_fn: float64 arrays -> array; ref_grad_fn: (arrays, upstream)
    -> list of float64 gradients. Forward and backward are compared with atol + rtol*|ref|."""
    tol = tol or TOL[dtype]
    inputs = [gc.tensor(a.astype(dtype.np), device=device, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    ref = ref_fn(*[a.astype(np.float64) for a in arrays])
    assert out.dtype is dtype
    assert_close(out.cpu(), ref, name="forward", **tol)
    upstream = np.random.default_rng(1).uniform(-1, 1, np.shape(ref))
    out.backward(gc.tensor(upstream.astype(dtype.np), device=device))
    grads = ref_grad_fn([a.astype(np.float64) for a in arrays], upstream)
    for i, (t, g) in enumerate(zip(inputs, grads)):
        assert_close(t.grad.cpu(), g, name=f"grad {i}", **tol)


def write_idx(path, array, gz=False):
    """Writes an array as an MNIST IDX file (big-endian, gzip-compressed when gz)."""
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype.type], array.ndim) + struct.pack(
        f">{array.ndim}i", *array.shape
    )
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(header + array.astype(array.dtype.newbyteorder(">")).tobytes())


def run_main(argv, capsys):
    """The CLI's main() in process: (exit status, stdout, stderr), argparse's own exits included."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err
