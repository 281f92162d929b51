"""torch's shape and small linear-algebra helpers, composed from the primitives (views, gather/scatter,
where, matmul, sum): tril/triu, diag/diagonal (a strided view), trace, outer, dot, cross, kron, einsum,
tensordot, movedim, narrow, unbind, tensor_split, hstack/vstack/dstack, broadcast_to, meshgrid,
cartesian_prod, block_diag, rot90, diff, tril_indices, stride/storage_offset/as_strided."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from .autograd import Function
from .dtypes import promote
from .ops_index import wrap_dim, wrap_dims

if TYPE_CHECKING:
    from .tensor import Tensor


def _T() -> Any:
    from .tensor import Tensor

    return Tensor


def _check(x: Any, what: str) -> Tensor:
    if not isinstance(x, _T()):
        raise TypeError(f"{what}(): argument 'input' must be a Tensor, got {type(x).__name__}")
    return x


def _arange(n: int, like: Tensor) -> Tensor:
    from .creation import arange

    return arange(n, device=like.device)


# ---------------------------------------------------------------- strides
def strides_of(x: Tensor) -> tuple[int, ...]:
    """x's strides in elements (torch's Tensor.stride())."""
    data = x._data
    if isinstance(data, np.ndarray):
        return tuple(s // data.itemsize for s in data.strides)
    return tuple(int(s) for s in data.strides)


def storage_offset(x: Tensor) -> int:
    """The offset of x's first element in its storage, in elements."""
    data = x._data
    if isinstance(data, np.ndarray):
        root, node = data, data
        while getattr(node, "base", None) is not None:  # as_strided views hang off a non-ndarray holder
            node = node.base
            if isinstance(node, np.ndarray):
                root = node
        return (data.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // data.itemsize
    return int(data.offset)


def data_ptr(x: Tensor) -> int:
    """The address of x's first element."""
    data = x._data
    if isinstance(data, np.ndarray):
        return int(data.__array_interface__["data"][0])
    ptr = data.data_ptr
    return int(ptr() if callable(ptr) else ptr)


def _as_strided_data(data: Any, shape: tuple[int, ...], strides: tuple[int, ...], extra_offset: int) -> Any:
    """A view of contiguous storage with element strides, extra_offset elements past its first element."""
    if isinstance(data, np.ndarray):
        size = data.itemsize
        base = data.reshape(-1)[extra_offset:]
        return np.lib.stride_tricks.as_strided(base, shape, tuple(s * size for s in strides),
                                               writeable=data.flags.writeable)
    return data.as_strided(list(shape), list(strides), data.offset + extra_offset)


def _diag_geometry(shape: tuple[int, ...], strides: tuple[int, ...], offset: int, d1: int, d2: int):
    n1, n2 = shape[d1], shape[d2]
    if offset >= 0:
        length = max(min(n1, n2 - offset), 0)
        start = offset * strides[d2] if length else 0
    else:
        length = max(min(n1 + offset, n2), 0)
        start = -offset * strides[d1] if length else 0
    keep = [i for i in range(len(shape)) if i not in (d1, d2)]
    out_shape = tuple(shape[i] for i in keep) + (length,)
    out_strides = tuple(strides[i] for i in keep) + (strides[d1] + strides[d2],)
    return out_shape, out_strides, start


def _diagonal_data(data: Any, shape: tuple[int, ...], strides: tuple[int, ...], offset: int, d1: int,
                   d2: int) -> Any:
    if isinstance(data, np.ndarray) and not data.flags.c_contiguous:
        v = np.diagonal(data, offset, d1, d2)  # a read-only view with exact byte strides: made writable
        return np.lib.stride_tricks.as_strided(v, v.shape, v.strides, writeable=data.flags.writeable)
    out_shape, out_strides, start = _diag_geometry(shape, strides, offset, d1, d2)
    return _as_strided_data(data, out_shape, out_strides, start)


class Diagonal(Function):
    """The diagonal of dims (d1, d2) at `offset` as a strided view (last dim), as torch.diagonal."""

    view = True

    def forward(self, x, offset, d1, d2):
        self.save(x.shape, offset, d1, d2)
        return _diagonal_data(x._data, x.shape, strides_of(x), offset, d1, d2)

    def backward(self, g):
        shape, offset, d1, d2 = self.saved
        return DiagonalScatter.apply(g, shape=shape, offset=offset, d1=d1, d2=d2)


class DiagonalScatter(Function):
    """Zeros of `shape` with g written into the diagonal: Diagonal's adjoint."""

    def forward(self, g, shape, offset, d1, d2):
        self.save(offset, d1, d2)
        out = backend.get(g.device).zeros(shape, g.dtype.np)
        strides = strides_of(_T()._wrap(out, g.device))
        backend.kernel(g.device, "unary_copy")(g._data, _diagonal_data(out, shape, strides, offset, d1, d2))
        return out

    def backward(self, gg):
        offset, d1, d2 = self.saved
        return diagonal(gg, offset, d1, d2)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of dims (dim1, dim2) as a view, appended as the last dim, as torch.diagonal.

    Example:
        >>> import gradcore as gc
        >>> gc.diagonal(gc.arange(9).reshape(3, 3), 1).tolist()
        [1, 5]
    """
    x = _check(input, "diagonal")
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dims, got {x.ndim}")
    d1, d2 = wrap_dims((dim1, dim2), x.ndim, "diagonal", duplicate=ValueError)
    return Diagonal.apply(x, offset=int(offset), d1=d1, d2=d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d input becomes a square matrix with it on the given diagonal; a 2-d input gives its diagonal.

    Example:
        >>> import gradcore as gc
        >>> gc.diag(gc.tensor([1, 2])).tolist()
        [[1, 0], [0, 2]]
    """
    x = _check(input, "diag")
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal).clone()
    if x.ndim != 1:
        raise ValueError(f"diag: expected a 1-d or 2-d tensor, got {x.ndim} dims")
    n = x.shape[0]
    m = n + abs(diagonal)
    start = diagonal if diagonal >= 0 else -diagonal * m
    idx = _arange(n, x) * (m + 1) + start
    return x.new_zeros((m * m,)).scatter(0, idx, x).reshape(m, m)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Each last-dim vector of input placed on the `offset` diagonal of the 2-d planes (dim1, dim2) of the
    result (which has one dim more than input; other dims keep their order), as torch.diag_embed.

    Example:
        >>> import gradcore as gc
        >>> gc.diag_embed(gc.tensor([[1, 2]]), 0, 0, 2).shape
        (2, 1, 2)
    """
    x = _check(input, "diag_embed")
    nd = x.ndim + 1
    d1, d2 = wrap_dim(dim1, nd, "diag_embed"), wrap_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = int(offset)
    n = x.shape[-1]
    m = n + abs(offset)
    start = offset if offset >= 0 else -offset * m
    idx = (_arange(n, x) * (m + 1) + start).expand(*x.shape)
    flat = x.new_zeros(x.shape[:-1] + (m * m,)).scatter(-1, idx, x)
    out = flat.reshape(*x.shape[:-1], m, m)  # the planes in the last two dims: row = dim1, column = dim2
    return out if (d1, d2) == (nd - 2, nd - 1) else movedim(out, (nd - 2, nd - 1), (d1, d2))


def _tri_mask(x: Tensor, diagonal: int, lower: bool) -> Tensor:
    r = _arange(x.shape[-2], x).unsqueeze(-1)
    c = _arange(x.shape[-1], x).unsqueeze(0)
    return (c - r <= diagonal) if lower else (c - r >= diagonal)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (j - i <= diagonal) of the last two dims, zeros elsewhere, as torch.tril.

    Example:
        >>> import gradcore as gc
        >>> gc.tril(gc.ones(2, 2)).tolist()
        [[1.0, 0.0], [1.0, 1.0]]
    """
    from .ops_index import where

    x = _check(input, "tril")
    if x.ndim < 2:
        raise ValueError(f"tril: input tensor must have at least 2 dimensions, got {x.ndim}")
    return where(_tri_mask(x, diagonal, True), x, x.new_zeros(()))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (j - i >= diagonal) of the last two dims, zeros elsewhere, as torch.triu."""
    from .ops_index import where

    x = _check(input, "triu")
    if x.ndim < 2:
        raise ValueError(f"triu: input tensor must have at least 2 dimensions, got {x.ndim}")
    return where(_tri_mask(x, diagonal, False), x, x.new_zeros(()))


def _tri_indices(row: int, col: int, offset: int, lower: bool, device: str) -> Tensor:
    r, c = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    return _T()(np.stack([r, c]).astype(np.int64).reshape(2, -1), device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: str = "cpu") -> Tensor:
    """The (2, N) coordinates of the lower triangle of a row x col matrix, as torch.tril_indices."""
    out = _tri_indices(row, col, offset, True, device)
    return out if dtype is None else out.to(dtype)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: str = "cpu") -> Tensor:
    """The (2, N) coordinates of the upper triangle of a row x col matrix, as torch.triu_indices."""
    out = _tri_indices(row, col, offset, False, device)
    return out if dtype is None else out.to(dtype)


# ---------------------------------------------------------------- products
def _same_dtype(a: Tensor, b: Tensor, what: str) -> None:
    if a.dtype is not b.dtype:
        raise TypeError(f"{what}: expected both tensors to have the same dtype, got {a.dtype} and {b.dtype}")


def trace(input: Tensor) -> Tensor:
    """The sum of a matrix's main diagonal, as torch.trace."""
    x = _check(input, "trace")
    if x.ndim != 2:
        raise ValueError(f"trace: expected a matrix, got {x.ndim} dims")
    return diagonal(x).sum()


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """input[i] * vec2[j], as torch.outer."""
    a, b = _check(input, "outer"), _check(vec2, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: expected 1-d tensors, got {a.ndim}-d and {b.ndim}-d")
    return a.unsqueeze(1) * b.unsqueeze(0)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """The inner product of two 1-d tensors of the same dtype, as torch.dot."""
    a, b = _check(input, "dot"), _check(other, "dot")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape != b.shape:
        raise ValueError(f"dot: inconsistent tensor size, {a.shape[0]} and {b.shape[0]} elements")
    _same_dtype(a, b, "dot")
    return (a * b).sum()


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dims of both, as torch.inner."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, dims=([-1], [-1]))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The 3-vector cross product along dim (the first size-3 dim when None, as torch.cross)."""
    a, b = _check(input, "cross"), _check(other, "cross")
    from .ops import broadcast_shape

    shape = broadcast_shape(a.shape, b.shape, "cross")
    a, b = a.expand(*shape), b.expand(*shape)
    if dim is None:
        cands = [i for i, n in enumerate(shape) if n == 3]
        if not cands:
            raise ValueError(f"cross: no dimension of size 3 in input shape {shape}")
        d = cands[0]
    else:
        d = wrap_dim(dim, len(shape), "cross")
        if shape[d] != 3:
            raise ValueError(f"cross: inputs dimension {dim} must have length 3, got {shape[d]}")
    a0, a1, a2 = a.unbind(d)
    b0, b1, b2 = b.unbind(d)
    from .ops_index import stack

    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim=d)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product, as torch.kron."""
    a, b = _check(input, "kron"), _check(other, "kron")
    n = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (n - a.ndim) + a.shape)
    b = b.reshape((1,) * (n - b.ndim) + b.shape)
    # a[i] * b[j] interleaved: (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...) -> reshape (a0*b0, a1*b1, ...)
    ea = a.reshape(tuple(x for s in a.shape for x in (s, 1)))
    eb = b.reshape(tuple(x for s in b.shape for x in (1, s)))
    return (ea * eb).reshape(tuple(p * q for p, q in zip(a.shape, b.shape)))


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract dims of a with dims of b (an int n: the last n of a with the first n of b), as
    torch.tensordot."""
    a, b = _check(a, "tensordot"), _check(b, "tensordot")
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise ValueError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, (int, np.integer)) else list(da)
        db = [db] if isinstance(db, (int, np.integer)) else list(db)
    if len(da) != len(db):
        raise ValueError(f"tensordot: both dim lists should have the same length, got {da} and {db}")
    da = list(wrap_dims(da, a.ndim, "tensordot"))
    db = list(wrap_dims(db, b.ndim, "tensordot"))
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: contracted dimensions need to match, but first has size "
                             f"{a.shape[i]} in "
                             f"dim {i} and second has size {b.shape[j]} in dim {j}")
    _same_dtype(a, b, "tensordot")
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [j for j in range(b.ndim) if j not in db]
    k = math.prod(a.shape[i] for i in da)
    am = a.permute(*(fa + da)).reshape(math.prod(a.shape[i] for i in fa), k)
    bm = b.permute(*(db + fb)).reshape(k, math.prod(b.shape[j] for j in fb))
    return (am @ bm).reshape(tuple(a.shape[i] for i in fa) + tuple(b.shape[j] for j in fb))


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, as torch.einsum: '...' broadcasting, repeated indices within an operand (traces
    and diagonals), implicit output (sorted indices that appear once) or explicit '->'. Composed from
    diagonal, permute, broadcasting multiply and sum (pairwise products reduced as soon as possible).

    Example:
        >>> import gradcore as gc
        >>> gc.einsum("ij,jk->ik", gc.ones(2, 3), gc.ones(3, 4)).shape
        (2, 4)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops_ = [_check(o, "einsum") for o in operands]
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ops_):
        raise ValueError(f"einsum(): {len(terms)} operand subscripts for {len(ops_)} operands")
    # '...' becomes one upper-case letter per broadcast dim (right-aligned across operands).
    nell = 0
    for t, o in zip(terms, ops_):
        if "..." in t:
            nell = max(nell, o.ndim - (len(t) - 3))
    ell = "".join(chr(ord("A") + i) for i in range(nell))
    parsed = []
    for t, o in zip(terms, ops_):
        if "..." in t:
            k = o.ndim - (len(t) - 3)
            t = t.replace("...", ell[nell - k:])
        if not all(c.isalpha() for c in t):
            raise ValueError(f"einsum(): invalid subscript in {equation!r}")
        if len(t) != o.ndim:
            raise ValueError(f"einsum(): the subscript {t!r} does not match an operand with {o.ndim} dims")
        parsed.append(t)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts: dict[str, int] = {}
        for t in parsed:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ell))
    # Repeated letters inside one operand: take the diagonal (torch's trace semantics).
    tensors, subs = [], []
    for t, o in zip(parsed, ops_):
        while len(set(t)) != len(t):
            c = next(ch for ch in t if t.count(ch) > 1)
            i = t.index(c)
            j = t.index(c, i + 1)
            o = diagonal(o, 0, i, j)
            t = t[:i] + t[i + 1:j] + t[j + 1:] + c
        tensors.append(o)
        subs.append(t)
    letters = sorted(set("".join(subs)) | set(out))
    for c in out:
        if not any(c in s for s in subs):
            raise ValueError(f"einsum(): output subscript {c} does not appear in the input")
    # Align each operand to the full letter list (size-1 dims where absent), then multiply and reduce.
    sizes: dict[str, int] = {}
    for s, o in zip(subs, tensors):
        for c, n in zip(s, o.shape):
            if sizes.get(c, 1) != 1 and n != 1 and sizes[c] != n:
                raise ValueError(f"einsum(): operands do not broadcast for subscript {c}: {sizes[c]} vs {n}")
            sizes[c] = max(sizes.get(c, 1), n) if n != 1 else sizes.get(c, 1)
    aligned = []
    for s, o in zip(subs, tensors):
        present = [c for c in letters if c in s]
        o = o.permute(*[s.index(c) for c in present]) if o.ndim else o
        shape = tuple(o.shape[present.index(c)] if c in s else 1 for c in letters)
        aligned.append(o.reshape(shape))
    acc = aligned[0]
    for nxt in aligned[1:]:
        if acc.dtype is not nxt.dtype:
            dt = promote(acc.dtype, nxt.dtype)
            acc, nxt = acc.to(dt), nxt.to(dt)
        acc = acc * nxt
    reduce = tuple(i for i, c in enumerate(letters) if c not in out)
    if reduce:
        acc = acc.sum(dim=reduce)
    kept = [c for c in letters if c in out]
    res = acc.permute(*[kept.index(c) for c in out]) if len(out) > 1 else acc
    return res.expand(*[sizes.get(c, 1) for c in out]) if out else res


# ---------------------------------------------------------------- dims, splits, stacks
def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """Dims at source moved to destination (others keep their order), as torch.movedim."""
    x = _check(input, "movedim")
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: Invalid source or destination dims: source ({src}) and "
                         f"destination ({dst}) "
                         "must have the same number of elements")
    src = list(wrap_dims(src, x.ndim, "movedim"))
    dst = list(wrap_dims(dst, x.ndim, "movedim"))
    order = [-1] * x.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(x.ndim) if i not in src)
    order = [o if o != -1 else next(rest) for o in order]
    return x.permute(*order) if x.ndim else x


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view input[..., start:start + length, ...] along dim, as torch.narrow."""
    x = _check(input, "narrow")
    d = wrap_dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    if isinstance(start, _T()):
        start = int(start.item())
    if not -n <= start <= n:
        raise IndexError(f"narrow: start ({start}) out of range for a dim of size {n}")
    start = start % n if n and start < 0 else start
    if length < 0 or start + length > n:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})")
    return x[(slice(None),) * d + (slice(start, start + length),)]


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along dim, that dim removed, as torch.unbind."""
    x = _check(input, "unbind")
    d = wrap_dim(dim, x.ndim, "unbind")
    return tuple(x[(slice(None),) * d + (i,)] for i in range(x.shape[d]))


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into n nearly equal parts (an int) or at the given indices, as torch.tensor_split."""
    x = _check(input, "tensor_split")
    d = wrap_dim(dim, x.ndim, "tensor_split")
    n = x.shape[d]
    ios = indices_or_sections
    if isinstance(ios, _T()):
        ios = ios.tolist()
    if isinstance(ios, (int, np.integer)):
        if ios <= 0:
            raise ValueError(f"tensor_split: number of sections must be larger than 0, got {ios}")
        q, r = divmod(n, int(ios))
        bounds, pos = [], 0
        for i in range(int(ios) - 1):
            pos += q + (1 if i < r else 0)
            bounds.append(pos)
    else:
        bounds = [int(i) for i in ios]
    edges = [0] + bounds + [n]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        lo_c, hi_c = min(max(lo if lo >= 0 else lo + n, 0), n), min(max(hi if hi >= 0 else hi + n, 0), n)
        out.append(x[(slice(None),) * d + (slice(lo_c, max(hi_c, lo_c)),)])
    return tuple(out)


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Split into pieces of the given sizes (which must add up to the dim's size)."""
    x = _check(input, "split_with_sizes")
    d = wrap_dim(dim, x.ndim, "split_with_sizes")
    if sum(split_sizes) != x.shape[d]:
        raise ValueError(f"split_with_sizes expects split_sizes to sum exactly to {x.shape[d]} "
                         "(input tensor's "
                         f"size at dimension {d}), but got split_sizes={list(split_sizes)}")
    return x.split(list(split_sizes), d)


def _split_dim(x: Tensor, ios: Any, dim: int, what: str) -> tuple[Tensor, ...]:
    if isinstance(ios, (int, np.integer)) and x.shape[dim] % ios:
        raise ValueError(f"{what}: the dim of size {x.shape[dim]} is not divisible by {ios}")
    return tensor_split(x, ios, dim)


def hsplit(input: Tensor, indices_or_sections: Any) -> tuple[Tensor, ...]:
    """tensor_split along dim 1 (dim 0 for 1-d), sections must divide evenly, as torch.hsplit."""
    x = _check(input, "hsplit")
    return _split_dim(x, indices_or_sections, 1 if x.ndim > 1 else 0, "hsplit")


def vsplit(input: Tensor, indices_or_sections: Any) -> tuple[Tensor, ...]:
    """tensor_split along dim 0 of a tensor with at least 2 dims, as torch.vsplit."""
    x = _check(input, "vsplit")
    if x.ndim < 2:
        raise ValueError(f"vsplit: requires a tensor with at least 2 dimensions, got {x.ndim}")
    return _split_dim(x, indices_or_sections, 0, "vsplit")


def dsplit(input: Tensor, indices_or_sections: Any) -> tuple[Tensor, ...]:
    """tensor_split along dim 2 of a tensor with at least 3 dims."""
    x = _check(input, "dsplit")
    if x.ndim < 3:
        raise ValueError(f"dsplit: requires a tensor with at least 3 dimensions, got {x.ndim}")
    return _split_dim(x, indices_or_sections, 2, "dsplit")


def atleast_1d(x: Tensor) -> Tensor:
    return x.reshape(1) if x.ndim == 0 else x


def atleast_2d(x: Tensor) -> Tensor:
    return x.reshape(1, -1) if x.ndim < 2 else x


def atleast_3d(x: Tensor) -> Tensor:
    if x.ndim == 0:
        return x.reshape(1, 1, 1)
    if x.ndim == 1:
        return x.reshape(1, -1, 1)
    if x.ndim == 2:
        return x.unsqueeze(-1)
    return x


def _tensors(tensors: Sequence[Tensor], what: str) -> list[Tensor]:
    ts = [_check(t, what) for t in tensors]
    if not ts:
        raise ValueError(f"{what} expects a non-empty TensorList")
    return ts


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-d tensors), as torch.hstack."""
    from .ops_index import cat

    ts = [atleast_1d(t) for t in _tensors(tensors, "hstack")]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate rows (1-d tensors become rows), as torch.vstack."""
    from .ops_index import cat

    return cat([atleast_2d(t) for t in _tensors(tensors, "vstack")], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 2 (after atleast_3d), as torch.dstack."""
    from .ops_index import cat

    return cat([atleast_3d(t) for t in _tensors(tensors, "dstack")], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """1-d and 0-d tensors become columns, then hstack, as torch.column_stack."""
    from .ops_index import cat

    ts = _tensors(tensors, "column_stack")
    return cat([t.reshape(-1, 1) if t.ndim <= 1 else t for t in ts], 1)


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    """input expanded (a view) to size, as torch.broadcast_to."""
    return _check(input, "broadcast_to").expand(*size)


def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape all the given shapes broadcast to, as torch.broadcast_shapes."""
    from .ops import broadcast_shape

    out: tuple[int, ...] = ()
    for s in shapes:
        s = (s,) if isinstance(s, (int, np.integer)) else tuple(s)
        out = broadcast_shape(out, s, "broadcast_shapes")
    return out


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to their common shape, as torch.broadcast_tensors."""
    ts = [_check(t, "broadcast_tensors") for t in tensors]
    shape = broadcast_shapes(*[t.shape for t in ts])
    return tuple(t.expand(*shape) for t in ts)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-d tensors ('ij': matrix indexing, 'xy': Cartesian), as torch.meshgrid."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = [_check(t, "meshgrid") for t in tensors]
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in ts:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-d or 1-d tensors, got {t.ndim} dims")
    ts = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    n = len(ts)
    out = [t.reshape(tuple(-1 if i == k else 1 for i in range(n))).expand(*shape) for k, t in enumerate(ts)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of the 1-d tensors' elements as rows, as torch.cartesian_prod."""
    from .ops_index import stack

    ts = [_check(t, "cartesian_prod") for t in tensors]
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([g.reshape(-1) for g in grids], dim=1)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-d or 2-d) on the diagonal of a block matrix, as torch.block_diag."""
    from .ops_index import cat

    ts = []
    for t in tensors:
        t = _check(t, "block_diag")
        if t.ndim > 2:
            raise ValueError(f"block_diag: Input tensors must have 2 or fewer dimensions, got {t.ndim}")
        ts.append(t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1 else t)
    if not ts:
        return _T()(np.zeros((1, 0), dtype=np.float32))
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = promote(dtype, t.dtype)
    cols = sum(t.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        t = t.to(dtype)
        r = t.shape[0]
        parts = [t.new_zeros((r, left)), t, t.new_zeros((r, cols - left - t.shape[1]))]
        rows.append(cat(parts, 1))
        left += t.shape[1]
    return cat(rows, 0)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees k times in the plane of dims (from the first towards the second), as
    torch.rot90."""
    x = _check(input, "rot90")
    if len(dims) != 2:
        raise ValueError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise ValueError(f"rot90: expected total dims >= 2, but got total dims = {x.ndim}")
    d0, d1 = wrap_dims(dims, x.ndim, "rot90")
    k %= 4
    if k == 1:
        return x.flip(d1).transpose(d0, d1)
    if k == 2:
        return x.flip(d0, d1)
    if k == 3:
        return x.flip(d0).transpose(d0, d1)
    return x.clone()


def fliplr(input: Tensor) -> Tensor:
    """Reverse dim 1, as torch.fliplr."""
    x = _check(input, "fliplr")
    if x.ndim < 2:
        raise ValueError("fliplr: Input must be >= 2-d.")
    return x.flip(1)


def flipud(input: Tensor) -> Tensor:
    """Reverse dim 0, as torch.flipud."""
    x = _check(input, "flipud")
    if x.ndim < 1:
        raise ValueError("flipud: Input must be >= 1-d.")
    return x.flip(0)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The n-th forward difference along dim (bool: xor), as torch.diff."""
    from .ops_index import cat

    x = _check(input, "diff")
    if x.ndim == 0:
        raise ValueError("diff expects input to be at least one-dimensional")
    d = wrap_dim(dim, x.ndim, "diff")
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, x, append) if p is not None]
        parts = [p if p.ndim else p.expand(*(x.shape[:d] + (1,) + x.shape[d + 1:])) for p in parts]
        x = cat(parts, d)
    for _ in range(n):
        m = x.shape[d]
        hi = narrow(x, d, 1, max(m - 1, 0)) if m else x
        lo = narrow(x, d, 0, max(m - 1, 0)) if m else x
        x = (hi ^ lo) if x.dtype.name == "bool" else hi - lo
    return x


def is_tensor(obj: Any) -> bool:
    """True for a gradcore Tensor, as torch.is_tensor."""
    return isinstance(obj, _T())


def numel(input: Tensor) -> int:
    """The number of elements, as torch.numel."""
    return _check(input, "numel").numel()


def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: int | None = None) -> Tensor:
    """A view of input's storage with the given sizes, element strides and storage offset, as
    torch.as_strided (differentiable; see strided_view.py).

    Example:
        >>> import gradcore as gc
        >>> gc.as_strided(gc.arange(4.0), (3, 2), (1, 1)).tolist()
        [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
    """
    from .strided_view import as_strided as _as_strided

    return _as_strided(input, size, stride, storage_offset)
