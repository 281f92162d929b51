"""Indexing primitives (gather, scatter, where, cat) and the composites built on them (index_select,
advanced indexing, index_put, masked_fill, stack, split, chunk).

Each primitive's forward runs one native kernel per device (gather/scatter/where, or strided copies for
cat); backward is written in Tensor ops, so double backward works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from .autograd import Function
from .dtypes import bool_, int64, promote

if TYPE_CHECKING:
    from .tensor import Tensor


class DimError(IndexError, ValueError):
    """A dim out of range: an IndexError as in PyTorch, and a ValueError as gradcore raised before."""


def wrap_dim(dim: int, ndim: int, op: str) -> int:
    """dim in [-ndim, ndim) made non-negative; a 0-d tensor accepts -1 and 0, as in PyTorch."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise DimError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims "
                       f"(expected a dim in [{-n}, {n - 1}])")
    return int(dim) % n


def wrap_dims(
    dims: Sequence[int], ndim: int, op: str, duplicate: type[Exception] = ValueError
) -> tuple[int, ...]:
    """Each dim wrapped by wrap_dim, in the given order; a dim named twice raises ``duplicate`` (callers
    differ there: torch's reductions raise RuntimeError, flip/roll/normalize_axes have raised ValueError)."""
    out = tuple(wrap_dim(d, ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise duplicate(f"{op}: dims {tuple(dims)} contain duplicates (a dim appears multiple times)")
    return out


def _tensor_cls() -> Any:
    from .tensor import Tensor

    return Tensor


def _copy_into(src: Tensor, dst_data: Any) -> None:
    backend.kernel(src.device, "unary_copy")(src._data, dst_data)


def index_bounds(index: Tensor) -> tuple[int, int]:
    """(min, max) of a non-empty int tensor with one device-to-host read."""
    lo_hi = cat([index.min().reshape(1), index.max().reshape(1)]).numpy()
    return int(lo_hi[0]), int(lo_hi[1])


def check_index_range(index: Tensor, size: int, op: str) -> None:
    """Raises IndexError for index values outside [0, size), before any kernel runs."""
    if index.numel() == 0:
        return
    lo, hi = index_bounds(index.detach())
    if lo < 0 or hi >= size:
        bad = lo if lo < 0 else hi
        raise IndexError(f"{op}: index {bad} is out of bounds for a dim of size {size}")


def _as_index(index: Any, device: str, op: str) -> Tensor:
    Tensor = _tensor_cls()
    if not isinstance(index, Tensor):
        index = Tensor(np.asarray(index), device=device)
    if index.device != device:
        raise RuntimeError(f"{op}: index on {index.device} but the tensor on {device}")
    if index.dtype.is_floating or index.dtype is bool_:
        raise TypeError(f"{op}: index must be an int64 or int32 tensor, got {index.dtype}")
    return index.detach().to(int64)


# ---------------------------------------------------------------- primitives


class Gather(Function):
    """out[i][j][k] = x[i][index[i][j][k]][k] for dim=1 (torch.gather); index may be a broadcast view."""

    def forward(self, x, index, dim):
        self.save(x.shape, x.dtype, index, dim)
        out = backend.get(x.device).empty(index.shape, x.dtype.np)
        backend.kernel(x.device, "gather")(x._data, dim, index._data, out)
        return out

    def backward(self, g):
        shape, dtype, index, dim = self.saved
        return ScatterAddIntoZeros.apply(g, shape=shape, index=index, dim=dim), None


class ScatterAddIntoZeros(Function):
    """Zeros of `shape` with src added at index along dim: Gather's adjoint, without copying a zero base."""

    def forward(self, src, shape, index, dim):
        self.save(index, dim)
        out = backend.get(src.device).zeros(shape, src.dtype.np)
        backend.kernel(src.device, "scatter")(src._data, dim, index._data, out, True)
        return out

    def backward(self, gg):
        index, dim = self.saved
        return Gather.apply(gg, index=index, dim=dim)


class Scatter(Function):
    """base with src written (accumulate=False) or added (True) at index along dim (torch.scatter)."""

    def forward(self, base, src, index, dim, accumulate):
        self.save(index, dim, accumulate, src.shape)
        out = backend.get(base.device).empty(base.shape, base.dtype.np)
        _copy_into(base, out)
        backend.kernel(base.device, "scatter")(src._data, dim, index._data, out, accumulate)
        return out

    def backward(self, g):
        index, dim, accumulate, src_shape = self.saved
        gbase = None
        if self.needs_input_grad[0]:
            if accumulate:
                gbase = g
            else:  # overwritten positions get no gradient
                Tensor = _tensor_cls()
                zeros = Tensor._wrap(backend.get(g.device).zeros(index.shape, g.dtype.np), g.device)
                gbase = Scatter.apply(g, zeros, index=index, dim=dim, accumulate=False)
        gsrc = None
        if self.needs_input_grad[1]:
            gsrc = Gather.apply(g, index=index, dim=dim)
            if gsrc.shape != src_shape:  # src may be larger than the index: the rest gets zero
                from .ops import ScatterSlice

                window = tuple(slice(0, n) for n in index.shape) + (Ellipsis,)
                gsrc = ScatterSlice.apply(gsrc, shape=src_shape, index=window)
        return gbase, gsrc


class Where(Function):
    """cond ? a : b elementwise with broadcasting; cond is a bool tensor."""

    def forward(self, cond, a, b):
        from .ops import broadcast_shape

        shape = broadcast_shape(broadcast_shape(cond.shape, a.shape, "where"), b.shape, "where")
        self.save(cond, a.shape, b.shape)
        out = backend.get(a.device).empty(shape, a.dtype.np)
        backend.kernel(a.device, "where")(cond._data, a._data, b._data, out)
        return out

    def backward(self, g):
        from .ops import sum_to

        cond, ashape, bshape = self.saved
        Tensor = _tensor_cls()
        zero = Tensor._wrap(backend.get(g.device).zeros((), g.dtype.np), g.device)
        ga = sum_to(Where.apply(cond, g, zero), ashape) if self.needs_input_grad[1] else None
        gb = sum_to(Where.apply(cond, zero, g), bshape) if self.needs_input_grad[2] else None
        return None, ga, gb


class Cat(Function):
    """Concatenation along dim: one strided native copy per input into its slice of the output."""

    def forward(self, *tensors, dim):
        be = backend.get(tensors[0].device)
        sizes = [t.shape[dim] for t in tensors]
        shape = list(tensors[0].shape)
        shape[dim] = sum(sizes)
        out = be.empty(tuple(shape), tensors[0].dtype.np)
        start = 0
        for t, n in zip(tensors, sizes):
            if t.numel():
                index = (slice(None),) * dim + (slice(start, start + n), Ellipsis)
                _copy_into(t, be.getitem(out, index))
            start += n
        self.save(sizes, dim)
        return out

    def backward(self, g):
        sizes, dim = self.saved
        grads, start = [], 0
        for i, n in enumerate(sizes):
            needed = self.needs_input_grad[i]
            grads.append(g[(slice(None),) * dim + (slice(start, start + n), Ellipsis)] if needed else None)
            start += n
        return tuple(grads)


# ---------------------------------------------------------------- public functions


def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """Values of x picked along dim by index (same rank as x), as ``torch.gather``.

    Example:
        >>> import gradcore as gc
        >>> gc.gather(gc.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, gc.tensor([[1], [0]])).tolist()
        [[2.0], [3.0]]
    """
    index = _as_index(index, x.device, "gather")
    dim = wrap_dim(dim, x.ndim, "gather")
    if index.ndim != x.ndim:
        raise ValueError(f"gather: index has {index.ndim} dims but the input has {x.ndim}")
    for d in range(x.ndim):
        if d != dim and index.shape[d] > x.shape[d]:
            raise ValueError(f"gather: index shape {index.shape} is larger than input {x.shape} in dim {d}")
    check_index_range(index, x.shape[dim] if x.ndim else 1, "gather")
    return Gather.apply(x, index=index, dim=dim)


def _scatter(x: Tensor, dim: int, index: Any, src: Any, accumulate: bool, op: str) -> Tensor:
    Tensor = _tensor_cls()
    index = _as_index(index, x.device, op)
    dim = wrap_dim(dim, x.ndim, op)
    if not isinstance(src, Tensor):
        src = Tensor._wrap(
            backend.get(x.device).from_numpy(np.full(index.shape, src, x.dtype.np)), x.device
        )
    if src.dtype is not x.dtype:
        raise TypeError(f"{op}: src dtype {src.dtype} differs from the tensor's {x.dtype}")
    if index.ndim != x.ndim or src.ndim != x.ndim:
        raise ValueError(f"{op}: index, src and the tensor must have the same number of dims")
    for d in range(x.ndim):
        if index.shape[d] > src.shape[d] or (d != dim and index.shape[d] > x.shape[d]):
            raise ValueError(f"{op}: index shape {index.shape} is too large for src {src.shape} or {x.shape}")
    check_index_range(index, x.shape[dim] if x.ndim else 1, op)
    return Scatter.apply(x, src, index=index, dim=dim, accumulate=accumulate)


def scatter_add(x: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """A copy of x with src added at index along dim (duplicates add up), as ``torch.scatter_add``.

    Example:
        >>> import gradcore as gc
        >>> gc.zeros(3).scatter_add(0, gc.tensor([0, 0, 2]), gc.ones(3)).tolist()
        [2.0, 0.0, 1.0]
    """
    return _scatter(x, dim, index, src, True, "scatter_add")


def scatter(x: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """A copy of x with src (a tensor or a number) written at index along dim, as ``torch.scatter``."""
    return _scatter(x, dim, index, src, False, "scatter")


def index_select(x: Tensor, dim: int, index: Any) -> Tensor:
    """The entries of x at the 1-d ``index`` along dim, as ``torch.index_select``.

    Example:
        >>> import gradcore as gc
        >>> gc.arange(6).reshape(2, 3).index_select(1, gc.tensor([2, 0])).tolist()
        [[2, 0], [5, 3]]
    """
    index = _as_index(index, x.device, "index_select")
    dim = wrap_dim(dim, x.ndim, "index_select")
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 0-d or 1-d, got shape {index.shape}")
    if x.ndim == 0:  # torch treats a 0-d input as one element
        return index_select(x.reshape(1), 0, index.reshape(-1)).reshape(index.shape)
    check_index_range(index, x.shape[dim], "index_select")
    return _index_select_checked(x, dim, index)


def _index_select_checked(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """index_select for a 1-d int64 index already known to be in range."""
    k = index.numel()
    view = (1,) * dim + (k,) + (1,) * (x.ndim - dim - 1)
    out_shape = x.shape[:dim] + (k,) + x.shape[dim + 1 :]
    return Gather.apply(x, index=index.reshape(view).expand(out_shape), dim=dim)


_NO_ARG: Any = object()


def nonzero(x: Tensor, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """Indices of the non-zero elements: an int64 (count, ndim) tensor, or one index tensor per dim with
    ``as_tuple=True``, as ``torch.nonzero``. The count depends on the values: one device-to-host read.

    Example:
        >>> import gradcore as gc
        >>> gc.nonzero(gc.tensor([0, 3, 0, 5])).tolist()
        [[1], [3]]
    """
    Tensor = _tensor_cls()
    found = np.nonzero(np.atleast_1d(x.detach().numpy()))
    if as_tuple:
        return tuple(Tensor(np.ascontiguousarray(i, dtype=np.int64), device=x.device) for i in found)
    stacked = np.stack(found, axis=1) if x.ndim else np.zeros((len(found[0]), 0), np.int64)
    return Tensor(np.ascontiguousarray(stacked, dtype=np.int64), device=x.device)


def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The elements of x where the bool mask (broadcast with x) is true, as a 1-d tensor (torch)."""
    from .ops import broadcast_shape

    if not isinstance(mask, _tensor_cls()) or mask.dtype is not bool_:
        raise TypeError("masked_select: mask must be a bool tensor")
    shape = broadcast_shape(x.shape, mask.shape, "masked_select")
    return advanced_getitem(x.expand(shape), mask.expand(shape)) if shape else x.reshape(1)[mask.reshape(1)]


def where(condition: Tensor, input: Any = _NO_ARG, other: Any = _NO_ARG) -> Tensor:
    """Elementwise ``input`` where condition is true, else ``other``, broadcast together (torch.where).

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([-1.0, 2.0])
        >>> gc.where(x > 0, x, 0.0).tolist()
        [0.0, 2.0]
    """
    Tensor = _tensor_cls()
    if input is _NO_ARG and other is _NO_ARG:  # where(condition) is nonzero(condition, as_tuple=True)
        return nonzero(condition, as_tuple=True)
    if input is _NO_ARG or other is _NO_ARG:
        raise TypeError("where: give both input and other, or neither")
    if not isinstance(condition, Tensor):
        raise TypeError(f"where: condition must be a bool Tensor, got {type(condition).__name__}")
    if condition.dtype is not bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {condition.dtype}")
    a = input if isinstance(input, Tensor) else None
    b = other if isinstance(other, Tensor) else None
    if a is None and b is None:
        a = condition._coerce(input)
        b = condition._coerce(other)
        if a.dtype is bool_ and b.dtype is not bool_:
            a = a.to(b.dtype)
    elif a is None:
        a = b._coerce(input)
    elif b is None:
        b = a._coerce(other)
    for t in (a, b):
        if t.device != condition.device:
            raise RuntimeError(f"where: tensors on {condition.device} and {t.device}")
    dtype = promote(a.dtype, b.dtype)
    return Where.apply(condition.detach(), a.to(dtype), b.to(dtype))


def masked_fill(x: Tensor, mask: Tensor, value: Any) -> Tensor:
    """x with ``value`` wherever the bool mask (broadcast to x) is true, as ``torch.masked_fill``.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([1.0, 2.0, 3.0])
        >>> x.masked_fill(x > 1.5, 0.0).tolist()
        [1.0, 0.0, 0.0]
    """
    Tensor = _tensor_cls()
    if not isinstance(mask, Tensor) or mask.dtype is not bool_:
        raise TypeError("masked_fill: mask must be a bool tensor")
    if isinstance(value, Tensor):
        if value.ndim:
            raise ValueError(f"masked_fill: value must be a 0-d tensor or a number, got shape {value.shape}")
        value = value.to(x.dtype)
    else:
        value = x._coerce(value).to(x.dtype)
    from .ops import broadcast_shape

    if broadcast_shape(mask.shape, x.shape, "masked_fill") != x.shape:
        raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to {x.shape}")
    return Where.apply(mask.detach(), value, x)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Joins tensors along an existing dim, as ``torch.cat``.

    Example:
        >>> import gradcore as gc
        >>> gc.cat([gc.zeros(1, 2), gc.ones(2, 2)]).shape
        (3, 2)
    """
    Tensor = _tensor_cls()
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    if not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("cat: expected a sequence of Tensors")
    # As in torch, 1-d empty tensors (shape (0,)) are skipped.
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    ref = kept[0]
    if ref.ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated")
    d = wrap_dim(dim, ref.ndim, "cat")
    dtype = ref.dtype
    for t in kept[1:]:
        dtype = promote(dtype, t.dtype)
        if t.device != ref.device:
            raise RuntimeError(f"cat: tensors on {ref.device} and {t.device}")
        if t.ndim != ref.ndim or t.shape[:d] + t.shape[d + 1 :] != ref.shape[:d] + ref.shape[d + 1 :]:
            raise ValueError(f"cat: shapes {ref.shape} and {t.shape} differ outside dim {d}")
    return Cat.apply(*(t.to(dtype) for t in kept), dim=d)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Joins same-shape tensors along a new dim, as ``torch.stack``.

    Example:
        >>> import gradcore as gc
        >>> gc.stack([gc.zeros(2), gc.ones(2)], dim=1).shape
        (2, 2)
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shape = tensors[0].shape
    for t in tensors[1:]:
        if t.shape != shape:
            raise ValueError(f"stack: all tensors must have one shape, got {shape} and {t.shape}")
    d = wrap_dim(dim, len(shape) + 1, "stack")
    return cat([t.unsqueeze(d) for t in tensors], dim=d)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Views of x along dim: pieces of one size (the last may be smaller) or the given sizes."""
    d = wrap_dim(dim, x.ndim, "split")
    if x.ndim == 0:
        raise ValueError("split: cannot split a 0-d tensor")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n):
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size and n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not sum to the dim's length {n}")
    out, start = [], 0
    for s in sizes:
        out.append(x[(slice(None),) * d + (slice(start, start + s), Ellipsis)])
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` views of x along dim, each of ceil(n / chunks) elements, as ``torch.chunk``."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    if x.ndim == 0:
        raise ValueError("chunk: cannot chunk a 0-d tensor")
    d = wrap_dim(dim, x.ndim, "chunk")
    n = x.shape[d]
    return split(x, -(-n // chunks), d) if n else split(x, [0] * chunks, d)  # torch: `chunks` empty views


# ---------------------------------------------------------------- advanced indexing


def check_index_types(parts: tuple) -> None:
    basic = (int, np.integer, slice, type(None), type(Ellipsis))
    bad = [p for p in parts if not isinstance(p, basic) and not is_advanced(p)]
    if bad:
        raise TypeError(
            "indices must be ints, slices, None, ..., int/bool tensors, arrays or lists; got "
            + ", ".join(type(p).__name__ for p in bad)
        )


def is_advanced(part: Any) -> bool:
    """True for index parts that select by value: tensors, arrays, lists and Python/NumPy bools."""
    return isinstance(part, (_tensor_cls(), np.ndarray, list, bool, np.bool_))


def _index_tensor(part: Any, device: str) -> Tensor:
    """An advanced index part as a Tensor of int64 or bool."""
    Tensor = _tensor_cls()
    if isinstance(part, (bool, np.bool_)):
        return Tensor(np.array(bool(part)), device=device)
    if not isinstance(part, Tensor):
        arr = np.asarray(part)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)  # [] is an empty index, as in torch
        if arr.dtype.kind not in "iub":
            raise IndexError(f"tensors used as indices must be long, int or bool, got {arr.dtype}")
        part = Tensor(arr, device=device)
    if part.device != device:
        raise RuntimeError(f"indices on {part.device} but the tensor on {device}")
    if part.dtype.is_floating:
        raise IndexError(f"tensors used as indices must be long, int or bool, got {part.dtype}")
    return part.detach() if part.dtype is bool_ else part.detach().to(int64)


def _mask_to_indices(mask: Tensor) -> list[Tensor]:
    Tensor = _tensor_cls()
    nz = np.nonzero(mask.numpy())  # a mask's result size depends on its values: one host read
    return [Tensor(np.ascontiguousarray(i, dtype=np.int64), device=mask.device) for i in nz]


def _wrap_negative(t: Tensor, n: int, op: str) -> Tensor:
    """Negative indices count from the end; anything outside [-n, n) raises IndexError."""
    if not t.numel():
        return t
    lo, hi = index_bounds(t)
    if lo < -n or hi >= n:
        raise IndexError(f"{op}: index {lo if lo < -n else hi} is out of bounds for a dim of size {n}")
    return t + (t < 0).to(int64) * n if lo < 0 else t


def _linear_index(tensors: list[Tensor], sizes: tuple[int, ...]) -> tuple[Tensor | None, int]:
    """Row-major linear index over several adjacent dims, and the merged dim's length."""
    linear, stride = None, 1
    for t, n in reversed(list(zip(tensors, sizes))):
        term = t * stride if stride != 1 else t
        linear = term if linear is None else linear + term
        stride *= n
    return linear, stride


def _expand_parts(x: Tensor, index: Any) -> tuple[list[Any], list[tuple[int, Tensor]]]:
    """Splits an index into basic parts (a view) and (dim in that view, int64 index tensor) pairs."""
    parts = list(index) if isinstance(index, tuple) else [index]
    if sum(1 for p in parts if p is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis")
    converted = []
    for p in parts:
        if is_advanced(p):
            t = _index_tensor(p, x.device)
            converted.append(t)
        else:
            converted.append(p)
    used = 0
    for p in converted:
        if p is None or p is Ellipsis:
            continue
        used += (p.ndim if p.dtype is bool_ else 1) if hasattr(p, "dtype") else 1
    if used > x.ndim:
        raise IndexError(f"too many indices for a tensor of shape {x.shape}")
    at = next((k for k, p in enumerate(converted) if p is Ellipsis), None)  # `in` would compare tensors
    if at is not None:
        converted[at : at + 1] = [slice(None)] * (x.ndim - used)
    else:
        converted += [slice(None)] * (x.ndim - used)
    basic: list[Any] = []
    groups: list[tuple[int, Tensor]] = []
    dim = xdim = 0
    Tensor = _tensor_cls()
    for p in converted:
        if p is None:
            basic.append(None)
            dim += 1
        elif isinstance(p, slice):
            basic.append(p)
            dim += 1
            xdim += 1
        elif isinstance(p, (int, np.integer)):  # next to arrays an int acts as a 0-d index array
            size = x.shape[xdim]
            if not -size <= p < size:
                raise IndexError(f"index {p} is out of bounds for dim {xdim} of size {size}")
            basic.append(slice(None))
            groups.append((dim, Tensor(np.array(int(p) % size, dtype=np.int64), device=x.device)))
            dim += 1
            xdim += 1
        elif isinstance(p, Tensor) and p.dtype is bool_ and p.ndim == 0:
            basic.append(None)  # x[True] adds a dim of length 1, x[False] one of length 0
            picked = [0] if p.item() else []
            groups.append((dim, Tensor(np.array(picked, dtype=np.int64), device=x.device)))
            dim += 1
        elif isinstance(p, Tensor) and p.dtype is bool_:
            want = x.shape[xdim : xdim + p.ndim]
            if p.shape != want:
                raise IndexError(f"a mask of shape {p.shape} does not match the indexed dims {want}")
            for t in _mask_to_indices(p):
                basic.append(slice(None))
                groups.append((dim, t))
                dim += 1
                xdim += 1
        else:
            basic.append(slice(None))
            groups.append((dim, p))
            dim += 1
            xdim += 1
    return basic, groups


def advanced_getitem(x: Tensor, index: Any) -> Tensor:
    """NumPy/PyTorch advanced indexing: int arrays and bool masks, mixed with basic parts. The basic
    parts make a view; the index arrays become one linear index into their merged dims, read with one
    gather (so backward is one scatter-add)."""
    from .ops import broadcast_shape

    basic, groups = _expand_parts(x, index)
    plain = all(isinstance(b, slice) and b == slice(None) for b in basic) and len(basic) == x.ndim
    y = x if plain else x[tuple(basic)]
    adv_dims = [d for d, _ in groups]
    sizes = tuple(y.shape[d] for d in adv_dims)
    fixed = [_wrap_negative(t, n, "index") for (_, t), n in zip(groups, sizes)]
    bshape: tuple[int, ...] = ()
    for t in fixed:
        bshape = broadcast_shape(bshape, t.shape, "indexing")
    if adv_dims != list(range(adv_dims[0], adv_dims[0] + len(adv_dims))):
        # Index arrays separated by a slice: NumPy puts the broadcast index dims first.
        y = y.permute(adv_dims + [d for d in range(y.ndim) if d not in adv_dims])
        adv_dims = list(range(len(adv_dims)))
    first, k = adv_dims[0], len(adv_dims)
    linear, merged = _linear_index(fixed, sizes)
    lead, tail = y.shape[:first], y.shape[first + k :]
    flat = y.reshape(lead + (merged,) + tail)
    picked = _index_select_checked(flat, first, linear.expand(bshape).reshape(-1))
    return picked.reshape(lead + bshape + tail)


def index_put(x: Tensor, indices: Sequence[Any], values: Any, accumulate: bool = False) -> Tensor:
    """A copy of x with ``values`` put at ``x[indices]`` (a tuple of index tensors for the leading dims;
    bool masks allowed), as the out-of-place ``torch.index_put``; ``accumulate=True`` adds instead.

    Example:
        >>> import gradcore as gc
        >>> gc.zeros(3).index_put((gc.tensor([0, 2]),), gc.tensor(5.0)).tolist()
        [5.0, 0.0, 5.0]
    """
    from .ops import broadcast_shape

    Tensor = _tensor_cls()
    idx: list[Tensor] = []
    for p in indices:
        t = _index_tensor(p, x.device)
        if t.dtype is bool_:
            want = x.shape[len(idx) : len(idx) + t.ndim]
            if t.shape != want:
                raise IndexError(f"index_put: a mask of shape {t.shape} does not match the dims {want}")
            idx.extend(_mask_to_indices(t))
        else:
            idx.append(t)
    if len(idx) > x.ndim:
        raise IndexError(f"index_put: too many indices for a tensor of shape {x.shape}")
    if not isinstance(values, Tensor):
        values = x._coerce(values)
    values = values.to(x.dtype)
    sizes = x.shape[: len(idx)]
    fixed = [_wrap_negative(t, n, "index_put") for t, n in zip(idx, sizes)]
    bshape: tuple[int, ...] = ()
    for t in fixed:
        bshape = broadcast_shape(bshape, t.shape, "index_put")
    linear, stride = _linear_index(fixed, sizes)
    tail = x.shape[len(idx) :]
    target = bshape + tail
    if broadcast_shape(values.shape, target, "index_put") != target:
        raise ValueError(f"index_put: values of shape {values.shape} do not broadcast to {target}")
    m = int(np.prod(bshape, dtype=np.int64))
    flat = x.reshape((stride,) + tail)
    src = values.expand(target).reshape((m,) + tail)
    view = (m,) + (1,) * len(tail)
    if linear is None:
        raise IndexError("index_put: expected at least one index")
    if m == 0:
        return x.clone()
    index = linear.expand(bshape).reshape(view).expand((m,) + tail)
    out = Scatter.apply(flat, src, index=index, dim=0, accumulate=accumulate)
    return out.reshape(x.shape)


def setitem_result(x: Tensor, index: Any, value: Any) -> Tensor:
    """The value ``x[index] = value`` leaves in x, out of place, for any advanced index: the flat
    positions the index selects (advanced indexing of an arange) receive value, broadcast."""
    from .creation import arange

    Tensor = _tensor_cls()
    positions = advanced_getitem(arange(x.numel(), device=x.device).reshape(x.shape), index)
    if not isinstance(value, Tensor):
        value = x._coerce(value)
    from .ops import broadcast_shape

    if broadcast_shape(value.shape, positions.shape, "setitem") != positions.shape:
        raise ValueError(f"setitem: value of shape {value.shape} does not broadcast to {positions.shape}")
    values = value.to(x.dtype).expand(positions.shape).reshape(-1)
    return index_put(x.reshape(-1), (positions.reshape(-1),), values).reshape(x.shape)
