"""CUDA storage handling: device arrays (gradcore._C.cuda.Array) viewed through shape/strides/offset."""

from __future__ import annotations

from typing import Any

import numpy as np

from .cuda import native

_cuda = native()  # gradcore._C.cuda, or its emulator under GRADCORE_EMULATE_CUDA=1


def _contiguous_strides(shape: tuple[int, ...]) -> list[int]:
    strides, n = [], 1
    for s in reversed(shape):
        strides.append(n)
        n *= s
    return strides[::-1]


def basic_index(shape: tuple[int, ...], strides: tuple[int, ...], offset: int, index: Any):
    """The (shape, strides, offset) of ``array[index]`` for basic indices, as NumPy computes them."""
    parts = list(index) if isinstance(index, tuple) else [index]
    n_real = sum(1 for p in parts if p is not None and p is not Ellipsis)
    if Ellipsis in parts:
        at = parts.index(Ellipsis)
        parts[at : at + 1] = [slice(None)] * (len(shape) - n_real)
    parts += [slice(None)] * (len(shape) - sum(1 for p in parts if p is not None))
    new_shape, new_strides, dim = [], [], 0
    for p in parts:
        if p is None:
            new_shape.append(1)
            new_strides.append(0)
            continue
        size, stride = shape[dim], strides[dim]
        if isinstance(p, slice):
            start, stop, step = p.indices(size)
            count = len(range(start, stop, step))
            offset += start * stride if count else 0
            new_shape.append(count)
            new_strides.append(stride * step)
        else:
            i = int(p) + size if int(p) < 0 else int(p)
            offset += i * stride
        dim += 1
    return tuple(new_shape), new_strides, offset


def _byte_range(a: Any) -> tuple[int, int] | None:
    """[first, last) byte addresses an array touches; None when it holds no element."""
    if any(n == 0 for n in a.shape):
        return None
    item = np.dtype(a.dtype).itemsize
    lo = sum((n - 1) * s for n, s in zip(a.shape, a.strides) if s < 0)
    hi = sum((n - 1) * s for n, s in zip(a.shape, a.strides) if s > 0)
    return a.data_ptr + lo * item, a.data_ptr + (hi + 1) * item


class CUDABackend:
    """CUDA storage is gradcore._C.cuda.Array; kernels come from ``gradcore._C.cuda``."""

    name = "cuda"
    kernels = _cuda

    @staticmethod
    def empty(shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return _cuda.Array.empty(list(shape), dtype)

    @staticmethod
    def zeros(shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return _cuda.Array.zeros(list(shape), dtype)

    @staticmethod
    def from_numpy(array: np.ndarray) -> Any:
        # Not np.ascontiguousarray: it turns a 0-d array into shape (1,).
        host = array if array.flags.c_contiguous else np.array(array, order="C")
        return _cuda.Array.from_numpy(host)

    @staticmethod
    def to_numpy(data: Any) -> np.ndarray:
        return data.numpy()

    @staticmethod
    def is_contiguous(data: Any) -> bool:
        return data.is_contiguous()

    @staticmethod
    def view_reshape(data: Any, shape: tuple[int, ...]) -> Any:
        return data.as_strided(list(shape), _contiguous_strides(shape), data.offset)

    @staticmethod
    def permute(data: Any, axes: tuple[int, ...]) -> Any:
        shape, strides = data.shape, data.strides
        return data.as_strided([shape[a] for a in axes], [strides[a] for a in axes], data.offset)

    @staticmethod
    def expand(data: Any, shape: tuple[int, ...]) -> Any:
        lead = len(shape) - data.ndim
        strides = [0] * lead + [0 if n == 1 else s for n, s in zip(data.shape, data.strides)]
        return data.as_strided(list(shape), strides, data.offset)

    @staticmethod
    def may_overlap(a: Any, b: Any) -> bool:
        """Whether the byte ranges the two arrays span intersect (conservative for interleaved views)."""
        ra, rb = _byte_range(a), _byte_range(b)
        return ra is not None and rb is not None and ra[0] < rb[1] and rb[0] < ra[1]

    @staticmethod
    def is_writeable(data: Any) -> bool:
        return True  # device memory is always writable

    @staticmethod
    def getitem(data: Any, index: Any) -> Any:
        shape, strides, offset = basic_index(data.shape, data.strides, data.offset, index)
        return data.as_strided(list(shape), strides, offset)
