"""Issue 13's wrong answers, each against PyTorch (float64): 0-d results, empty tensors, sign, clamp,
pow at zero, integer pow and unary promotion, 0-d softmax, dim validation, NumPy scalars, transpose."""

import numpy as np
import pytest
import torch
from hypothesis import given
from torch_ref import compare_with_torch

import gradcore as gc
from gradcore.nn import functional as F
from gradcore.testing import assert_close, gradcheck, shapes

rng = np.random.default_rng(0)


def test_int_index_of_1d_gives_a_0d_tensor(device):
    x = gc.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x[1]
    assert y.shape == () and isinstance(y.numpy(), np.ndarray)
    assert (y * 2).item() == 4.0 and y.sum().item() == 2.0
    y.backward()
    assert x.grad.cpu().tolist() == [0.0, 1.0, 0.0]
    m = gc.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    assert m[1, 0].shape == () and m[1, 0].item() == 3.0
    assert gc.tensor([[5]])[0][0].item() == 5


def test_empty_matmul_and_sum_and_their_backward(device):
    mm = lambda a, b: a @ b  # noqa: E731
    compare_with_torch(mm, mm, np.ones((8, 8)), np.ones((8, 0)), device=device)
    compare_with_torch(mm, mm, np.ones((3, 0)), np.ones((0, 2)), device=device)
    compare_with_torch(lambda a: a.sum(axis=0), lambda a: a.sum(0), np.ones((4, 0)), device=device)
    compare_with_torch(lambda a: a.sum(), lambda a: a.sum(), np.ones((0, 3)), device=device)


@given(shape=shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
def test_elementwise_and_shape_ops_accept_empty_dims(shape):
    x = rng.normal(size=shape)
    f = lambda a: ((a * 2).exp() + a.sign()).reshape(-1).flatten().unsqueeze(0)  # noqa: E731
    compare_with_torch(f, f, x)
    g = lambda a: a.transpose(0, -1).clamp(-0.5, 0.5)  # noqa: E731
    compare_with_torch(g, g, x)


def test_sign_is_attached_with_zero_gradient():
    x = gc.tensor([-2.0, 0.0, 3.0], dtype=gc.float64, requires_grad=True)
    y = x.sign()
    assert y.requires_grad
    (y * 5 + x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    compare_with_torch(lambda a: a.sign() * a, lambda a: a.sign() * a, np.array([-1.0, 0.0, 2.0]))


def test_clamp_gradient_is_one_at_the_boundaries():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    compare_with_torch(lambda a: a.clamp(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), x)
    compare_with_torch(lambda a: a.clamp(min=0.0), lambda a: a.clamp(min=0.0), x)
    compare_with_torch(lambda a: a.clamp(max=1.0), lambda a: a.clamp(max=1.0), x)
    compare_with_torch(lambda a: a.clamp(1.0, 0.0), lambda a: a.clamp(1.0, 0.0), x)  # min > max gives max


def test_clamp_with_tensor_bounds_and_none_none():
    x, lo, hi = rng.normal(size=(3, 4)), rng.normal(size=(4,)) - 0.5, rng.normal(size=(3, 1)) + 0.5
    compare_with_torch(lambda a, b, c: a.clamp(b, c), lambda a, b, c: a.clamp(b, c), x, lo, hi)
    with pytest.raises(ValueError, match="at least one"):
        gc.tensor([1.0]).clamp(None, None)
    with pytest.raises(RuntimeError):
        torch.tensor([1.0]).clamp(None, None)
    assert gc.tensor([1, 5, 9]).clamp(2, 6).tolist() == [2, 5, 6]


def test_pow_gradients_at_zero_match_torch():
    f = lambda a, b: a**b  # noqa: E731
    compare_with_torch(f, f, np.array([0.0, 0.0, 2.0, 0.0]), np.array([0.0, 2.0, 0.0, 1.5]))
    compare_with_torch(lambda a: a**0.0, lambda a: a**0.0, np.array([0.0, 1.0]))
    compare_with_torch(lambda a: 0.0**a, lambda a: 0.0**a, np.array([0.0, 1.0, 2.0]))
    x = gc.tensor([0.5, 1.5], dtype=gc.float64, requires_grad=True)
    y = gc.tensor([1.2, -0.7], dtype=gc.float64, requires_grad=True)
    gradcheck(lambda a, b: a**b, [x, y])


def test_integer_pow_stays_integer():
    x = gc.tensor([2, 3, -4])
    assert (x**2).dtype is gc.int64 and (x**2).tolist() == [4, 9, 16]
    assert (x**0).tolist() == [1, 1, 1]
    assert (2**gc.tensor([0, 10])).tolist() == [1, 1024] and (2 ** gc.tensor([3])).dtype is gc.int64
    i32 = gc.tensor(np.array([3], np.int32)) ** 3
    assert i32.dtype is gc.int32 and i32.item() == 27
    assert (x**0.5).dtype is gc.float32 and (x**2.0).dtype is gc.float32
    assert (gc.tensor([3]) ** gc.tensor([2])).tolist() == [9]
    with pytest.raises(ValueError, match="negative integer powers"):
        x**-1
    with pytest.raises(RuntimeError):
        torch.tensor([2]) ** -1


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh"])
def test_unary_of_integers_promotes_to_float(name):
    ints = np.array([1, 2, 3])
    got, want = getattr(gc.tensor(ints), name)(), getattr(torch.tensor(ints), name)()
    assert got.dtype is gc.float32 and want.dtype == torch.float32
    assert_close(got, want.numpy(), rtol=1e-6)
    assert getattr(gc.tensor([True]), name)().dtype is gc.float32


@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_and_log_softmax_on_0d(dim):
    x = np.array(0.7)
    compare_with_torch(lambda a: F.softmax(a, dim), lambda a: torch.softmax(a, dim), x)
    compare_with_torch(lambda a: F.log_softmax(a, dim), lambda a: torch.log_softmax(a, dim), x)


def test_dims_are_validated_like_torch():
    s = gc.tensor(1.0)
    assert s.squeeze(0).shape == () and s.squeeze(-1).shape == () and s.unsqueeze(0).shape == (1,)
    x = gc.zeros(2, 1, 3, 1)
    for bad in (lambda: x.squeeze(50), lambda: x.unsqueeze(5), lambda: x.transpose(0, 4),
                lambda: x.permute(0, 1, 2, 4), lambda: x.flatten(0, 7), lambda: s.squeeze(1),
                lambda: x.sum(4), lambda: x.unflatten(9, (1, 1))):
        with pytest.raises(IndexError, match="out of range"):
            bad()
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0, 1, 2)
    assert x.squeeze(1).shape == (2, 3, 1) and x.squeeze(0).shape == (2, 1, 3, 1)
    assert x.squeeze((1, 3)).shape == (2, 3) and x.squeeze().shape == (2, 3)
    assert x.unsqueeze(-1).shape == (2, 1, 3, 1, 1)


def test_numpy_scalars_keep_their_dtype():
    assert gc.tensor(np.float64(1.3)).dtype is gc.float64
    assert gc.tensor(np.float64(1.3)).item() == 1.3
    assert gc.tensor(np.float32(1.5)).dtype is gc.float32
    assert gc.tensor(np.int32(4)).dtype is gc.int32
    assert gc.tensor(1.3).dtype is gc.float32 and gc.tensor(3).dtype is gc.int64


def test_transpose_swaps_two_dims_like_torch():
    x = rng.normal(size=(2, 3, 4))
    for d0, d1 in [(0, 1), (0, 2), (-1, 0), (1, 1)]:
        f = lambda a, i=d0, j=d1: a.transpose(i, j)  # noqa: E731
        compare_with_torch(f, f, x)
    compare_with_torch(lambda a: a.transpose(0, 1), lambda a: a.transpose(0, 1), x[0])
    compare_with_torch(lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), x)
    compare_with_torch(lambda a: a.permute(-1, 0, 1), lambda a: a.permute(-1, 0, 1), x)
    assert gc.zeros(2, 3).T.shape == (3, 2) and gc.zeros(2, 3).t().shape == (3, 2)


@pytest.mark.parametrize("start,end", [(0, -1), (1, 2), (0, 1), (2, 2), (-2, -1)])
def test_flatten_matches_torch(start, end):
    x = rng.normal(size=(2, 3, 4))
    compare_with_torch(lambda a: a.flatten(start, end), lambda a: a.flatten(start, end), x)
    assert gc.tensor(2.0).flatten().shape == (1,)


def test_unflatten_matches_torch():
    x = rng.normal(size=(2, 12))
    for dim, sizes in [(1, (3, 4)), (-1, (2, -1, 3)), (0, (1, 2))]:
        f = lambda a, d=dim, s=sizes: a.unflatten(d, s)  # noqa: E731
        compare_with_torch(f, f, x)
    with pytest.raises(ValueError):
        gc.zeros(2, 12).unflatten(1, (5, 3))
