"""gradcore.cuda: whether CUDA is built and usable, and the device memory helpers."""

from __future__ import annotations

from typing import Any

from . import _C


def is_built() -> bool:
    """True when the native module was compiled with the CUDA kernels."""
    return bool(_C.cuda_built)


def is_available() -> bool:
    """True when CUDA is built and a GPU can be used now.

    Example:
        >>> import gradcore as gc
        >>> isinstance(gc.cuda.is_available(), bool)
        True
    """
    return is_built() and _C.cuda.device_count() > 0


def _require() -> Any:
    if not is_built():
        raise RuntimeError("CUDA is not available: gradcore was built without CUDA (no nvcc at build time)")
    if _C.cuda.device_count() == 0:
        raise RuntimeError("CUDA is not available: no CUDA device was found")
    return _C.cuda


def synchronize() -> None:
    """Waits for all queued GPU work to finish."""
    _require().synchronize()


def memory_stats() -> dict[str, int]:
    """Caching allocator counters: bytes in use, bytes cached, and cudaMalloc calls made."""
    return dict(_require().memory_stats())


def empty_cache() -> None:
    """Returns cached but unused device blocks to the driver."""
    _require().empty_cache()


def cuda_backend() -> Any:
    _require()
    from .cuda_backend import CUDABackend

    return CUDABackend
