"""Property tests (hypothesis): gradients of every primitive against float64 central differences
on random shapes, broadcasting pairs, 0-d tensors, non-contiguous views and random axes."""

import numpy as np
import pytest
from conftest import DEVICES
from hypothesis import given
from hypothesis import strategies as st

import gradcore as gc
from gradcore.nn import functional as F
from gradcore.testing import arrays, assert_close, broadcastable_shapes, gradcheck, maybe_transposed, shapes


def as_input(a, transposed=False):
    return gc.from_numpy(maybe_transposed(np.asarray(a, np.float64), transposed)).requires_grad_()


UNARY = {
    "exp": (lambda t: t.exp(), 0.0),
    "log": (lambda t: t.abs().log(), 0.2),
    "relu": (lambda t: t.relu(), 0.05),
    "sigmoid": (lambda t: t.sigmoid(), 0.0),
    "tanh": (lambda t: t.tanh(), 0.0),
    "sqrt": (lambda t: t.abs().sqrt(), 0.2),
    "neg_abs": (lambda t: (-t).abs(), 0.05),
}


@st.composite
def unary_case(draw):
    name = draw(st.sampled_from(sorted(UNARY)))
    shape = draw(shapes(min_dims=0, max_dims=3))
    x = draw(arrays(shape, away_from_zero=UNARY[name][1]))
    return name, x, draw(st.booleans())


@given(unary_case())
def test_unary_gradients(case):
    name, x, transposed = case
    assert gradcheck(UNARY[name][0], [as_input(x, transposed)])


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a.abs() ** b,
    "maximum": lambda a, b: a.maximum(b),
}


@st.composite
def binary_case(draw):
    name = draw(st.sampled_from(sorted(BINARY)))
    sa, sb = draw(broadcastable_shapes())
    away = 0.3 if name in ("div", "pow") else 0.0
    a = draw(arrays(sa, away_from_zero=away))
    b = draw(arrays(sb, away_from_zero=away))
    if name == "maximum":  # a on the grid 0.1k + 0.025, b on 0.1k - 0.025: every pair differs by >= 0.05
        a, b = np.round(a, 1) + 0.025, np.round(b, 1) - 0.025
    return name, a, b, draw(st.booleans())


@given(binary_case())
def test_binary_gradients_with_broadcasting(case):
    name, a, b, transposed = case
    assert gradcheck(BINARY[name], [as_input(a, transposed), as_input(b)])


@st.composite
def reduction_case(draw):
    shape = draw(shapes(min_dims=0, max_dims=3))
    x = draw(arrays(shape))
    ndim = len(shape)
    axes = draw(st.one_of(st.none(), st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim)))
    if ndim == 0:
        axes = None
    return (
        x,
        (tuple(axes) if axes is not None else None),
        draw(st.booleans()),
        draw(st.sampled_from(["sum", "mean", "max"])),
    )


@given(reduction_case())
def test_reduction_gradients(case):
    x, axes, keepdims, kind = case
    if kind == "max":  # distinct values make the max differentiable
        x = x + np.arange(x.size).reshape(x.shape) * 0.01
    t = as_input(x, transposed=True)
    method = "amax" if kind == "max" else kind  # max(dim) is torch's (values, indices) pair
    assert gradcheck(lambda v: getattr(v, method)(axis=axes, keepdims=keepdims), [t])
    out = getattr(t, method)(axis=axes, keepdims=keepdims)
    assert_close(
        out,
        getattr(np, {"sum": "sum", "mean": "mean", "max": "max"}[kind])(x, axis=axes, keepdims=keepdims),
        atol=1e-12,
        rtol=1e-12,
    )


@st.composite
def matmul_case(draw):
    m, k, n = (draw(st.integers(1, 9)) for _ in range(3))
    return draw(arrays((m, k))), draw(arrays((k, n))), draw(st.booleans()), draw(st.booleans())


@given(matmul_case())
def test_matmul_gradients(case):
    a, b, ta, tb = case
    assert gradcheck(lambda x, y: x @ y, [as_input(a, ta), as_input(b, tb)])


@st.composite
def ce_case(draw):
    n, c = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    logits = draw(arrays((n, c), low=-5, high=5))
    targets = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), np.int64)
    return logits, targets, draw(st.booleans())


@given(ce_case())
def test_softmax_cross_entropy_gradients(case):
    logits, targets, transposed = case
    t = gc.tensor(targets)
    assert gradcheck(lambda x: F.cross_entropy(x, t), [as_input(logits, transposed)])
    # The fused kernel agrees with the composite log_softmax formula.
    x = gc.tensor(logits, dtype=gc.float64)
    composite = -(F.log_softmax(x) * F.one_hot(t, logits.shape[1], gc.float64)).sum(axis=1).mean()
    assert_close(F.cross_entropy(x, t), composite.numpy(), atol=1e-12, rtol=1e-12)


@st.composite
def shape_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    x = draw(arrays(shape))
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return x, perm


@given(shape_case())
def test_reshape_permute_expand_gradients(case):
    x, perm = case
    target = (2,) + x.shape

    def f(t):
        return (t.permute(perm).reshape(-1) * 1.5).sum() + t.expand(target).sigmoid().sum()

    assert gradcheck(f, [as_input(x, transposed=True)])


@given(shapes(min_dims=1, max_dims=3), st.data())
def test_float32_forward_matches_float64(shape, data):
    x = data.draw(arrays(shape))
    y = data.draw(arrays(shape))
    f = lambda a, b: ((a * b).sigmoid() + (a - b).tanh()).exp()  # noqa: E731
    lo = f(gc.tensor(x, dtype=gc.float32), gc.tensor(y, dtype=gc.float32))
    hi = f(gc.tensor(x, dtype=gc.float64), gc.tensor(y, dtype=gc.float64))
    assert_close(lo, hi.numpy(), atol=1e-5, rtol=1e-5)


@st.composite
def linear_case(draw):
    n, i, o = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    lead = draw(st.sampled_from([(), (2,)]))
    return (
        draw(arrays(lead + (n, i))),
        draw(arrays((o, i))),
        draw(st.one_of(st.none(), arrays((o,)))),
        draw(st.booleans()),
    )


@given(linear_case())
def test_linear_gradients(case):
    x, w, b, transposed = case
    inputs = [as_input(x), as_input(w, transposed)] + ([as_input(b)] if b is not None else [])
    assert gradcheck(lambda *t: F.linear(*t), inputs)
    expected = x @ w.T + (b if b is not None else 0)
    assert_close(F.linear(*[t.detach() for t in inputs]), expected, atol=1e-12, rtol=1e-12)


CUDA_ONLY = [p for p in DEVICES if p.values[0] == "cuda"]


@pytest.mark.parametrize("device", CUDA_ONLY)
@given(binary_case(), st.sampled_from(["sum", "mean", "max"]))
def test_cuda_matches_cpu_twin(device, case, reduction):
    """Forward and gradients on the GPU agree with the CPU kernels on the same random inputs."""
    name, a, b, _ = case
    results = {}
    for dev in ("cpu", device):
        ta = gc.tensor(a, dtype=gc.float64, device=dev, requires_grad=True)
        tb = gc.tensor(b, dtype=gc.float64, device=dev, requires_grad=True)
        out = getattr(BINARY[name](ta, tb).tanh(), reduction)()
        out.backward()
        results[dev] = (out.cpu().numpy(), ta.grad.cpu().numpy(), tb.grad.cpu().numpy())
    for got, expected in zip(results[device], results["cpu"]):
        assert_close(got, expected, atol=1e-12, rtol=1e-10)
