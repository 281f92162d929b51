"""torch.as_strided: a view with any sizes, strides and storage offset over a tensor's whole storage, and its
backward (the gradient scattered through the view's geometry into the storage, then read back through the
input's geometry, as torch's as_strided_backward)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .autograd import Function

if TYPE_CHECKING:
    from .tensor import Tensor


def _T() -> Any:
    from .tensor import Tensor

    return Tensor


class StorageBoundsError(RuntimeError, ValueError):
    """A view reaching outside its storage: a RuntimeError as torch raises, and a ValueError as gradcore's
    as_strided raised before it became a view of the whole storage."""


def _numpy_storage(data: np.ndarray) -> tuple[np.ndarray, int]:
    """The flat storage (in data's dtype) that the NumPy view `data` lives in, and data's offset in it."""
    root, node = data, data
    while getattr(node, "base", None) is not None:  # views made by as_strided hang off a non-ndarray holder
        node = node.base
        if isinstance(node, np.ndarray):
            root = node
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        raise RuntimeError("as_strided: the tensor's storage is not one contiguous block of memory")
    raw = root.ravel(order="K").view(np.uint8)  # the block's bytes, in memory order (a view, no copy)
    size = data.itemsize
    flat = raw[: raw.size // size * size].view(data.dtype)
    offset = (data.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // size
    return flat, offset


def _span(size: Sequence[int], stride: Sequence[int]) -> int:
    """The number of storage elements a view of this geometry needs past its offset (0 when empty)."""
    if any(n == 0 for n in size):
        return 0
    return 1 + sum((n - 1) * s for n, s in zip(size, stride))


def _storage_view(data: Any, size: tuple[int, ...], stride: tuple[int, ...], offset: int) -> Any:
    """A view of data's storage with the given geometry (offset counted from the storage's first element)."""
    if isinstance(data, np.ndarray):
        flat, _ = _numpy_storage(data)
        need = offset + _span(size, stride)
        if need > flat.size or offset > flat.size:
            raise StorageBoundsError(
                f"as_strided: sizes {list(size)}, strides {list(stride)} and storage offset {offset} need a "
                f"storage of {max(need, offset)} elements: outside (out of bounds for) a storage of "
                f"{flat.size} elements"
            )
        itemsize = data.itemsize
        return np.lib.stride_tricks.as_strided(
            flat[offset:], size, tuple(s * itemsize for s in stride), writeable=data.flags.writeable
        )
    try:  # device arrays check the view against their memory block
        return data.as_strided(list(size), list(stride), offset)
    except ValueError as e:
        raise StorageBoundsError(f"{e} (out of bounds)") from None


def _flat_index(size: tuple[int, ...], stride: tuple[int, ...], offset: int) -> np.ndarray:
    """Every element's storage position, in row-major order of the view (a broadcast sum, no loop over
    elements)."""
    idx = np.full((), offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[d] = n
        idx = idx + (np.arange(n, dtype=np.int64) * s).reshape(shape)
    return np.broadcast_to(idx, size).reshape(-1)


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


def _same_layout(shape: tuple[int, ...], a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether two stride tuples lay out `shape` identically (dims of size 1 may have any stride)."""
    return all(n == 1 or sa == sb for n, sa, sb in zip(shape, a, b))


class AsStrided(Function):
    """The view of x's storage with sizes `size`, element strides `stride`, at storage offset `offset`.

    `geometry` is x's (strides, storage offset) when the view was first made. A replay of the view chain
    on another tensor of x's shape (the in-place machinery's CopySlices does that on a fresh mask and on
    the gradient) reads the same logical elements: directly when the tensor has that layout, shifted when
    both are contiguous, and otherwise through a copy laid out in the recorded geometry."""

    view = True

    def forward(self, x, size, stride, offset, geometry=None):
        from .backend import get as backend_of
        from .backend import kernel
        from .shape_ops import storage_offset, strides_of

        x_stride, x_off = strides_of(x), storage_offset(x)
        rec_stride, rec_off = geometry if geometry is not None else (x_stride, x_off)
        if x_off == rec_off and _same_layout(x.shape, x_stride, rec_stride):
            self.save(x.shape, x_stride, x_off, size, stride, offset)
            return _storage_view(x._data, size, stride, offset)
        contiguous = _contiguous_strides(x.shape)
        lo = offset if _span(size, stride) else rec_off
        inside = rec_off <= lo and offset + _span(size, stride) <= rec_off + x.numel()
        if inside and _same_layout(x.shape, x_stride, contiguous) and _same_layout(x.shape, rec_stride,
                                                                                   contiguous):
            shifted = offset - rec_off + x_off  # the same elements of x's own storage
            self.save(x.shape, x_stride, x_off, size, stride, shifted)
            return _storage_view(x._data, size, stride, shifted)
        # Another layout: x copied into a fresh buffer in the recorded geometry (a read-only replay).
        shared = min(rec_off, offset)
        extent = max(_span(x.shape, rec_stride) + rec_off, _span(size, stride) + offset) - shared
        be = backend_of(x.device)
        buf = be.zeros((extent,), x.dtype.np)
        kernel(x.device, "unary_copy")(x._data, _storage_view(buf, x.shape, rec_stride, rec_off - shared))
        self.save(x.shape, rec_stride, rec_off - shared, size, stride, offset - shared)
        return _storage_view(buf, size, stride, offset - shared)

    def backward(self, g):
        in_size, in_stride, in_off, size, stride, off = self.saved
        return _as_strided_backward(g, in_size, in_stride, in_off, size, stride, off)


def _as_strided_backward(g: Tensor, in_size: tuple[int, ...], in_stride: tuple[int, ...], in_off: int,
                         size: tuple[int, ...], stride: tuple[int, ...], off: int) -> Tensor:
    """torch's as_strided_backward: g scatter-added (overlapping windows accumulate) through the view's
    geometry into zeros spanning both geometries, then gathered through the input's geometry. Where the
    input's own elements overlap (an expanded input), each share is divided by how many elements read it."""
    from .ops_index import Gather, ScatterAddIntoZeros

    Tensor = _T()
    shared = min(in_off, off)
    extent = max(_span(in_size, in_stride) + in_off, _span(size, stride) + off) - shared
    if g.numel() == 0 or any(n == 0 for n in in_size):
        return g.new_zeros(in_size)
    out_idx = _flat_index(size, stride, off - shared)
    in_idx = _flat_index(in_size, in_stride, in_off - shared)
    storage = ScatterAddIntoZeros.apply(
        g.reshape(-1), shape=(extent,), index=Tensor(out_idx, device=g.device), dim=0
    )
    gi = Gather.apply(storage, index=Tensor(in_idx, device=g.device), dim=0)
    count = np.bincount(in_idx, minlength=extent)[in_idx]
    if count.max() > 1:
        gi = gi / Tensor(count.astype(g.dtype.np), device=g.device)
    return gi.reshape(in_size)


def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: int | None = None) -> Tensor:
    """A view of input's storage with the given sizes and element strides, starting storage_offset elements
    into the storage (input's own offset when None), as torch.as_strided; differentiable (overlapping
    windows accumulate their gradients).

    Example:
        >>> import gradcore as gc
        >>> gc.as_strided(gc.arange(6.0), (2, 3), (1, 2)).tolist()
        [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]
    """
    from .shape_ops import storage_offset as offset_of

    if not isinstance(input, _T()):
        raise TypeError(f"as_strided(): argument 'input' must be a Tensor, got {type(input).__name__}")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape ({len(size)} vs {len(stride)})")
    if any(n < 0 for n in size):
        raise RuntimeError(f"as_strided: negative dimension in size {list(size)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: "
                           f"{list(stride)}")
    off = offset_of(input) if storage_offset is None else int(storage_offset)
    if off < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {off}")
    from .shape_ops import strides_of

    geometry = (strides_of(input), offset_of(input))  # for replays on other tensors (see AsStrided)
    return AsStrided.apply(input, size=size, stride=stride, offset=off, geometry=geometry)
