"""Tensor factories (tensor, zeros, ones, randn, ...) and the global random seed."""

from __future__ import annotations

from typing import Any

import numpy as np

from .dtypes import DType, as_dtype, float32, int64
from .tensor import Tensor

_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seeds gradcore's random generator (randn, rand, weight init, dropout, shuffling).

    Example:
        >>> import gradcore as gc
        >>> gc.manual_seed(0); a = gc.randn(3)
        >>> gc.manual_seed(0); b = gc.randn(3)
        >>> bool((a == b).sum().item() == 3)
        True
    """
    global _rng
    _rng = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    return _rng


def tensor(
    data: Any, dtype: DType | str | None = None, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """A new tensor holding a copy of ``data`` (list, scalar, NumPy array or Tensor).

    Example:
        >>> import gradcore as gc
        >>> gc.tensor([[1.0, 2.0]]).shape
        (1, 2)
    """
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``array`` (views and strides kept).

    Example:
        >>> import numpy as np, gradcore as gc
        >>> a = np.zeros(3, np.float32); t = gc.from_numpy(a); a[0] = 5
        >>> t.numpy()[0].item()
        5.0
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    from .dtypes import from_numpy_dtype

    from_numpy_dtype(array.dtype)
    return Tensor._wrap(array, "cpu")


def _shape(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if any(int(s) < 0 for s in shape):
        raise ValueError(f"negative dimension in shape {shape}")
    return tuple(int(s) for s in shape)


def _make(array: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    return Tensor(array, device=device, requires_grad=requires_grad)


def _filled(
    shape: tuple[int, ...], value: float, dtype: DType | str, device: str, requires_grad: bool
) -> Tensor:
    # Allocated on the target device directly: no host buffer of the full size is made.
    from . import backend

    device = backend.normalize_device(device)
    dt = as_dtype(dtype)
    t = Tensor._wrap(backend.get(device).empty(_shape((shape,)), dt.np), device)
    t.fill_(value)
    t.requires_grad = requires_grad
    return t


def full(
    shape: tuple[int, ...],
    value: float,
    dtype: DType | str = float32,
    device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ``shape`` filled with ``value``.

    Example:
        >>> import gradcore as gc
        >>> gc.full((2,), 7.0).tolist()
        [7.0, 7.0]
    """
    return _filled(shape, value, dtype, device, requires_grad)


def zeros(
    *shape: Any, dtype: DType | str = float32, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """Zeros of the given shape: ``gc.zeros(2, 3)`` or ``gc.zeros((2, 3))``."""
    return _filled(_shape(shape), 0, dtype, device, requires_grad)


def ones(
    *shape: Any, dtype: DType | str = float32, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """Ones of the given shape: ``gc.ones(2, 3)``."""
    return _filled(_shape(shape), 1, dtype, device, requires_grad)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=t.dtype, device=t.device, requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=t.dtype, device=t.device, requires_grad=requires_grad)


def randn(
    *shape: Any, dtype: DType | str = float32, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """Standard normal samples: ``gc.randn(64, 784)``."""
    return _make(_rng.standard_normal(_shape(shape)).astype(as_dtype(dtype).np), device, requires_grad)


def rand(
    *shape: Any, dtype: DType | str = float32, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """Uniform samples in [0, 1): ``gc.rand(3)``."""
    return _make(_rng.random(_shape(shape)).astype(as_dtype(dtype).np), device, requires_grad)


def uniform(
    shape: tuple[int, ...],
    low: float,
    high: float,
    dtype: DType | str = float32,
    device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:
    return _make(_rng.uniform(low, high, _shape((shape,))).astype(as_dtype(dtype).np), device, requires_grad)


def arange(
    start: float,
    stop: float | None = None,
    step: float = 1,
    dtype: DType | str | None = None,
    device: str = "cpu",
) -> Tensor:
    """Evenly spaced values, as ``numpy.arange``; int64 for integer arguments.

    Example:
        >>> import gradcore as gc
        >>> gc.arange(3).tolist()
        [0, 1, 2]
    """
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None:
        dtype = int64 if values.dtype.kind in "iu" else float32
    return _make(values.astype(as_dtype(dtype).np), device, False)
