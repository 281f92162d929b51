"""The dtypes gradcore tensors hold (float16/32/64, bfloat16, int32/64, bool), and conversion from NumPy
or strings."""

from __future__ import annotations

import ml_dtypes  # bfloat16 as a NumPy dtype (JAX's package): CPU storage stays a NumPy array
import numpy as np


class DType:
    """A tensor element type, e.g. ``gradcore.float32``."""

    __slots__ = ("name", "np", "is_floating")

    def __init__(self, name: str, np_dtype: object = None) -> None:
        self.name = name
        self.np = np.dtype(name if np_dtype is None else np_dtype)
        self.is_floating = self.np.kind == "f" or name == "bfloat16"

    @property
    def is_floating_point(self) -> bool:
        return self.is_floating

    def __repr__(self) -> str:
        return f"gradcore.{self.name}"

    @property
    def itemsize(self) -> int:
        return self.np.itemsize


float32 = DType("float32")
float64 = DType("float64")
int32 = DType("int32")
int64 = DType("int64")
bool_ = DType("bool")  # exported as gradcore.bool
# 16-bit storage types: kernels compute them in float32 and round once (csrc/half.h, the bindings).
float16 = DType("float16")  # also gradcore.half
bfloat16 = DType("bfloat16", ml_dtypes.bfloat16)
HALF_TYPES = (float16, bfloat16)

_ALL = (float32, float64, int32, int64, bool_, float16, bfloat16)
_BY_NAME = {d.name: d for d in _ALL}
_BY_NP = {d.np: d for d in _ALL}
DTYPE_OF_NUMPY = _BY_NP  # numpy dtype -> DType, for the hot path
_SUPPORTED = "float32, float64, float16, bfloat16, int32, int64 and bool"


def as_dtype(value: DType | str | np.dtype | type) -> DType:
    """Turns ``gradcore.float32``, ``"float32"``, ``np.float32`` or ``np.dtype('f4')`` into a DType."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    try:
        return _BY_NP[np.dtype(value)]
    except (KeyError, TypeError):
        raise TypeError(
            f"unsupported dtype {value!r}: gradcore supports {_SUPPORTED}"
        ) from None


class finfo:
    """Machine limits of a float dtype as Python floats (``max``, ``min``, ``eps``, ``tiny``,
    ``smallest_normal``, ``resolution``, ``bits``), as ``torch.finfo``; the default dtype when none is given.

    Example:
        >>> import gradcore as gc
        >>> gc.finfo(gc.float16).max, gc.finfo(gc.bfloat16).eps
        (65504.0, 0.0078125)
    """

    def __init__(self, dtype: DType | str | None = None) -> None:
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        if not dt.is_floating:
            raise TypeError(f"finfo: {dt} is not a floating point dtype (use numpy.iinfo for integers)")
        f = ml_dtypes.finfo(dt.np)  # NumPy's finfo, extended to bfloat16
        self.dtype = dt.name
        self.bits = int(f.bits)
        self.max, self.min, self.eps = float(f.max), float(f.min), float(f.eps)
        self.tiny = self.smallest_normal = float(f.tiny)
        self.resolution = 10.0 ** -int(f.precision)  # torch's: 10**-digits exactly

    def __repr__(self) -> str:
        limits = f"resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}"
        return f"finfo({limits}, dtype={self.dtype})"


def from_numpy_dtype(dt: np.dtype) -> DType:
    found = _BY_NP.get(dt)
    if found is None:
        raise TypeError(
            f"unsupported dtype {dt}: gradcore supports {_SUPPORTED}"
        )
    return found


def promote(a: DType, b: DType) -> DType:
    """Result dtype of a binary op, as in PyTorch: the wider float wins (float16 with bfloat16 gives
    float32), ints go to float, bool goes to anything."""
    if a is b:
        return a
    if a is bool_ or b is bool_:
        return b if a is bool_ else a
    if a.is_floating and b.is_floating:
        return float64 if float64 in (a, b) else float32
    if a.is_floating:
        return a
    if b.is_floating:
        return b
    return int64


# The dtype Python floats become (tensor([1.0]), zeros(), int / int, ...), as torch's default dtype.
_default_float = float32


def get_default_dtype() -> DType:
    """The dtype that Python floats and the float factories (zeros, randn, ...) give; float32 at start.

    Example:
        >>> import gradcore as gc
        >>> gc.get_default_dtype()
        gradcore.float32
    """
    return _default_float


def set_default_dtype(dtype: DType | str) -> None:
    """Sets the default float dtype (float32 or float64 only, as in PyTorch).

    Example:
        >>> import gradcore as gc
        >>> gc.set_default_dtype(gc.float64); gc.tensor([1.0]).dtype
        gradcore.float64
        >>> gc.set_default_dtype(gc.float32)
    """
    global _default_float
    dt = as_dtype(dtype)
    if not dt.is_floating:
        raise TypeError(f"set_default_dtype: only floating-point types can be the default, got {dt}")
    _default_float = dt
