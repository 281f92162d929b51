"""torch-style free functions (gc.exp, gc.softmax, gc.allclose, gc.flatten, ...) against torch."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close

TOL = dict(atol=1e-12, rtol=1e-10)


def _check(fn_gc, fn_torch, arrays, device):
    """Forward and backward (float64, every input differentiable) against torch."""
    tins = [torch.tensor(a, requires_grad=True) for a in arrays]
    gins = [gc.tensor(a, device=device, requires_grad=True) for a in arrays]
    ref, out = fn_torch(*tins), fn_gc(*gins)
    assert out.shape == tuple(ref.shape)
    assert_close(out.cpu(), ref.detach().numpy(), name="forward", **TOL)
    upstream = np.random.default_rng(9).uniform(-1, 1, tuple(ref.shape))
    ref.backward(torch.tensor(upstream))
    out.backward(gc.tensor(upstream, device=device))
    for i, (g, t) in enumerate(zip(gins, tins)):
        assert_close(g.grad.cpu(), t.grad.numpy(), name=f"grad {i}", **TOL)


RNG = np.random.default_rng(0)
X = RNG.uniform(-2, 2, (3, 4))
POS = RNG.uniform(0.5, 2, (3, 4))


@pytest.mark.parametrize(
    "name,data",
    [
        ("exp", X),
        ("log", POS),
        ("sqrt", POS),
        ("abs", X),
        ("sigmoid", X),
        ("tanh", X),
        ("relu", X),
        ("neg", X),
    ],
)
def test_unary_functions_match_torch(name, data, device):
    _check(getattr(gc, name), getattr(torch, name), [data], device)


def test_sign_matches_torch(device):
    x = np.array([-2.0, 0.0, 3.0])
    assert gc.sign(gc.tensor(x, device=device)).tolist() == torch.sign(torch.tensor(x)).tolist()


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_binary_functions_match_torch(name, device):
    a, b = RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, (4,))
    _check(getattr(gc, name), getattr(torch, name), [a, b], device)


def test_matmul_function_matches_torch(device):
    _check(gc.matmul, torch.matmul, [RNG.uniform(-1, 1, (2, 3, 4)), RNG.uniform(-1, 1, (4, 5))], device)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_functions_match_torch(name, dim, device):
    _check(lambda x: getattr(gc, name)(x, dim), lambda x: getattr(torch, name)(x, dim), [X], device)
    _check(lambda x: getattr(gc, name)(x, dim=dim), lambda x: getattr(torch, name)(x, dim=dim), [X], device)


def test_softmax_dtype_and_dim_required(device):
    x = gc.tensor([[1, 2], [3, 4]], device=device)
    out = gc.softmax(x, dim=1, dtype=gc.float64)
    assert out.dtype is gc.float64
    assert_close(
        out.cpu(), torch.softmax(torch.tensor([[1, 2], [3, 4]]), 1, dtype=torch.float64).numpy(), **TOL
    )
    with pytest.raises(TypeError, match="give the dim"):
        gc.softmax(gc.ones(2, device=device))
    with pytest.raises(TypeError, match="needs a float tensor"):
        gc.log_softmax(x, 1)


@pytest.mark.parametrize("lo,hi", [(-0.5, 0.5), (None, 0.3), (-0.2, None), (0.5, -0.5)])
def test_clamp_and_clip_match_torch(lo, hi, device):
    _check(lambda x: gc.clamp(x, lo, hi), lambda x: torch.clamp(x, lo, hi), [X], device)
    _check(lambda x: gc.clip(x, min=lo, max=hi), lambda x: torch.clip(x, min=lo, max=hi), [X], device)


def test_clamp_needs_a_bound_and_promotes_ints(device):
    with pytest.raises(ValueError, match="at least one of min and max"):
        gc.clamp(gc.ones(2, device=device))
    x = gc.tensor([-3, 0, 3], device=device)
    for lo, hi in [(-1, 1), (-1.5, 1.5)]:
        got, ref = gc.clamp(x, lo, hi), torch.clamp(torch.tensor([-3, 0, 3]), lo, hi)
        assert got.dtype.name == str(ref.dtype).replace("torch.", "") and got.tolist() == ref.tolist()


SPECIAL = np.array([1.0, -np.inf, np.inf, np.nan, 0.0, -2.5])


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
def test_float_tests_match_torch(name, device):
    got = getattr(gc, name)(gc.tensor(SPECIAL, device=device)).cpu().numpy()
    ref = getattr(torch, name)(torch.tensor(SPECIAL)).numpy()
    assert np.array_equal(got.astype(bool), ref)
    got = getattr(gc, name)(gc.tensor([1, -2], device=device)).cpu().numpy()
    assert np.array_equal(got.astype(bool), getattr(torch, name)(torch.tensor([1, -2])).numpy())


@pytest.mark.parametrize(
    "a,b,kw",
    [
        ([1.0, 2.0], [1.0 + 1e-9, 2.0], {}),
        ([1.0, 2.0], [1.1, 2.0], {}),
        ([1.0], [1.1], {"rtol": 0.2}),
        ([0.0], [1e-9], {}),
        ([0.0], [1e-7], {}),
        ([0.0], [1e-7], {"atol": 1e-6}),
        ([np.inf, -np.inf, np.inf], [np.inf, -np.inf, -np.inf], {}),
        ([np.nan, 1.0], [np.nan, 1.0], {}),
        ([np.nan, 1.0], [np.nan, 1.0], {"equal_nan": True}),
        ([[1.0, 2.0]], [1.0], {}),
    ],
)
def test_isclose_and_allclose_match_torch(a, b, kw, device):
    got = gc.isclose(
        gc.tensor(a, dtype=gc.float64, device=device), gc.tensor(b, dtype=gc.float64, device=device), **kw
    )
    ref = torch.isclose(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), **kw)
    assert np.array_equal(got.cpu().numpy().astype(bool), ref.numpy())
    got = gc.allclose(
        gc.tensor(a, dtype=gc.float64, device=device), gc.tensor(b, dtype=gc.float64, device=device), **kw
    )
    assert got is torch.allclose(
        torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), **kw
    )


def test_isclose_of_ints_and_bad_tolerances(device):
    a, b = gc.tensor([1, 5], device=device), gc.tensor([1, 6], device=device)
    assert gc.isclose(a, b).cpu().numpy().astype(bool).tolist() == [True, False]
    assert gc.allclose(a, b, atol=1) is True
    with pytest.raises(ValueError, match="non-negative"):
        gc.isclose(a, b, rtol=-1)


def test_equal_matches_torch(device):
    def both(a, b):
        got = gc.equal(gc.tensor(a, device=device), gc.tensor(b, device=device))
        assert got is torch.equal(torch.tensor(a), torch.tensor(b)), (a, b)

    both([1, 2], [1, 2])
    both([1, 2], [1, 3])
    both([1.0, 2.0], [1.0, 2.0])
    both([[1, 2]], [1, 2])  # shapes differ: not equal (no broadcasting)
    both([], [])
    both([np.nan], [np.nan])


@pytest.mark.parametrize(
    "start,end",
    [(0, -1), (1, -1), (0, 1), (1, 2), (-2, -1), (2, 2)],
)
def test_flatten_matches_torch(start, end, device):
    x = RNG.uniform(-1, 1, (2, 3, 4))
    _check(lambda t: gc.flatten(t, start, end), lambda t: torch.flatten(t, start, end), [x], device)


def test_flatten_0d_and_errors(device):
    assert gc.flatten(gc.tensor(3.0, device=device)).shape == (1,)
    with pytest.raises(ValueError, match="comes after end_dim"):
        gc.flatten(gc.ones(2, 3, 4, device=device), 2, 1)
    with pytest.raises(IndexError, match="out of range"):
        gc.flatten(gc.ones(2, 3, device=device), 0, 2)


def test_shape_functions_match_torch(device):
    x = RNG.uniform(-1, 1, (2, 1, 3))
    for fn_gc, fn_torch in [
        (lambda t: gc.reshape(t, (3, -1)), lambda t: torch.reshape(t, (3, -1))),
        (lambda t: gc.permute(t, (2, 0, 1)), lambda t: torch.permute(t, (2, 0, 1))),
        (lambda t: gc.transpose(t, 0, 2), lambda t: torch.transpose(t, 0, 2)),
        (lambda t: gc.transpose(t, -1, 0), lambda t: torch.transpose(t, -1, 0)),
        (lambda t: gc.squeeze(t), lambda t: torch.squeeze(t)),
        (lambda t: gc.squeeze(t, 1), lambda t: torch.squeeze(t, 1)),
        (lambda t: gc.squeeze(t, 0), lambda t: torch.squeeze(t, 0)),  # not size 1: unchanged
        (lambda t: gc.squeeze(t, (0, 1)), lambda t: torch.squeeze(t, (0, 1))),
        (lambda t: gc.unsqueeze(t, 0), lambda t: torch.unsqueeze(t, 0)),
        (lambda t: gc.unsqueeze(t, -1), lambda t: torch.unsqueeze(t, -1)),
        (lambda t: gc.unsqueeze(t, 3), lambda t: torch.unsqueeze(t, 3)),
    ]:
        _check(fn_gc, fn_torch, [x], device)
    m = RNG.uniform(-1, 1, (2, 3))
    _check(lambda t: gc.transpose(t, 0, 1), lambda t: torch.transpose(t, 0, 1), [m], device)


def test_shape_function_errors(device):
    x = gc.ones(2, 3, device=device)
    with pytest.raises(IndexError, match="out of range"):
        gc.squeeze(x, 2)
    with pytest.raises(IndexError, match="out of range"):
        gc.unsqueeze(x, 3)
    with pytest.raises(IndexError, match="out of range"):
        gc.transpose(x, 0, 2)
    with pytest.raises(TypeError, match="must be a Tensor"):
        gc.exp([1.0])
    with pytest.raises(TypeError, match="must be a Tensor"):
        gc.matmul(x, np.ones((3, 2)))
    s = gc.tensor(2.0, device=device)
    assert (
        gc.squeeze(s, 0).shape == ()
        and gc.unsqueeze(s, -1).shape == (1,)
        and gc.transpose(s, 0, -1).shape == ()
    )
