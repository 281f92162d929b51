"""Device dispatch by name: each device supplies storage handling and the native kernel table.

Ops never test which device they run on; they ask ``backend.get(device)`` for storage helpers and
``backend.kernel(device, name)`` for a native kernel with the same name on every device.
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np

from . import _C

_CACHE_MIN_BYTES = _C.cpu.cache_min_bytes


def checked_nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """The byte size of ``shape``; ValueError naming it when a dim is negative or the size overflows int64."""
    if shape and min(shape) < 0:
        raise ValueError(f"negative dimension in shape {tuple(shape)}")
    nbytes = dtype.itemsize * prod(shape)  # Python ints: exact, so the overflow test below is reliable
    if nbytes >= 1 << 63:
        raise ValueError(f"shape {tuple(shape)} of {dtype} is too large (its size in bytes overflows int64)")
    return nbytes


class CPUBackend:
    """CPU storage is a NumPy array (views included); kernels come from ``gradcore._C.cpu``."""

    name = "cpu"
    kernels = _C.cpu

    @staticmethod
    def empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        # Large buffers come from the native host cache (no page faults on reuse); small ones from NumPy.
        # checked_nbytes inlined for the common case (this runs once per op): a positive product of
        # non-negative dims below the cache threshold needs no further check.
        if not shape or min(shape) >= 0:
            nbytes = dtype.itemsize * prod(shape)
            if nbytes < _CACHE_MIN_BYTES:
                return np.empty(shape, dtype)
        if checked_nbytes(shape, dtype) >= _CACHE_MIN_BYTES:
            return _C.cpu.cached_empty(list(shape), dtype)
        return np.empty(shape, dtype)

    @staticmethod
    def zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        checked_nbytes(shape, dtype)
        return np.zeros(shape, dtype)

    @staticmethod
    def from_numpy(array: np.ndarray) -> np.ndarray:
        return array

    @staticmethod
    def to_numpy(data: np.ndarray) -> np.ndarray:
        return data

    @staticmethod
    def is_contiguous(data: np.ndarray) -> bool:
        return data.flags.c_contiguous

    @staticmethod
    def view_reshape(data: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return data.reshape(shape)  # callers pass contiguous data, so this never copies

    @staticmethod
    def permute(data: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        return data.transpose(axes)

    @staticmethod
    def expand(data: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(data, shape)

    @staticmethod
    def getitem(data: np.ndarray, index: Any) -> np.ndarray:
        out = data[index]
        if not isinstance(out, np.ndarray):  # all-int index: a 0-d view (writable), not a NumPy scalar
            out = data[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
        return out

    @staticmethod
    def may_overlap(a: np.ndarray, b: np.ndarray) -> bool:
        """Whether writing b could change a: NumPy's exact answer, bounded work (too hard counts as yes)."""
        if not np.may_share_memory(a, b):
            return False
        try:
            return bool(np.shares_memory(a, b, max_work=10_000))
        except np.exceptions.TooHardError:
            return True

    @staticmethod
    def is_writeable(data: np.ndarray) -> bool:
        return bool(data.flags.writeable)


_BACKENDS: dict[str, Any] = {"cpu": CPUBackend}


def normalize_device(device: str | None) -> str:
    """Accepts "cpu", "cuda" and "cuda:0"; raises a clear error for anything else."""
    if device is None:
        return "cpu"
    name = str(device)
    if name in ("cpu", "cuda"):
        return name
    if name == "cuda:0":
        return "cuda"
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def get(device: str) -> Any:
    backend = _BACKENDS.get(device)
    if backend is None:
        if device == "cuda":
            from .cuda import cuda_backend

            backend = _BACKENDS["cuda"] = cuda_backend()
        else:
            raise ValueError(f"unknown device {device!r}")
    return backend


_kernel_cache: dict[tuple[str, str], Any] = {}


def kernel(device: str, name: str) -> Any:
    """The native kernel ``name`` for ``device``, e.g. ``kernel("cpu", "unary_relu")``."""
    key = (device, name)
    fn = _kernel_cache.get(key)
    if fn is None:
        fn = _kernel_cache[key] = getattr(get(device).kernels, name)
    return fn
