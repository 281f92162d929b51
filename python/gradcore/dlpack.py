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
        array = np.from_dlpack(obj)  # NumPy asks for a versioned capsule and accepts either kind
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
