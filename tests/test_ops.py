"""Every primitive, forward and backward, against a float64 NumPy reference, on each device and dtype."""

import numpy as np
import pytest
from helpers import check_against_numpy

import gradcore as gc

rng = np.random.default_rng(0)
DTYPES = [gc.float32, gc.float64]


def sig(x):
    return 1 / (1 + np.exp(-x))


UNARY = {
    "neg": (lambda t: -t, lambda x: -x, lambda x, g: -g),
    "exp": (lambda t: t.exp(), np.exp, lambda x, g: g * np.exp(x)),
    "log": (lambda t: t.log(), np.log, lambda x, g: g / x),
    "relu": (lambda t: t.relu(), lambda x: np.maximum(x, 0), lambda x, g: g * (x > 0)),
    "sigmoid": (lambda t: t.sigmoid(), sig, lambda x, g: g * sig(x) * (1 - sig(x))),
    "tanh": (lambda t: t.tanh(), np.tanh, lambda x, g: g * (1 - np.tanh(x) ** 2)),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, lambda x, g: g / (2 * np.sqrt(x))),
    "abs": (lambda t: t.abs(), np.abs, lambda x, g: g * np.sign(x)),
    "pow3": (lambda t: t**3, lambda x: x**3, lambda x, g: g * 3 * x**2),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", DTYPES)
def test_unary(name, dtype, device):
    fn, ref, dref = UNARY[name]
    x = rng.uniform(-2, 2, (3, 5))
    if name in ("log", "sqrt"):
        x = np.abs(x) + 0.1
    x[np.abs(x) < 0.05] = 0.3  # keep away from kinks
    check_against_numpy(fn, ref, lambda a, g: [dref(a[0], g)], [x], dtype, device)


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, lambda a, b, g: (g, g)),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, lambda a, b, g: (g, -g)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, lambda a, b, g: (g * b, g * a)),
    "div": (lambda a, b: a / b, lambda a, b: a / b, lambda a, b, g: (g / b, -g * a / b**2)),
    "pow": (
        lambda a, b: a**b,
        lambda a, b: a**b,
        lambda a, b, g: (g * b * a ** (b - 1), g * a**b * np.log(a)),
    ),
    "maximum": (lambda a, b: a.maximum(b), np.maximum, lambda a, b, g: (g * (a > b), g * (a < b))),
    "minimum": (lambda a, b: a.minimum(b), np.minimum, lambda a, b, g: (g * (a < b), g * (a > b))),
}


def _unbroadcast(g, shape):
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, n in enumerate(shape):
        if n == 1:
            g = g.sum(i, keepdims=True)
    return g


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize(
    "shapes", [((4, 3), (4, 3)), ((4, 3), (3,)), ((4, 1), (1, 3)), ((2, 4, 3), ()), ((), (3,))]
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_broadcasting(name, shapes, dtype, device):
    fn, ref, dref = BINARY[name]
    a = rng.uniform(0.5, 2, shapes[0])
    b = rng.uniform(0.5, 2, shapes[1])

    def grads(arrs, g):
        ga, gb = dref(*np.broadcast_arrays(*arrs), g)
        return [_unbroadcast(ga, shapes[0]), _unbroadcast(gb, shapes[1])]

    check_against_numpy(fn, ref, grads, [a, b], dtype, device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_mean(dtype, axis, keepdims, device):
    x = rng.normal(size=(3, 4, 5))
    ax = (
        tuple(a % 3 for a in (axis if isinstance(axis, tuple) else (axis,)))
        if axis is not None
        else (0, 1, 2)
    )
    count = int(np.prod([x.shape[a] for a in ax]))

    def back(arrs, g, scale=1.0):
        g = np.asarray(g)
        if not keepdims:
            g = np.expand_dims(g, ax)
        return [np.broadcast_to(g, x.shape) * scale]

    check_against_numpy(
        lambda t: t.sum(axis, keepdims), lambda a: a.sum(axis, keepdims=keepdims), back, [x], dtype, device
    )
    check_against_numpy(
        lambda t: t.mean(axis, keepdims),
        lambda a: a.mean(axis, keepdims=keepdims),
        lambda arrs, g: back(arrs, g, 1.0 / count),
        [x],
        dtype,
        device,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_max(dtype, axis, device):
    x = rng.permutation(20).reshape(4, 5).astype(np.float64)  # distinct values: one argmax

    def back(arrs, g):
        m = arrs[0].max(axis, keepdims=True)
        return [(arrs[0] == m) * np.expand_dims(g, axis) if axis is not None else (arrs[0] == m) * g]

    # amax is torch's value-only max over dims; max(dim) gives (values, indices), see test_reductions.py
    check_against_numpy(lambda t: t.amax(axis), lambda a: a.max(axis), back, [x], dtype, device)


def test_max_ties_share_gradient(device):
    x = gc.tensor([[1.0, 3.0, 3.0]], device=device, requires_grad=True)
    x.max().backward()
    assert x.grad.cpu().tolist() == [[0.0, 0.5, 0.5]]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 33, 5), (33, 7, 1000), (64, 784, 256), (130, 17, 70)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul(dtype, m, k, n, ta, tb, device):
    a = rng.normal(size=(m, k))
    b = rng.normal(size=(k, n))

    def fn(x, y):
        # Transposed operands are strided views of a transposed copy: no data is copied for them.
        x = x.T.contiguous().T if ta else x
        y = y.T.contiguous().T if tb else y
        return x @ y

    tol = dict(atol=1e-4 * np.sqrt(k), rtol=1e-4) if dtype is gc.float32 else None
    check_against_numpy(
        fn, lambda x, y: x @ y, lambda arrs, g: [g @ arrs[1].T, arrs[0].T @ g], [a, b], dtype, device, tol
    )


def test_matmul_transposed_operands_are_views():
    a = gc.randn(5, 3)
    t = a.T
    assert not t.numpy().flags.c_contiguous
    assert np.shares_memory(t.numpy(), a.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,c", [(1, 1), (64, 10), (5, 1000), (300, 3)])
def test_softmax_cross_entropy(dtype, n, c, device):
    logits = rng.normal(scale=3, size=(n, c))
    targets = rng.integers(0, c, n)

    def ref(x):
        lse = np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)) + x.max(1)
        return np.mean(lse - x[np.arange(n), targets])

    def dref(arrs, g):
        x = arrs[0]
        p = np.exp(x - x.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(n), targets] -= 1
        return [p / n * g]

    t = gc.tensor(targets, device=device)
    check_against_numpy(lambda x: gc.nn.functional.cross_entropy(x, t), ref, dref, [logits], dtype, device)


def test_softmax_ce_is_stable_for_huge_logits(device):
    x = gc.tensor([[1000.0, -1000.0, 0.0]], device=device, requires_grad=True)
    loss = gc.nn.functional.cross_entropy(x, gc.tensor([0], device=device))
    loss.backward()
    assert loss.item() == 0.0
    assert np.isfinite(x.grad.cpu().numpy()).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_reshape_transpose_expand_getitem(dtype, device):
    x = rng.normal(size=(2, 3, 4))
    check_against_numpy(
        lambda t: t.reshape(4, 6) * 2,
        lambda a: a.reshape(4, 6) * 2,
        lambda arrs, g: [(g * 2).reshape(2, 3, 4)],
        [x],
        dtype,
        device,
    )
    check_against_numpy(
        lambda t: t.transpose(0, 2),
        lambda a: a.transpose(2, 1, 0),
        lambda arrs, g: [g.transpose(2, 1, 0)],
        [x],
        dtype,
        device,
    )
    check_against_numpy(
        lambda t: t.permute(1, 2, 0).reshape(-1),
        lambda a: a.transpose(1, 2, 0).reshape(-1),
        lambda arrs, g: [g.reshape(3, 4, 2).transpose(2, 0, 1)],
        [x],
        dtype,
        device,
    )
    y = rng.normal(size=(3, 1))
    check_against_numpy(
        lambda t: t.expand(2, 3, 4),
        lambda a: np.broadcast_to(a, (2, 3, 4)),
        lambda arrs, g: [g.sum(0).sum(1, keepdims=True)],
        [y],
        dtype,
        device,
    )

    def scatter(arrs, g):
        out = np.zeros_like(arrs[0])
        out[1, :, 1:3] = g
        return [out]

    check_against_numpy(lambda t: t[1, :, 1:3], lambda a: a[1, :, 1:3], scatter, [x], dtype, device)


def test_cast_backward(device):
    x = gc.tensor([1.5, 2.5], dtype=gc.float32, device=device, requires_grad=True)
    y = x.to(gc.float64) * 2
    assert y.dtype is gc.float64
    y.sum().backward()
    assert x.grad.dtype is gc.float32 and x.grad.cpu().tolist() == [2.0, 2.0]


def test_comparisons_and_argmax(device):
    a = gc.tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 0.0]], device=device)
    assert (a > 2).cpu().tolist() == [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    assert (a == 3.0).cpu().tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    assert a.argmax(-1).cpu().tolist() == [1, 0]
    assert a.argmax(0).cpu().tolist() == [1, 0, 0]
    assert a.argmax(-1).dtype is gc.int64


def test_integer_arithmetic_and_promotion(device):
    i = gc.tensor([1, 2, 3], device=device)
    assert i.dtype is gc.int64
    assert (i + i).cpu().tolist() == [2, 4, 6]
    assert (i / 2).dtype is gc.float32
    f = gc.tensor([1.0, 1.0, 1.0], dtype=gc.float64, device=device)
    assert (i + f).dtype is gc.float64
    assert (gc.tensor([1.0], device=device) + f[:1]).dtype is gc.float64
    assert (i * 1.5).dtype is gc.float32


def test_reflected_and_scalar_ops(device):
    x = gc.tensor([1.0, 2.0, 4.0], device=device)
    assert (2 - x).cpu().tolist() == [1.0, 0.0, -2.0]
    assert (8 / x).cpu().tolist() == [8.0, 4.0, 2.0]
    assert (2**x).cpu().tolist() == [2.0, 4.0, 16.0]
    assert (3 * x).cpu().tolist() == [3.0, 6.0, 12.0]
    assert (np.ones(3, np.float32) + x).cpu().tolist() == [2.0, 3.0, 5.0]
