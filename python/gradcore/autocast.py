"""gradcore.autocast: mixed precision as torch.autocast, by casting the inputs of listed primitives.

Inside ``autocast`` the primitives named in ``LOWER_PRECISION`` (matmul, linear, conv) run in the half type
on float32 inputs, and those in ``FLOAT32[device]`` (losses, prod; on cuda also softmax, norms, sums) and the
composite losses marked ``@float32_inputs`` run in float32 on half inputs; every other op runs in its inputs'
dtype. The casts are ordinary differentiable
``Cast`` primitives, so gradients reach float32 parameters in float32 and the optimizer state stays float32.
The lists follow torch 2.13's autocast (CPU: bfloat16 default; CUDA: float16 default); adding a primitive is
adding its Function class name to a list.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from . import autograd
from .dtypes import DType, as_dtype, bfloat16, float16, float32

# Function classes run in the autocast dtype when an input is float32.
LOWER_PRECISION = {"MatMul", "Linear", "Conv2d", "ConvTranspose2d"}
# Function classes run in float32 when an input is a half type (the losses are fused primitives here).
FLOAT32 = {
    "cpu": {"SoftmaxCrossEntropy", "BinaryCrossEntropy", "BinaryCrossEntropyElementwise", "Prod"},
    "cuda": {
        "SoftmaxCrossEntropy",
        "BinaryCrossEntropy",
        "BinaryCrossEntropyElementwise",
        "Prod",
        "LogSoftmaxRows",
        "LayerNormRows",
        "Sum",
        "CumSum",
        "Norm2",
        "Exp",
        "Log",
        "Pow",
    },
}
_DEFAULT_DTYPE = {"cpu": bfloat16, "cuda": float16}

_state = threading.local()  # per thread: list of (device_type, dtype or None when disabled)
_open = [0]  # enabled regions open in all threads: the hook is installed while any is
_open_lock = threading.Lock()


def _stack() -> list[tuple[str, DType | None]]:
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    return stack


def get_autocast_dtype(device_type: str) -> DType:
    """The dtype autocast uses for ``device_type`` in the innermost enabled region (or its default)."""
    for dev, dt in reversed(_stack()):
        if dev == device_type and dt is not None:
            return dt
    return _DEFAULT_DTYPE[device_type]


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether the innermost autocast region for ``device_type`` is enabled."""
    for dev, dt in reversed(_stack()):
        if dev == device_type:
            return dt is not None
    return False


def _active(device: str) -> DType | None:
    for dev, dt in reversed(_stack()):
        if dev == device:
            return dt
    return None


def _cast_inputs(cls: type, inputs: tuple) -> tuple:
    """Function.apply's autocast hook: the inputs as the listed primitive should see them."""
    name = cls.__name__
    if name in LOWER_PRECISION:
        device = inputs[0].device
        dt = _active(device)
        if dt is None:
            return inputs
        return tuple(t.to(dt) if getattr(t, "dtype", None) is float32 else t for t in inputs)
    if inputs:
        device = getattr(inputs[0], "device", None)
        if name in FLOAT32.get(device, ()) and _active(device) is not None:
            half = (float16, bfloat16)
            return tuple(t.to(float32) if getattr(t, "dtype", None) in half else t for t in inputs)
    return inputs


def _up(value: Any) -> Any:
    if isinstance(value, autograd._tensor_type) and value.dtype in (float16, bfloat16):
        if _active(value.device):
            return value.to(float32)
    return value


def float32_inputs(fn: Any) -> Any:
    """Marks a composite op (a loss) that autocast runs in float32: inside an enabled region its float16 /
    bfloat16 tensor arguments are cast up first, as torch's autocast does for its float32 list."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if autograd._autocast_hook is not None:
            args = tuple(_up(a) for a in args)
            kwargs = {k: _up(v) for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    return wrapper


def _count_region(delta: int) -> None:
    # The hook costs Function.apply nothing while no enabled region is open in any thread.
    with _open_lock:
        _open[0] += delta
        autograd._autocast_hook = _cast_inputs if _open[0] > 0 else None


class autocast:
    """Context manager and decorator running listed ops in a half type, as ``torch.autocast``.

    ``device_type`` is "cpu" or "cuda"; ``dtype`` defaults to bfloat16 on cpu and float16 on cuda;
    ``enabled=False`` turns autocast off inside an enabled region.

    Example:
        >>> import gradcore as gc
        >>> a, b = gc.randn(2, 3), gc.randn(3, 4)
        >>> with gc.autocast("cpu"):
        ...     (a @ b).dtype, (a + 1).dtype
        (gradcore.bfloat16, gradcore.float32)
    """

    def __init__(
        self,
        device_type: str = "cuda",
        dtype: DType | str | None = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        device_type = str(device_type).split(":")[0]
        if device_type not in _DEFAULT_DTYPE:
            raise ValueError(f"autocast: device_type must be 'cpu' or 'cuda', got {device_type!r}")
        dt = _DEFAULT_DTYPE[device_type] if dtype is None else as_dtype(dtype)
        if dt not in (float16, bfloat16):
            raise ValueError(f"autocast: dtype must be float16 or bfloat16, got {dt}")
        self.device_type, self.fast_dtype, self.enabled = device_type, dt, bool(enabled)

    def __enter__(self) -> autocast:
        _stack().append((self.device_type, self.fast_dtype if self.enabled else None))
        _count_region(1)
        return self

    def __exit__(self, *exc: object) -> None:
        _stack().pop()
        _count_region(-1)

    def __call__(self, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return fn(*args, **kwargs)

        return wrapper
