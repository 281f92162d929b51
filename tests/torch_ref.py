"""Test helper: run a function in gradcore and in PyTorch (CPU, float64); compare forward and backward."""

import numpy as np
import torch

import gradcore as gc
from gradcore.testing import assert_close


def compare_with_torch(gc_fn, torch_fn, *arrays, device="cpu", seed=0, atol=1e-10, rtol=1e-9):
    """arrays: NumPy inputs (float ones get requires_grad). Checks shape, dtype, values and, when the
    torch result needs grad, every float input's gradient under one random upstream gradient."""
    gin = [gc.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
    tin = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    got, want = gc_fn(*gin), torch_fn(*tin)
    assert got.shape == tuple(want.shape), (got.shape, tuple(want.shape))
    assert got.dtype.name == str(want.dtype).replace("torch.", ""), (got.dtype, want.dtype)
    assert_close(got.cpu(), want.detach().numpy().astype(np.float64), atol=atol, rtol=rtol, name="forward")
    if not want.requires_grad:
        return got
    up = np.random.default_rng(seed).uniform(-1, 1, tuple(want.shape))
    want.backward(torch.tensor(up, dtype=want.dtype))
    got.backward(gc.tensor(up, dtype=got.dtype, device=device))
    for i, (g, t) in enumerate(zip(gin, tin)):
        if not t.requires_grad:
            continue
        expected = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        actual = g.grad.cpu().numpy() if g.grad is not None else np.zeros(g.shape)
        assert_close(actual, expected, atol=atol, rtol=rtol, name=f"grad {i}")
    return got
