"""Reductions with torch's API (dim/keepdim; NumPy's axis/keepdims accepted): the Tensor methods and
gradcore.* functions sum, mean, max, min, amax, amin, argmax, argmin, prod, any, all, var, std, norm,
logsumexp, cumsum."""

from __future__ import annotations

import builtins
import math
import numbers
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend, ops
from .dtypes import DType, as_dtype, finfo, float32, float64, int32, int64
from .ops_index import wrap_dim, wrap_dims

Dim = int | Sequence[int] | None
Keep = bool | None

# torch.return_types.max/min: a named tuple (values, indices) that unpacks like a pair.
MaxResult = namedtuple("max", ["values", "indices"], module="gradcore.return_types")
MinResult = namedtuple("min", ["values", "indices"], module="gradcore.return_types")


# NumPy's axis=() reduces nothing, while torch's dim=() reduces every dim: each spelling keeps its meaning.
_NO_AXES = object()


def _pick(dim: Any, axis: Any, name: str = "dim") -> Any:
    """torch's `dim` or NumPy's `axis` (one of them)."""
    if axis is not None:
        if dim is not None and dim != ():
            raise TypeError(f"got both {name}= and its NumPy alias axis=")
        return _NO_AXES if isinstance(axis, (tuple, list)) and len(axis) == 0 else axis
    return dim


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return bool(keepdims) if keepdims is not None else bool(keepdim)


def _axes(dim: Dim, ndim: int) -> tuple[int, ...]:
    """Sorted non-negative axes (None or torch's empty dim=(): all); a 0-d tensor accepts dim 0 or -1."""
    if dim is _NO_AXES:
        return ()
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (numbers.Integral, np.integer)) else tuple(dim)
    out = wrap_dims(dims, ndim, "reduction", duplicate=RuntimeError)  # torch: RuntimeError for repeats
    return tuple(sorted(out)) if ndim else ()


def _one_dim(dim: Any, ndim: int, name: str) -> int:
    if not isinstance(dim, (numbers.Integral, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}(): dim must be an int, got {type(dim).__name__}")
    return wrap_dim(dim, ndim, f"{name}()")


def _count(x: Any, axes: tuple[int, ...]) -> int:
    return int(np.prod([x.shape[a] for a in axes], dtype=np.int64))


def _finalize(out: Any, x: Any, axes: tuple[int, ...], keepdim: bool) -> Any:
    """Reduced results computed with keepdims=True, reshaped to torch's output shape."""
    return out if keepdim else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


def _to_sum_input(x: Any) -> Any:
    """Integer sums accumulate in int64 in the kernel; other non-float dtypes (bool) become int64 first."""
    return x if x.dtype.is_floating or x.dtype in (int32, int64) else x.to(int64)


# ---------------------------------------------------------------- sums and means


def sum(
    x: Any, dim: Dim = None, keepdim: bool = False, *, dtype: DType | str | None = None,
    axis: Dim = None, keepdims: Keep = None,
) -> Any:
    """Sum over ``dim`` (all dims by default); integer inputs give int64, as in torch. Accumulates in
    double for float32/float64 (no stall at 2**24) and in int64 for integers.

    Example:
        >>> import gradcore as gc
        >>> gc.ones(2, 3).sum(dim=1).tolist(), gc.tensor([1, 2], dtype="int32").sum().dtype
        ([3.0, 3.0], gradcore.int64)
    """
    axes = _axes(_pick(dim, axis), x.ndim)
    keep = _keep(keepdim, keepdims)
    if dtype is not None:
        dtype = as_dtype(dtype)
        if dtype is float64 and x.dtype is float32 and not x.requires_grad:
            return ops.Sum.apply(x, axes=axes, keepdims=keep, dtype=float64)  # widened in the kernel, no copy
        x = x.to(dtype)  # a differentiable cast, so the gradient comes back in x's dtype
        if dtype in (int32, int64):  # an explicit integer dtype is the output's, as in torch
            return ops.Sum.apply(x, axes=axes, keepdims=keep, dtype=dtype)
    x = _to_sum_input(x)
    out_dtype = None if x.dtype.is_floating else int64
    return ops.Sum.apply(x, axes=axes, keepdims=keep, dtype=out_dtype)


def mean(
    x: Any, dim: Dim = None, keepdim: bool = False, *, dtype: DType | str | None = None,
    axis: Dim = None, keepdims: Keep = None,
) -> Any:
    """Mean over ``dim`` (all dims by default); the mean of an empty selection is nan, as in torch.
    Integer inputs are averaged as float32 (torch asks for ``dtype=`` there).

    Example:
        >>> import gradcore as gc
        >>> gc.tensor([[1.0, 2.0], [3.0, 5.0]]).mean(dim=0).tolist()
        [2.0, 3.5]
    """
    axes = _axes(_pick(dim, axis), x.ndim)
    if dtype is not None:
        x = x.to(as_dtype(dtype))
    base = x if x.dtype.is_floating else x.to(float32)
    if base.dtype.itemsize == 2:  # float16/bfloat16: sum and divide in float32, round once (n may overflow)
        total = base.to(float32).sum(axis=axes, keepdims=_keep(keepdim, keepdims))
        return (total / _count(x, axes)).to(x.dtype)
    return base.sum(axis=axes, keepdims=_keep(keepdim, keepdims)) / _count(x, axes)


# ---------------------------------------------------------------- extremes


def _check_nonempty(x: Any, axes: tuple[int, ...], name: str, dims_given: bool = True) -> None:
    """torch's errors for reductions without an identity (max/min) over nothing."""
    if x.numel() == 0 and (not dims_given or not axes):
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


def amax(x: Any, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None, keepdims: Keep = None) -> Any:
    """Largest value over ``dim`` (all dims when None); NaN propagates; ties share the gradient.

    Example:
        >>> import gradcore as gc
        >>> gc.tensor([[1.0, 4.0], [3.0, 2.0]]).amax(dim=1).tolist()
        [4.0, 3.0]
    """
    spec = _pick(dim, axis)
    axes = _axes(spec, x.ndim)
    _check_nonempty(x, axes, "amax", dims_given=spec is not None and spec != ())
    return ops.Max.apply(x, axes=axes, keepdims=_keep(keepdim, keepdims))


def amin(x: Any, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None, keepdims: Keep = None) -> Any:
    """Smallest value over ``dim`` (all dims when None); NaN propagates; ties share the gradient."""
    spec = _pick(dim, axis)
    axes = _axes(spec, x.ndim)
    _check_nonempty(x, axes, "amin", dims_given=spec is not None and spec != ())
    return ops.Min.apply(x, axes=axes, keepdims=_keep(keepdim, keepdims))


def _arg(x: Any, dim: Any, keepdim: bool, kernel: str) -> Any:
    from .tensor import Tensor

    if dim is None:
        if x.numel() == 0:
            raise IndexError(f"{kernel}(): Expected reduction dim to be specified for input.numel() == 0.")
        flat = _arg(x.reshape(-1), 0, False, kernel)
        return flat.reshape((1,) * x.ndim) if keepdim else flat
    d = _one_dim(dim, x.ndim, kernel)
    if x.ndim == 0:
        return _arg(x.reshape(1), 0, False, kernel).reshape(())
    if x.shape[d] == 0:
        raise IndexError(f"{kernel}(): Expected reduction dim {d} to have non-zero size.")
    xd = x.detach()
    data = ops._dim_to_last(xd, d)
    be = backend.get(x.device)
    moved = ops._moved_shape(x.shape, d)
    out = be.empty(moved[:-1], np.dtype(np.int64))
    backend.kernel(x.device, kernel)(data, out)
    out = Tensor._wrap(out, x.device)
    return out.unsqueeze(d) if keepdim else out


def argmax(x: Any, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
           keepdims: Keep = None) -> Any:
    """Index of the largest value along ``dim`` (of the flattened tensor when ``dim`` is None); the first
    NaN wins, then the first of ties, as in torch. int64, no gradient.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([[1.0, 4.0], [3.0, 2.0]])
        >>> x.argmax().item(), x.argmax(dim=0).tolist(), gc.tensor([1.0, float("nan")]).argmax().item()
        (1, [1, 0], 1)
    """
    return _arg(x, _pick(dim, axis), _keep(keepdim, keepdims), "argmax")


def argmin(x: Any, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
           keepdims: Keep = None) -> Any:
    """Index of the smallest value along ``dim`` (flattened when None); the first NaN wins."""
    return _arg(x, _pick(dim, axis), _keep(keepdim, keepdims), "argmin")


def _extreme(x: Any, dim: Any, keepdim: bool, name: str) -> Any:
    from .tensor import Tensor

    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return x.maximum(dim) if name == "max" else x.minimum(dim)
    if dim is None:
        axes = tuple(range(x.ndim))
        _check_nonempty(x, axes, name, dims_given=False)
        return (ops.Max if name == "max" else ops.Min).apply(x, axes=axes, keepdims=False)
    d = _one_dim(dim, x.ndim, name)
    if x.ndim == 0:
        values, indices = _extreme(x.reshape(1), 0, False, name)
        return (MaxResult if name == "max" else MinResult)(values.reshape(()), indices.reshape(()))
    if x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    indices = _arg(x, d, True, "argmax" if name == "max" else "argmin")
    values = ops.SelectAlong.apply(x, indices, dim=d, keepdim=keepdim, kernel=name)
    return (MaxResult if name == "max" else MinResult)(values, indices if keepdim else indices.squeeze(d))


def max(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Keep = None) -> Any:
    """``max()``: the largest value (0-d; ties share the gradient). ``max(dim)``: a named tuple
    ``(values, indices)`` whose gradient goes to the selected elements. ``max(other)``: ``maximum``.

    Example:
        >>> import gradcore as gc
        >>> values, indices = gc.tensor([[1.0, 4.0], [3.0, 2.0]]).max(dim=1)
        >>> values.tolist(), indices.tolist()
        ([4.0, 3.0], [1, 0])
    """
    return _extreme(x, _pick(dim, axis), _keep(keepdim, keepdims), "max")


def min(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Keep = None) -> Any:
    """``min()``: the smallest value; ``min(dim)``: ``(values, indices)``; ``min(other)``: ``minimum``."""
    return _extreme(x, _pick(dim, axis), _keep(keepdim, keepdims), "min")


# ---------------------------------------------------------------- products and logic


def prod(x: Any, dim: int | None = None, keepdim: bool = False, *, dtype: DType | str | None = None,
         axis: int | None = None, keepdims: Keep = None) -> Any:
    """Product over one ``dim`` (all elements when None); integer inputs give int64; the gradient is
    correct with zeros in the input (as torch's).

    Example:
        >>> import gradcore as gc
        >>> gc.tensor([[1.0, 2.0], [3.0, 4.0]]).prod(dim=1).tolist()
        [2.0, 12.0]
    """
    dim = _pick(dim, axis)
    axes = tuple(range(x.ndim)) if dim is None else (_one_dim(dim, x.ndim, "prod"),) if x.ndim else ()
    if dtype is not None:
        x = x.to(as_dtype(dtype))
    if not x.dtype.is_floating:
        x = x.to(int64)
    keep = _keep(keepdim, keepdims) and dim is not None
    return ops.Prod.apply(x, axes=axes, keepdims=keep)


def _count_nonzero(x: Any, dim: Dim, keepdim: bool, keepdims: bool | None, axis: Dim) -> tuple[Any, Any]:
    axes = _axes(_pick(dim, axis), x.ndim)
    nonzero = (x.detach() != 0).to(int64)
    return nonzero.sum(axis=axes, keepdims=_keep(keepdim, keepdims)), _count(x, axes)


def any(x: Any, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None, keepdims: Keep = None) -> Any:
    """Whether any element over ``dim`` is non-zero (False for an empty selection).

    Example:
        >>> import gradcore as gc
        >>> bool(gc.tensor([0.0, 2.0]).any()), bool(gc.tensor([0.0, 2.0]).all())
        (True, False)
    """
    n, _ = _count_nonzero(x, dim, keepdim, keepdims, axis)
    return n > 0


def all(x: Any, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None, keepdims: Keep = None) -> Any:
    """Whether every element over ``dim`` is non-zero (True for an empty selection)."""
    n, total = _count_nonzero(x, dim, keepdim, keepdims, axis)
    return n == total


# ---------------------------------------------------------------- statistics and norms


def _correction(unbiased: bool | None, correction: float | None) -> float:
    if unbiased is not None and correction is not None:
        raise TypeError("var/std: pass either unbiased= or correction=, not both")
    if correction is not None:
        return float(correction)
    return 1.0 if unbiased is None or unbiased else 0.0


def var(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Dim = None, keepdims: Keep = None) -> Any:
    """Variance over ``dim`` with ``correction`` (default 1, Bessel's; ``unbiased=False`` means 0);
    nan where the count does not exceed the correction, as in torch.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([1.0, 2.0, 3.0, 4.0])
        >>> round(x.var().item(), 4), x.var(correction=0).item()
        (1.6667, 1.25)
    """
    if isinstance(dim, bool):  # torch's var(unbiased) overload
        dim, unbiased = None, dim
    axes = _axes(_pick(dim, axis), x.ndim)
    c = _correction(unbiased, correction)
    base = x if x.dtype.is_floating else x.to(float32)
    d = base - base.mean(axis=axes, keepdims=True)
    return (d * d).sum(axis=axes, keepdims=_keep(keepdim, keepdims)) / builtins.max(_count(x, axes) - c, 0.0)


def std(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Dim = None, keepdims: Keep = None) -> Any:
    """Standard deviation: the square root of ``var`` with the same arguments."""
    return var(x, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims).sqrt()


def norm(x: Any, p: float | str | None = "fro", dim: Dim = None, keepdim: bool = False, *,
         dtype: DType | str | None = None, axis: Dim = None, keepdims: Keep = None) -> Any:
    """Vector p-norm over ``dim`` (all elements by default): p = 2 or 'fro' (default), 1, inf, -inf, 0
    or any other number. The 2-norm's gradient is 0 at 0, as in torch.

    Example:
        >>> import gradcore as gc
        >>> gc.tensor([3.0, -4.0]).norm().item(), gc.tensor([3.0, -4.0]).norm(p=1).item()
        (5.0, 7.0)
    """
    axes = _axes(_pick(dim, axis), x.ndim)
    keep = _keep(keepdim, keepdims)
    if dtype is not None:
        x = x.to(as_dtype(dtype))
    if not x.dtype.is_floating:
        raise TypeError(f"norm(): expected a floating point tensor, got {x.dtype}")
    if p is None or p == "fro" or p == 2:
        return ops.Norm2.apply(x, axes=axes, keepdims=keep)
    if isinstance(p, str):
        raise ValueError(f"norm(): unsupported p={p!r} (use a number or 'fro')")
    p = float(p)
    if p == math.inf or p == -math.inf:
        return (amax if p > 0 else amin)(x.abs(), axis=axes, keepdims=keep)
    if p == 0:
        # The count of non-zeros; x * 0 keeps it in the graph with torch's zero gradient.
        return ((x.detach() != 0).to(x.dtype) + x * 0.0).sum(axis=axes, keepdims=keep)
    if p == 1:
        return x.abs().sum(axis=axes, keepdims=keep)
    return (x.abs() ** p).sum(axis=axes, keepdims=keep) ** (1.0 / p)


def logsumexp(x: Any, dim: Dim, keepdim: bool = False, *, axis: Dim = None, keepdims: Keep = None) -> Any:
    """log(sum(exp(x))) over ``dim``, computed stably (shifted by the detached maximum).

    Example:
        >>> import gradcore as gc
        >>> round(gc.tensor([1000.0, 1000.0]).logsumexp(dim=0).item(), 3)
        1000.693
    """
    axes = _axes(_pick(dim, axis), x.ndim)
    keep = _keep(keepdim, keepdims)
    if not x.dtype.is_floating:
        x = x.to(float32)
    if x.numel() == 0:
        return _finalize(x.exp().sum(axis=axes, keepdims=True).log(), x, axes, keep)
    big = float(finfo(x.dtype).max)
    # A finite shift: an all -inf (or +inf) slice then gives -inf (+inf) instead of nan.
    m = x.detach().amax(axis=axes, keepdims=True).clamp(-big, big)
    out = (x - m).exp().sum(axis=axes, keepdims=True).log() + m
    return _finalize(out, x, axes, keep)


def cumsum(x: Any, dim: int, *, dtype: DType | str | None = None, axis: int | None = None) -> Any:
    """Running sum along ``dim``; integer inputs give int64 (as torch), floats accumulate in double.

    Example:
        >>> import gradcore as gc
        >>> gc.tensor([1.0, 2.0, 3.0]).cumsum(0).tolist()
        [1.0, 3.0, 6.0]
    """
    d = _one_dim(_pick(dim, axis), x.ndim, "cumsum")
    if dtype is not None:
        x = x.to(as_dtype(dtype))
    x = _to_sum_input(x)
    if x.ndim == 0:
        return cumsum(x.reshape(1), 0, dtype=dtype).reshape(())
    out_dtype = x.dtype if x.dtype.is_floating or dtype is not None else int64  # an explicit dtype is kept
    return ops.CumSum.apply(x, dim=d, dtype=out_dtype)


__all__ = [
    "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "prod", "any", "all", "var", "std",
    "norm", "logsumexp", "cumsum", "MaxResult", "MinResult",
]
