"""Zero-copy exchange with other array libraries through DLPack."""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor


def from_dlpack(obj: Any) -> Tensor:
    """A tensor sharing memory with any object that implements ``__dlpack__`` (NumPy, CuPy, PyTorch).

    Example:
        >>> import numpy as np, gradcore as gc
        >>> a = np.arange(3.0)
        >>> t = gc.from_dlpack(a); a[0] = 7.0
        >>> t.numpy()[0].item()
        7.0
    """
    if not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"from_dlpack: {type(obj).__name__} does not implement __dlpack__")
    device_type, _ = obj.__dlpack_device__()
    if int(device_type) == 1:  # kDLCPU
        return Tensor._wrap(np.from_dlpack(obj), "cpu")
    if int(device_type) == 2:  # kDLCUDA
        from .cuda import _require

        return Tensor._wrap(_require().Array.from_dlpack(obj), "cuda")
    raise TypeError(f"from_dlpack: unsupported device type {device_type}")
