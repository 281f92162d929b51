"""Tensor factories (tensor, zeros, ones, randn, ...) and the global random seed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend
from .dtypes import DTYPE_OF_NUMPY, DType, as_dtype, get_default_dtype, int64
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
    data: Any, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """A new tensor holding a copy of ``data`` (list, scalar, NumPy array or Tensor), as ``torch.tensor``:
    Python floats give the default dtype, ints int64, NumPy arrays keep their dtype.

    Example:
        >>> import gradcore as gc
        >>> gc.tensor([[1.0, 2.0]]).shape, gc.tensor(3).dtype
        ((1, 2), gradcore.int64)
    """
    if type(data) is int:  # Tensor(5) is refused as torch.Tensor's size form; here it means the number
        data = np.asarray(data, np.int64)
    return Tensor(data, dtype=dtype, device=device or "cpu", requires_grad=requires_grad)


def as_tensor(data: Any, dtype: DType | str | None = None, device: str | None = None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can (a Tensor, or a NumPy array on the CPU, already
    of the asked dtype comes back without a copy), as ``torch.as_tensor``.

    Example:
        >>> import numpy as np, gradcore as gc
        >>> a = np.zeros(2); t = gc.as_tensor(a); a[0] = 1
        >>> t.tolist()
        [1.0, 0.0]
    """
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    dev = backend.normalize_device(device)
    if isinstance(data, np.ndarray) and data.dtype in DTYPE_OF_NUMPY:
        t = from_numpy(data)
        return t.to(dtype=dtype, device=dev)
    return tensor(data, dtype=dtype, device=dev)


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


def _shape(shape: tuple, what: str = "size") -> tuple[int, ...]:
    """torch's size arguments: ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f()`` (0-d); ints only."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{what}: sizes must be ints, got {shape!r}")
    if any(int(s) < 0 for s in shape):
        raise ValueError(f"{what}: negative dimension in shape {shape}")
    return tuple(int(s) for s in shape)


def _float_dtype(dtype: DType | str | None, what: str) -> DType:
    dt = get_default_dtype() if dtype is None else as_dtype(dtype)
    if not dt.is_floating:
        raise TypeError(f"{what}: needs a floating dtype, got {dt}")
    return dt


def _make(array: np.ndarray, device: str | None, requires_grad: bool) -> Tensor:
    return Tensor(array, device=device or "cpu", requires_grad=requires_grad)


def _filled(
    shape: tuple[int, ...], value: float, dtype: DType | str, device: str | None, requires_grad: bool
) -> Tensor:
    # Allocated on the target device directly: no host buffer of the full size is made.
    device = backend.normalize_device(device)
    dt = as_dtype(dtype)
    t = Tensor._wrap(backend.get(device).empty(shape, dt.np), device)
    t.fill_(value)
    t.requires_grad = requires_grad
    return t


def _fill_dtype(value: Any) -> DType:
    # torch.full infers the dtype from the fill value: bool, int64, or the default float dtype.
    if isinstance(value, Tensor):
        return value.dtype
    if isinstance(value, (bool, np.bool_)):
        return as_dtype(np.bool_)
    if isinstance(value, (int, np.integer)):
        return int64
    return get_default_dtype()


def full(
    size: Any,
    fill_value: float,
    dtype: DType | str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value (int64 for ints, the
    default float dtype for floats) unless given, as ``torch.full``.

    Example:
        >>> import gradcore as gc
        >>> gc.full((2,), 7.0).tolist(), gc.full((2,), 7).dtype
        ([7.0, 7.0], gradcore.int64)
    """
    dt = _fill_dtype(fill_value) if dtype is None else as_dtype(dtype)
    return _filled(_shape((size,), "full"), fill_value, dt, device, requires_grad)


def empty(
    *size: Any, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialised tensor of the given size: ``gc.empty(2, 3)``.

    Example:
        >>> import gradcore as gc
        >>> gc.empty(2, 3).shape
        (2, 3)
    """
    device = backend.normalize_device(device)
    dt = get_default_dtype() if dtype is None else as_dtype(dtype)
    t = Tensor._wrap(backend.get(device).empty(_shape(size, "empty"), dt.np), device)
    t.requires_grad = requires_grad
    return t


def zeros(
    *size: Any, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """Zeros of the given size: ``gc.zeros(2, 3)`` or ``gc.zeros((2, 3))``.

    Example:
        >>> import gradcore as gc
        >>> gc.zeros(2, dtype=gc.int64).tolist()
        [0, 0]
    """
    dt = get_default_dtype() if dtype is None else dtype
    return _filled(_shape(size, "zeros"), 0, dt, device, requires_grad)


def ones(
    *size: Any, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """Ones of the given size: ``gc.ones(2, 3)``.

    Example:
        >>> import gradcore as gc
        >>> gc.ones(2).tolist()
        [1.0, 1.0]
    """
    dt = get_default_dtype() if dtype is None else dtype
    return _filled(_shape(size, "ones"), 1, dt, device, requires_grad)


def _like(t: Tensor, dtype: DType | str | None, device: str | None, requires_grad: bool = False) -> dict:
    """The keywords a *_like function (or a Tensor.new_* method) passes on: t's dtype and device unless
    given."""
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, got {type(t).__name__}")
    dtype = t.dtype if dtype is None else as_dtype(dtype)
    return dict(dtype=dtype, device=t.device if device is None else device, requires_grad=requires_grad)


def zeros_like(
    input: Tensor, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """Zeros with ``input``'s shape, dtype and device (each overridable).

    Example:
        >>> import gradcore as gc
        >>> gc.zeros_like(gc.ones(2, dtype=gc.int64)).tolist()
        [0, 0]
    """
    return zeros(input.shape, **_like(input, dtype, device, requires_grad))


def ones_like(
    input: Tensor, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """Ones with ``input``'s shape, dtype and device (each overridable)."""
    return ones(input.shape, **_like(input, dtype, device, requires_grad))


def full_like(
    input: Tensor,
    fill_value: float,
    dtype: DType | str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``fill_value`` with ``input``'s shape, dtype and device (each overridable).

    Example:
        >>> import gradcore as gc
        >>> gc.full_like(gc.zeros(2), 3).tolist()
        [3.0, 3.0]
    """
    return full(input.shape, fill_value, **_like(input, dtype, device, requires_grad))


def empty_like(
    input: Tensor, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialised tensor with ``input``'s shape, dtype and device (each overridable)."""
    return empty(input.shape, **_like(input, dtype, device, requires_grad))


def rand_like(
    input: Tensor, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """Uniform samples in [0, 1) with ``input``'s shape, dtype and device (each overridable)."""
    return rand(input.shape, **_like(input, dtype, device, requires_grad))


def randn_like(
    input: Tensor, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples with ``input``'s shape, dtype and device (each overridable)."""
    return randn(input.shape, **_like(input, dtype, device, requires_grad))


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    dtype: DType | str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Random integers in [low, high) with ``input``'s shape, dtype and device: ``randint_like(x, 10)``
    or ``randint_like(x, 5, 10)``, as ``torch.randint_like``.

    Example:
        >>> import gradcore as gc
        >>> gc.randint_like(gc.zeros(3), 1, 2).tolist()
        [1.0, 1.0, 1.0]
    """
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, **_like(input, dtype, device, requires_grad))


def randn(
    *size: Any, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Standard normal samples: ``gc.randn(64, 784)``.

    Example:
        >>> import gradcore as gc
        >>> gc.randn(2, 3, dtype=gc.float64).dtype
        gradcore.float64
    """
    dt = _float_dtype(dtype, "randn")
    rng = _rng if generator is None else generator.rng  # a gc.Generator draws from its own stream
    return _make(rng.standard_normal(_shape(size, "randn")).astype(dt.np), device, requires_grad)


def rand(
    *size: Any, dtype: DType | str | None = None, device: str | None = None, requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Uniform samples in [0, 1): ``gc.rand(3)``.

    Example:
        >>> import gradcore as gc
        >>> bool(((gc.rand(100) >= 0) * (gc.rand(100) < 1)).sum().item() == 100)
        True
    """
    dt = _float_dtype(dtype, "rand")
    rng = _rng if generator is None else generator.rng  # a gc.Generator draws from its own stream
    return _make(rng.random(_shape(size, "rand")).astype(dt.np), device, requires_grad)


def randint(
    *args: Any,
    low: int | None = None,
    high: int | None = None,
    size: Any = None,
    dtype: DType | str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Random integers in [low, high): ``randint(high, size)``, ``randint(low, high, size)`` or keywords
    ``low=, high=, size=``; int64 unless ``dtype`` is given, as ``torch.randint``.

    Example:
        >>> import gradcore as gc
        >>> t = gc.randint(3, 10, (2, 2)); t.shape, t.dtype
        ((2, 2), gradcore.int64)
    """
    if size is None and args:
        args, size = args[:-1], args[-1]
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        low, high = (args[0], high) if high is not None else (low, args[0])
    if size is None or high is None or len(args) > 2:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    low = 0 if low is None else low
    shape = _shape((size,), "randint")
    if not int(low) < int(high):
        raise ValueError(f"randint: low ({low}) must be less than high ({high})")
    dt = int64 if dtype is None else as_dtype(dtype)
    rng = _rng if generator is None else generator.rng  # a gc.Generator draws from its own stream
    values = rng.integers(int(low), int(high), shape, dtype=np.int64)
    return _make(values.astype(dt.np), device, requires_grad)


def uniform(
    shape: tuple[int, ...],
    low: float,
    high: float,
    dtype: DType | str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples in [low, high) (the weight initialisers' source)."""
    dt = _float_dtype(dtype, "uniform")
    return _make(_rng.uniform(low, high, _shape((shape,), "uniform")).astype(dt.np), device, requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: DType | str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` every ``step``, as ``torch.arange``:
    ``arange(end)``, ``arange(start, end[, step])``; int64 when all arguments are ints, else the default
    float dtype; value i is ``start + i * step`` (computed in float64).

    Example:
        >>> import gradcore as gc
        >>> gc.arange(3).tolist(), gc.arange(1, 2, 0.25).tolist()
        ([0, 1, 2], [1.0, 1.25, 1.5, 1.75])
    """
    if end is None:
        start, end = 0, start
    bounds = (start, end, step)
    for v in bounds:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange: start, end and step must be numbers, got {bounds!r}")
    integral = all(isinstance(v, (int, np.integer)) for v in bounds)
    dt = (int64 if integral else get_default_dtype()) if dtype is None else as_dtype(dtype)
    if not dt.is_floating and not integral:  # torch truncates the bounds to the integer dtype first
        start, end, step = int(start), int(end), int(step)
        integral = True
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: end ({end}) and start ({start}) disagree with the sign of step ({step})")
    if integral:
        values = np.arange(int(start), int(end), int(step), dtype=np.int64)
    else:
        n = max(int(math.ceil((float(end) - float(start)) / float(step))), 0)
        values = float(start) + np.arange(n, dtype=np.float64) * float(step)
    return _make(values.astype(dt.np), device, requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: DType | str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive, as ``torch.linspace``
    (the first half counted from start, the second from end, so both ends are exact).

    Example:
        >>> import gradcore as gc
        >>> gc.linspace(0, 1, 5).tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    dt = get_default_dtype() if dtype is None else as_dtype(dtype)
    return _make(_linspace64(start, end, steps, "linspace").astype(dt.np), device, requires_grad)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: DType | str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` values from ``base**start`` to ``base**end``, evenly spaced in the exponent, as
    ``torch.logspace``.

    Example:
        >>> import gradcore as gc
        >>> gc.logspace(0, 2, 3).tolist()
        [1.0, 10.0, 100.0]
    """
    dt = get_default_dtype() if dtype is None else as_dtype(dtype)
    values = np.power(float(base), _linspace64(start, end, steps, "logspace"))
    return _make(values.astype(dt.np), device, requires_grad)


def _linspace64(start: float, end: float, steps: int, what: str) -> np.ndarray:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"{what}: steps must be a non-negative int, got {steps!r}")
    start, end = float(start), float(end)
    if steps == 1:
        return np.array([start])
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / max(steps - 1, 1)
    return np.where(i < steps // 2, start + i * step, end - (steps - 1 - i) * step)


def eye(
    n: int,
    m: int | None = None,
    dtype: DType | str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """An n x m matrix (m defaults to n) with ones on the diagonal, as ``torch.eye``.

    Example:
        >>> import gradcore as gc
        >>> gc.eye(2).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    shape = _shape((n,) if m is None else (n, m), "eye")
    dt = get_default_dtype() if dtype is None else as_dtype(dtype)
    return _make(np.eye(shape[0], shape[-1], dtype=dt.np), device, requires_grad)
