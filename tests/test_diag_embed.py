"""gc.diag_embed with every offset / dim1 / dim2 against torch (float64), forward and backward, and its
errors."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close

RNG = np.random.default_rng(11)


ARGS = [(0, -2, -1), (1, -1, -2), (-2, 0, 1), (1, 0, -1), (0, 1, 0), (-1, -3, 0), (2, 0, 2), (-1, 3, 1)]
CASES = [(shape, *a) for shape in [(3,), (2, 3), (2, 1, 4)] for a in ARGS  # the dims valid for the rank
         if all(-len(shape) - 1 <= d <= len(shape) for d in a[1:])
         and a[1] % (len(shape) + 1) != a[2] % (len(shape) + 1)]


@pytest.mark.parametrize("shape,offset,dim1,dim2", CASES)
def test_diag_embed_matches_torch(device, shape, offset, dim1, dim2):
    x = RNG.standard_normal(shape)
    g, t = gc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    gy, ty = gc.diag_embed(g, offset, dim1, dim2), torch.diag_embed(t, offset, dim1, dim2)
    assert gy.shape == tuple(ty.shape)
    assert_close(gy.numpy(), ty.detach().numpy())
    w = RNG.standard_normal(tuple(ty.shape))
    (gy * gc.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(g.grad.numpy(), t.grad.numpy())
    assert_close(g.diag_embed(offset=offset, dim1=dim1, dim2=dim2).numpy(), ty.detach().numpy())


def test_diag_embed_errors():
    with pytest.raises(RuntimeError, match="cannot be identical"):
        gc.diag_embed(gc.ones(3), 0, 0, 0)
    with pytest.raises(IndexError):
        gc.diag_embed(gc.ones(3), 0, 0, 3)
    with pytest.raises(IndexError):
        gc.diag_embed(gc.tensor(1.0))
