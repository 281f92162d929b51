"""nn.utils.weight_norm / remove_weight_norm against torch (float64): parameter names and order, outputs,
the gradients of weight_g and weight_v, every dim choice, removal, double registration."""

import warnings

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close

RNG = np.random.default_rng(43)


@pytest.mark.parametrize("make,shape,dim", [
    (lambda lib: lib.nn.Linear(3, 4), (5, 3), 0),
    (lambda lib: lib.nn.Linear(3, 4), (5, 3), 1),
    (lambda lib: lib.nn.Linear(3, 4), (5, 3), None),
    (lambda lib: lib.nn.Conv1d(2, 3, 3), (2, 2, 6), 0),
])
def test_weight_norm_matches_torch(make, shape, dim):
    ours, theirs = make(gc).to(dtype=gc.float64), make(torch).double()
    with torch.no_grad():
        for (_, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
            b.copy_(torch.tensor(a.numpy()))
    gc.nn.utils.weight_norm(ours, dim=dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(theirs, dim=dim)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for (n, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(a.numpy(), b.detach().numpy(), atol=1e-12, rtol=1e-12, name=n)
    x = RNG.standard_normal(shape)
    gy, ty = ours(gc.tensor(x)), theirs(torch.tensor(x))
    assert_close(gy.numpy(), ty.detach().numpy(), atol=1e-12, rtol=1e-10)
    w = RNG.standard_normal(tuple(ty.shape))
    (gy * gc.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for (n, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(a.grad.numpy(), b.grad.numpy(), atol=1e-12, rtol=1e-10, name=n)
    with gc.no_grad(), torch.no_grad():  # a changed g changes the next forward's weight
        ours.weight_g.mul_(2.0)
        theirs.weight_g.mul_(2.0)
    assert_close(ours(gc.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12, rtol=1e-10)
    gc.nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert_close(ours.weight.numpy(), theirs.weight.detach().numpy(), atol=1e-12, rtol=1e-10)


def test_weight_norm_errors():
    m = gc.nn.utils.weight_norm(gc.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="two weight_norm hooks"):
        gc.nn.utils.weight_norm(m)
    with pytest.raises(ValueError, match="not found"):
        gc.nn.utils.remove_weight_norm(gc.nn.Linear(2, 2))
