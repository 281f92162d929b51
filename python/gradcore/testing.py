"""Tools for checking gradients: finite-difference gradcheck, a float64 NumPy comparison helper,
and hypothesis strategies for shapes, broadcastable pairs and well-conditioned arrays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .dtypes import float64
from .tensor import Tensor


def assert_close(
    actual: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-5, name: str = "value"
) -> None:
    """Asserts |actual - expected| <= atol + rtol*|expected| everywhere; on failure names the worst
    index, both values there and the largest error."""
    a = np.asarray(actual.numpy() if isinstance(actual, Tensor) else actual, dtype=np.float64)
    e = np.asarray(expected.numpy() if isinstance(expected, Tensor) else expected, dtype=np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape {a.shape} != expected {e.shape}")
    if a.size == 0:
        return
    both_nan = np.isnan(a) & np.isnan(e)
    same_inf = np.isinf(a) & (a == e)  # equal infinities match, as in torch (|inf - inf| would be nan)
    matched = both_nan | same_inf
    with np.errstate(invalid="ignore"):
        err = np.where(matched, 0.0, np.abs(a - e))
        # matched places pass whatever rtol is (rtol * |nan| would be nan, i.e. a mismatch)
        excess = np.where(matched, -np.inf, err - (atol + rtol * np.abs(e)))
    excess = np.where(np.isnan(excess), np.inf, excess)
    if np.any(excess > 0):
        idx = np.unravel_index(int(np.argmax(excess)), a.shape)
        worst = np.max(np.where(np.isnan(err), np.inf, err))
        raise AssertionError(
            f"{name}: mismatch at index {tuple(int(i) for i in idx)}: got {a[idx]!r}, expected {e[idx]!r}; "
            f"max abs error {worst:.3e} (atol={atol}, rtol={rtol})"
        )


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compares autograd gradients of ``fn`` against float64 central differences.

    A non-scalar output is reduced with fixed random weights, so every output element counts.
    Returns True or raises AssertionError naming the input, the worst element and both values.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([0.5, -1.0], dtype=gc.float64, requires_grad=True)
        >>> gc.testing.gradcheck(lambda t: (t * t).sigmoid(), [x])
        True
    """
    for i, t in enumerate(inputs):
        if t.requires_grad and t.dtype is not float64:
            raise TypeError(f"gradcheck: input {i} must be float64, got {t.dtype}")
    out = fn(*inputs)
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape)

    def objective(values: list[np.ndarray]) -> float:
        args = [
            Tensor(v, dtype=float64, device=t.device, requires_grad=True) if t.requires_grad else t
            for v, t in zip(values, inputs)
        ]
        return float(np.sum(fn(*args).numpy().astype(np.float64) * weights))

    for t in inputs:
        t.grad = None
    (out * Tensor(weights, dtype=out.dtype, device=out.device)).sum().backward()
    base = [np.array(t.numpy(), dtype=np.float64, order="C") for t in inputs]
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        numeric = np.zeros(t.shape)
        flat = base[i].reshape(-1)
        for j in range(flat.size):  # one perturbation per element: a test tool, not a forward path
            orig = flat[j]
            flat[j] = orig + eps
            plus = objective(base)
            flat[j] = orig - eps
            minus = objective(base)
            flat[j] = orig
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        analytic = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        assert_close(analytic, numeric, atol=atol, rtol=rtol, name=f"gradient of input {i}")
    return True


# ------------------------------------------------------------ hypothesis strategies
def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> Any:
    """Array shapes, 0-d included by default."""
    from hypothesis.extra import numpy as hnp

    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(max_dims: int = 3, max_side: int = 4) -> Any:
    """Pairs of shapes that broadcast together (size-1 and missing leading dims)."""
    from hypothesis.extra import numpy as hnp

    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=max_dims, max_side=max_side
    ).map(lambda s: tuple(s.input_shapes))


def arrays(
    shape: tuple[int, ...],
    low: float = -2.0,
    high: float = 2.0,
    away_from_zero: float = 0.0,
    dtype: Any = np.float64,
) -> Any:
    """Well-conditioned float arrays: bounded, optionally kept at least ``away_from_zero`` from 0
    (for log, division and kinks such as relu at 0)."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    if away_from_zero > 0:
        elements = elements.filter(lambda v: abs(v) >= away_from_zero)
    return hnp.arrays(np.float64, shape, elements=elements).map(lambda a: a.astype(dtype))


def maybe_transposed(array: np.ndarray, transposed: bool) -> np.ndarray:
    """A non-contiguous view with the same values: the transpose of a contiguous copy of array.T."""
    if not transposed or array.ndim < 2:
        return array
    return np.ascontiguousarray(array.T).T
