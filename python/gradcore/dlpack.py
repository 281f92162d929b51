"""Zero-copy exchange with other array libraries through DLPack."""

from __future__ import annotations

from typing import Any

import numpy as np

from .dtypes import from_numpy_dtype
from .tensor import Tensor

_KDL_CPU, _KDL_CUDA = 1, 2


def from_dlpack(obj: Any) -> Tensor:
    """A tensor sharing memory with any object that implements ``__dlpack__`` (NumPy, CuPy, PyTorch).

    CPU data becomes a cpu tensor, data on the first GPU a cuda tensor; versioned (DLPack 1.x) and
    legacy capsules are both accepted. Other devices (another GPU, pinned or managed memory) raise.

    Example:
        >>> import numpy as np, gradcore as gc
        >>> a = np.arange(3.0)
        >>> t = gc.from_dlpack(a); a[0] = 7.0
        >>> t.numpy()[0].item()
        7.0
    """
    if not hasattr(obj, "__dlpack_device__") or not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: {type(obj).__name__} does not implement __dlpack__")
    device_type, device_id = (int(v) for v in obj.__dlpack_device__())
    if device_type == _KDL_CPU:
        if "bfloat16" in str(getattr(obj, "dtype", "")):  # NumPy has no bfloat16: read the capsule ourselves
            array = _import_bfloat16(obj, TypeError("from_dlpack: the capsule does not hold bfloat16"))
        else:
            try:
                array = np.from_dlpack(obj)  # NumPy asks for a versioned capsule and accepts either kind
            except (BufferError, TypeError, ValueError, RuntimeError) as e:
                array = _import_bfloat16(obj, e)  # a producer without .dtype
        from_numpy_dtype(array.dtype)  # a clear TypeError for dtypes gradcore does not hold
        return Tensor._wrap(array, "cpu")
    if device_type == _KDL_CUDA:
        if device_id != 0:
            raise ValueError(
                f"from_dlpack: the tensor is on cuda:{device_id} but gradcore works on cuda:0; "
                "move it there first"
            )
        from .cuda import _require

        return Tensor._wrap(_require().Array.from_dlpack(obj), "cuda")
    raise TypeError(
        f"from_dlpack: unsupported DLPack device type {device_type} (1: CPU and 2: CUDA are supported)"
    )


class _ImportedMemory:
    """Owns a consumed CPU capsule's memory for NumPy (its ``__array_interface__``); releases it when the
    last array viewing it is gone."""

    def __init__(self, imported: Any, readonly: bool) -> None:
        self._imported = imported
        itemsize = imported.dtype.itemsize
        self.__array_interface__ = {
            "shape": imported.shape,
            "typestr": f"|V{itemsize}",
            "data": (imported.data, readonly),
            "strides": tuple(st * itemsize for st in imported.strides),
            "version": 3,
        }

    def __del__(self) -> None:
        self._imported.release()


def _import_bfloat16(obj: Any, numpy_error: Exception) -> np.ndarray:
    from . import _dlpack_abi

    try:
        capsule = obj.__dlpack__(max_version=(1, 0))
    except TypeError:  # a producer older than DLPack 1.0
        capsule = obj.__dlpack__()
    imported = _dlpack_abi.consume_capsule(capsule)
    if imported.dtype.name != "bfloat16":
        imported.release()
        raise numpy_error
    owner = _ImportedMemory(imported, readonly=bool(imported.flags & _dlpack_abi.FLAG_READ_ONLY))
    return np.asarray(owner).view(imported.dtype)


def bfloat16_capsule(
    array: np.ndarray, *, max_version: Any = None, dl_device: Any = None, copy: Any = None
) -> Any:
    """A DLPack capsule (kDLBfloat, 16 bits) of a CPU bfloat16 array, which NumPy cannot export itself."""
    from . import _dlpack_abi

    if dl_device is not None and tuple(dl_device) != (_KDL_CPU, 0):
        raise BufferError(f"__dlpack__: cannot export a cpu tensor to device {tuple(dl_device)}")
    if copy:
        array = array.copy()
    itemsize = array.dtype.itemsize
    versioned = max_version is not None and tuple(max_version)[0] >= 1
    flags = 0 if array.flags.writeable else _dlpack_abi.FLAG_READ_ONLY
    return _dlpack_abi.make_capsule(
        array.ctypes.data, (_KDL_CPU, 0), array.shape, tuple(st // itemsize for st in array.strides),
        array.dtype, array, versioned=versioned, flags=flags,
    )
