"""torch-style free functions (gc.exp, gc.clamp, gc.allclose, ...) over Tensor methods and primitives."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import linalg
from .dtypes import DType, as_dtype, get_default_dtype, int64, promote
from .ops_index import wrap_dim as _wrap_dim
from .tensor import Tensor

__all__ = [
    "abs", "allclose", "bmm", "clamp", "clip", "equal", "exp", "flatten", "isclose", "isfinite", "isinf",
    "isnan", "log", "log_softmax", "matmul", "maximum", "minimum", "mm", "neg", "permute", "relu",
    "reshape", "sigmoid", "sign", "softmax", "sqrt", "squeeze", "tanh", "transpose", "unsqueeze",
]  # fmt: skip


def _tensor(x: Any, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}(): argument 'input' must be a Tensor, got {type(x).__name__}")
    return x


# ---------------------------------------------------------------- elementwise
def exp(input: Tensor) -> Tensor:
    """e ** input. Example: ``gc.exp(gc.zeros(2)).tolist() == [1.0, 1.0]``."""
    return _tensor(input, "exp").exp()


def log(input: Tensor) -> Tensor:
    """Natural logarithm. Example: ``gc.log(gc.ones(1)).item() == 0.0``."""
    return _tensor(input, "log").log()


def sqrt(input: Tensor) -> Tensor:
    """Square root. Example: ``gc.sqrt(gc.tensor([4.0])).item() == 2.0``."""
    return _tensor(input, "sqrt").sqrt()


def abs(input: Tensor) -> Tensor:
    """|input|. Example: ``gc.abs(gc.tensor([-2])).tolist() == [2]``."""
    return _tensor(input, "abs").abs()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-input)). Example: ``gc.sigmoid(gc.zeros(1)).item() == 0.5``."""
    return _tensor(input, "sigmoid").sigmoid()


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent. Example: ``gc.tanh(gc.zeros(1)).item() == 0.0``."""
    return _tensor(input, "tanh").tanh()


def relu(input: Tensor) -> Tensor:
    """max(input, 0). Example: ``gc.relu(gc.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]``."""
    return _tensor(input, "relu").relu()


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element. Example: ``gc.sign(gc.tensor([-3, 0, 2])).tolist()``."""
    return _tensor(input, "sign").sign()


def neg(input: Tensor) -> Tensor:
    """-input. Example: ``gc.neg(gc.tensor([1.0])).item() == -1.0``."""
    return -_tensor(input, "neg")


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum of two tensors (broadcast, dtypes promoted), as ``torch.maximum``.

    Example:
        >>> import gradcore as gc
        >>> gc.maximum(gc.tensor([1.0, 5.0]), gc.tensor([3.0, 2.0])).tolist()
        [3.0, 5.0]
    """
    return _tensor(input, "maximum").maximum(_tensor(other, "maximum"))


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum of two tensors (broadcast, dtypes promoted), as ``torch.minimum``."""
    return _tensor(input, "minimum").minimum(_tensor(other, "minimum"))


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limits every element to [min, max] (numbers or tensors), as ``torch.clamp``; min > max gives max.

    Example:
        >>> import gradcore as gc
        >>> gc.clamp(gc.tensor([-2.0, 0.5, 3.0]), 0, 1).tolist()
        [0.0, 0.5, 1.0]
    """
    x = _tensor(input, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if not x.dtype.is_floating and any(isinstance(v, float) for v in (min, max)):
        x = x.to(get_default_dtype())  # an int tensor clamped to float bounds gives floats, as in torch
    return x.clamp(min, max)


clip = clamp


# ---------------------------------------------------------------- products
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch.matmul's rules (1-d operands, broadcast batch dims).

    Example:
        >>> import gradcore as gc
        >>> gc.matmul(gc.ones(4, 2, 3), gc.ones(3)).shape
        (4, 2)
    """
    return linalg.matmul(_tensor(input, "matmul"), _tensor(other, "matmul"))


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-d only). Example: ``gc.mm(gc.ones(2, 3), gc.ones(3, 4)).shape``."""
    return linalg.mm(_tensor(input, "mm"), _tensor(mat2, "mm"))


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of (B, M, K) and (B, K, N) batches. Example: ``gc.bmm(gc.ones(2, 1, 3), gc.ones(2, 3, 1))``."""
    return linalg.bmm(_tensor(input, "bmm"), _tensor(mat2, "bmm"))


# ---------------------------------------------------------------- softmax
def softmax(
    input: Tensor, dim: int | None = None, dtype: DType | str | None = None, *, axis: int | None = None
) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the max for stability, as ``torch.softmax``.

    Example:
        >>> import gradcore as gc
        >>> gc.softmax(gc.zeros(2), dim=0).tolist()
        [0.5, 0.5]
    """
    from .nn import functional as F

    x = _softmax_input(input, dtype, "softmax")
    return F.softmax(x, _softmax_dim(dim, axis, "softmax"))


def log_softmax(
    input: Tensor, dim: int | None = None, dtype: DType | str | None = None, *, axis: int | None = None
) -> Tensor:
    """x - logsumexp(x) along ``dim``, as ``torch.log_softmax``.

    Example:
        >>> import gradcore as gc
        >>> round(gc.log_softmax(gc.zeros(2), dim=0).tolist()[0], 4)
        -0.6931
    """
    from .nn import functional as F

    x = _softmax_input(input, dtype, "log_softmax")
    return F.log_softmax(x, _softmax_dim(dim, axis, "log_softmax"))


def _softmax_input(x: Tensor, dtype: DType | str | None, what: str) -> Tensor:
    x = _tensor(x, what)
    if dtype is not None:
        x = x.to(as_dtype(dtype))
    if not x.dtype.is_floating:
        raise TypeError(f"{what}: needs a float tensor, got {x.dtype} (pass dtype=)")
    return x


def _softmax_dim(dim: int | None, axis: int | None, what: str) -> int:
    dim = axis if dim is None else dim
    if dim is None:
        raise TypeError(f"{what}: give the dim to normalise over, e.g. {what}(x, dim=-1)")
    return dim


# ---------------------------------------------------------------- comparisons and tests
def isnan(input: Tensor) -> Tensor:
    """True where an element is NaN. Example: ``gc.isnan(gc.tensor([1.0, float("nan")]))``."""
    x = _tensor(input, "isnan").detach()
    return x != x


def isinf(input: Tensor) -> Tensor:
    """True where an element is +inf or -inf. Example: ``gc.isinf(gc.tensor([1.0, float("inf")]))``."""
    x = _tensor(input, "isinf").detach()
    if not x.dtype.is_floating:
        return x != x  # all False, in the comparisons' dtype
    return x.abs() == math.inf


def isfinite(input: Tensor) -> Tensor:
    """True where an element is neither inf nor NaN. Example: ``gc.isfinite(gc.tensor([1.0]))``."""
    x = _tensor(input, "isfinite").detach()
    return (x - x) == 0  # inf - inf and nan - nan are nan


def _as_flag(t: Tensor, dtype: DType) -> Tensor:
    """A comparison result as 0/1 numbers, whatever dtype comparisons return."""
    return t.to(dtype)


def isclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """|input - other| <= atol + rtol * |other| elementwise (equal infinities count as close), as
    ``torch.isclose``.

    Example:
        >>> import gradcore as gc
        >>> [bool(v) for v in gc.isclose(gc.tensor([1.0, 2.0]), gc.tensor([1.0, 2.1])).tolist()]
        [True, False]
    """
    a, b = _tensor(input, "isclose").detach(), _tensor(other, "isclose").detach()
    if a.device != b.device:
        raise RuntimeError(f"isclose: expected both tensors on one device, found {a.device} and {b.device}")
    if rtol < 0 or atol < 0:
        raise ValueError(f"isclose: rtol ({rtol}) and atol ({atol}) must be non-negative")
    dtype = promote(a.dtype, b.dtype)
    work = dtype if dtype.is_floating else as_dtype("float64")
    a, b = a.to(work), b.to(work)
    # Flags are added as numbers, then compared once, so the result has the comparisons' dtype.
    # An infinite `other` is close only to itself (the tolerance would be inf).
    within = _as_flag((a - b).abs() <= atol + rtol * b.abs(), work) * _as_flag(isfinite(b), work)
    close = _as_flag(a == b, work) + within
    if equal_nan:
        close = close + _as_flag(a != a, work) * _as_flag(b != b, work)
    return close > 0


def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """Whether every element of ``input`` is close to ``other`` (see ``isclose``), as ``torch.allclose``.

    Example:
        >>> import gradcore as gc
        >>> gc.allclose(gc.tensor([1.0]), gc.tensor([1.0 + 1e-9]))
        True
    """
    close = isclose(input, other, rtol, atol, equal_nan)
    return _count_false(close) == 0


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and the same values, as ``torch.equal``.

    Example:
        >>> import gradcore as gc
        >>> gc.equal(gc.tensor([1, 2]), gc.tensor([1, 2])), gc.equal(gc.tensor([1]), gc.tensor([1, 1]))
        (True, False)
    """
    a, b = _tensor(input, "equal").detach(), _tensor(other, "equal").detach()
    if a.device != b.device:
        raise RuntimeError(f"equal: expected both tensors on one device, found {a.device} and {b.device}")
    if a.shape != b.shape:
        return False
    return _count_false(a == b) == 0


def _count_false(mask: Tensor) -> int:
    return mask.numel() - int(mask.to(int64).sum().item())


# ---------------------------------------------------------------- shape
def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    """``input.reshape(shape)``. Example: ``gc.reshape(gc.zeros(6), (2, -1)).shape == (2, 3)``."""
    return _tensor(input, "reshape").reshape(tuple(shape))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merges dims start_dim..end_dim into one, as ``torch.flatten`` (a 0-d tensor becomes 1-d).

    Example:
        >>> import gradcore as gc
        >>> gc.flatten(gc.zeros(2, 3, 4), 1).shape, gc.flatten(gc.zeros(2, 3, 4), 0, 1).shape
        ((2, 12), (6, 4))
    """
    x = _tensor(input, "flatten")
    if x.ndim == 0:
        return x.reshape(1)
    start, end = (_wrap_dim(d, x.ndim, "flatten") for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = math.prod(x.shape[start : end + 1])
    return x.reshape(x.shape[:start] + (merged,) + x.shape[end + 1 :])


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    """``input.permute(dims)``. Example: ``gc.permute(gc.zeros(2, 3), (1, 0)).shape == (3, 2)``."""
    return _tensor(input, "permute").permute(tuple(dims))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swaps two dims (a view), as ``torch.transpose``.

    Example:
        >>> import gradcore as gc
        >>> gc.transpose(gc.zeros(2, 3, 4), 0, 2).shape
        (4, 3, 2)
    """
    x = _tensor(input, "transpose")
    if x.ndim == 0:
        _wrap_dim(dim0, 0, "transpose"), _wrap_dim(dim1, 0, "transpose")
        return x
    order = list(range(x.ndim))
    i, j = _wrap_dim(dim0, x.ndim, "transpose"), _wrap_dim(dim1, x.ndim, "transpose")
    order[i], order[j] = order[j], order[i]
    return x.permute(order)


def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """Drops size-1 dims (all of them, or those in ``dim``; other dims are left alone), as
    ``torch.squeeze``.

    Example:
        >>> import gradcore as gc
        >>> gc.squeeze(gc.zeros(1, 2, 1)).shape, gc.squeeze(gc.zeros(1, 2, 1), 0).shape
        ((2,), (2, 1))
    """
    x = _tensor(input, "squeeze")
    if dim is None:
        return x.reshape(tuple(n for n in x.shape if n != 1))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    drop = {_wrap_dim(d, x.ndim, "squeeze") for d in dims}
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if not (i in drop and n == 1)))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Inserts a size-1 dim at ``dim`` (in -ndim-1..ndim), as ``torch.unsqueeze``.

    Example:
        >>> import gradcore as gc
        >>> gc.unsqueeze(gc.zeros(2, 3), -1).shape
        (2, 3, 1)
    """
    x = _tensor(input, "unsqueeze")
    d = _wrap_dim(dim, x.ndim + 1, "unsqueeze")
    return x.reshape(x.shape[:d] + (1,) + x.shape[d:])

