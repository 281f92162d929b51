"""Ordering and scans: sort, argsort, topk, kthvalue, median, mode, cumprod, count_nonzero, var_mean,
std_mean, unique, searchsorted, bucketize, bincount, as torch.

sort/topk run the native `sort_lastdim` kernel (sort.h: NaN above every number, ties in index order) on
the dim moved last; their values are differentiable through a gather of the input at the indices, so the
gradient (and double backward) is gather's.
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend, ops
from .autograd import Function, is_grad_enabled
from .dtypes import HALF_TYPES, bool_, float32, int64
from .ops_index import wrap_dim

if TYPE_CHECKING:
    from .tensor import Tensor

SortResult = namedtuple("SortResult", ["values", "indices"])
TopkResult = namedtuple("TopkResult", ["values", "indices"])
# searchsorted compares every value with every boundary on the device up to this many pairs.
_BROADCAST_LIMIT = 1 << 24
KthvalueResult = namedtuple("KthvalueResult", ["values", "indices"])
MedianResult = namedtuple("MedianResult", ["values", "indices"])
ModeResult = namedtuple("ModeResult", ["values", "indices"])


def _T() -> Any:
    from .tensor import Tensor

    return Tensor


def _check(x: Any, what: str) -> Tensor:
    if not isinstance(x, _T()):
        raise TypeError(f"{what}(): argument 'input' must be a Tensor, got {type(x).__name__}")
    return x


def _sorted_along(x: Tensor, dim: int, k: int, descending: bool) -> tuple[Tensor, Tensor]:
    """(values, indices) of the first k of x sorted along dim (dim already wrapped, x.ndim >= 1)."""
    T = _T()
    xd = x.detach()
    if xd.dtype in HALF_TYPES:  # half values sort exactly as their float32 twins
        v, i = _sorted_along(xd.to(float32), dim, k, descending)
        return v.to(xd.dtype), i
    data = ops._dim_to_last(xd, dim)
    shape = ops._moved_shape(x.shape, dim)[:-1] + (k,)
    be = backend.get(x.device)
    values = be.empty(shape, xd.dtype.np)
    indices = be.empty(shape, np.dtype(np.int64))
    backend.kernel(x.device, "sort_lastdim")(data, values, indices, bool(descending))
    values = T._wrap(ops._last_to_dim(values, x.device, x.ndim, dim), x.device)
    indices = T._wrap(ops._last_to_dim(indices, x.device, x.ndim, dim), x.device)
    if x.requires_grad and is_grad_enabled():
        values = x.gather(dim, indices)  # the differentiable twin: gather's backward scatters the gradient
    return values, indices


def _dim_of(x: Tensor, dim: int, what: str) -> int:
    return wrap_dim(dim, x.ndim, what)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
    """(values, indices) of input sorted along dim; NaN sorts last (first when descending), ties keep
    their order (the sort is always stable), as torch.sort.

    Example:
        >>> import gradcore as gc
        >>> v, i = gc.sort(gc.tensor([3.0, 1.0, 2.0]))
        >>> v.tolist(), i.tolist()
        ([1.0, 2.0, 3.0], [1, 2, 0])
    """
    x = _check(input, "sort")
    d = _dim_of(x, dim, "sort")
    if x.ndim == 0:
        v, i = _sorted_along(x.reshape(1), 0, 1, descending)
        return SortResult(v.reshape(()), i.reshape(()))
    return SortResult(*_sorted_along(x, d, x.shape[d], descending))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort input along dim (sort's indices), as torch.argsort."""
    return sort(input, dim, descending, stable).indices


def msort(input: Tensor) -> Tensor:
    """input sorted along dim 0, as torch.msort."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> TopkResult:
    """The k largest (or smallest) elements along dim and their indices, in sorted order, as torch.topk.

    Example:
        >>> import gradcore as gc
        >>> gc.topk(gc.tensor([1.0, 5.0, 3.0]), 2).values.tolist()
        [5.0, 3.0]
    """
    x = _check(input, "topk")
    d = _dim_of(x, dim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__}")
    if not 0 <= k <= n:
        raise IndexError(f"topk: selected index k ({k}) out of range (the dim has {n} elements)")
    if x.ndim == 0:
        v, i = _sorted_along(x.reshape(1), 0, int(k), largest)
        return TopkResult(v.reshape(()), i.reshape(())) if k else TopkResult(v, i)
    return TopkResult(*_sorted_along(x, d, int(k), largest))


def _select(values: Tensor, indices: Tensor, pos: Tensor, d: int, keepdim: bool) -> tuple[Tensor, Tensor]:
    v = values.gather(d, pos)
    i = indices.gather(d, pos)
    return (v, i) if keepdim else (v.squeeze(d), i.squeeze(d))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> KthvalueResult:
    """The k-th smallest element (k counts from 1) along dim and its index, as torch.kthvalue."""
    x = _check(input, "kthvalue")
    d = _dim_of(x, dim, "kthvalue")
    if x.ndim == 0:
        r = kthvalue(x.reshape(1), k, 0, False)
        return KthvalueResult(r.values.reshape(()), r.indices.reshape(()))
    n = x.shape[d]
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue(): selected number k ({k}) out of range for a dim of size {n}")
    values, indices = _sorted_along(x, d, int(k), False)
    v = values.narrow(d, k - 1, 1)
    i = indices.narrow(d, k - 1, 1)
    return KthvalueResult(v, i) if keepdim else KthvalueResult(v.squeeze(d), i.squeeze(d))


def _median(x: Tensor, d: int, keepdim: bool, ignore_nan: bool) -> tuple[Tensor, Tensor]:
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    values, indices = _sorted_along(x, d, n, False)
    xd = x.detach()
    nans = (xd != xd).sum(dim=d, keepdim=True) if xd.dtype.is_floating else None
    half = (n - 1) // 2
    if nans is None:
        pos = xd.new_full(_kept(x.shape, d), half, dtype=int64)
    elif ignore_nan:  # the lower median of the non-NaN values (NaN when all are NaN)
        valid = n - nans
        pos = (valid - 1).clamp(min=0) // 2
    else:  # a NaN anywhere makes the median that (first) NaN, as torch
        pos = (nans > 0).to(int64) * (n - nans) + (nans == 0).to(int64) * half
    return _select(values, indices, pos, d, keepdim)


def _kept(shape: tuple[int, ...], d: int) -> tuple[int, ...]:
    return tuple(1 if i == d else s for i, s in enumerate(shape))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median: of all elements (0-d) when dim is None, else (values, indices) along dim; NaN
    propagates, as torch.median.

    Example:
        >>> import gradcore as gc
        >>> gc.median(gc.tensor([3.0, 1.0, 4.0, 2.0])).item()
        2.0
    """
    return _median_api(input, dim, keepdim, False, "median")


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """median ignoring NaN (NaN only where every element is), as torch.nanmedian."""
    return _median_api(input, dim, keepdim, True, "nanmedian")


def _median_api(input: Tensor, dim: int | None, keepdim: bool, ignore_nan: bool, what: str) -> Any:
    x = _check(input, what)
    if dim is None:
        if x.numel() == 0:
            return x.new_full((), float("nan"))
        v, _ = _median(x.reshape(-1), 0, False, ignore_nan)
        return v
    d = _dim_of(x, dim, what)
    if x.ndim == 0:
        return MedianResult(x.clone(), x.new_zeros((), dtype=int64))
    return MedianResult(*_median(x, d, keepdim, ignore_nan))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> ModeResult:
    """The most frequent value along dim (the smallest of equally frequent ones) and the index of its last
    occurrence, as torch.mode."""
    x = _check(input, "mode")
    if x.ndim == 0:
        return ModeResult(x.detach().clone(), x.new_zeros((), dtype=int64))
    d = _dim_of(x, dim, "mode")
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    s, _ = _sorted_along(x.detach().movedim(d, -1), x.ndim - 1, n, False)
    # Runs of equal values in the sorted rows: a run starts where the value changes; each element's count is
    # its run's length (a scatter-add of ones by run id); the first largest count is the smallest mode.
    from .ops_index import cat

    first = s.new_ones(s.shape[:-1] + (1,), dtype=bool_)
    starts = cat([first, s[..., 1:] != s[..., :-1]], -1)
    run = starts.to(int64).cumsum(-1) - 1
    lengths = run.new_zeros(run.shape).scatter_add(-1, run, run.new_ones(run.shape))
    best = lengths.gather(-1, run).argmax(dim=-1, keepdim=True)
    value = s.gather(-1, best).movedim(-1, d)
    last = (x.detach() == value).to(int64) * _positions(x, d)
    index = last.amax(dim=d, keepdim=True)
    value = x.gather(d, index)  # differentiable: the gradient goes to that occurrence, as torch's
    return ModeResult(value, index) if keepdim else ModeResult(value.squeeze(d), index.squeeze(d))


def _positions(x: Tensor, d: int) -> Tensor:
    from .creation import arange

    shape = tuple(x.shape[d] if i == d else 1 for i in range(x.ndim))
    return arange(x.shape[d], device=x.device).reshape(shape)


# ---------------------------------------------------------------- cumprod
class CumProd(Function):
    """Running product along `dim` (accumulated in double for floats, int64 for integers)."""

    def forward(self, x, dim, dtype):
        self.save(x, dim)
        data = ops._dim_to_last(x, dim)
        be = backend.get(x.device)
        out = be.empty(ops._moved_shape(x.shape, dim), dtype.np)
        backend.kernel(x.device, "cumprod")(data, out)
        return ops._last_to_dim(out, x.device, x.ndim, dim)

    def backward(self, g):
        x, dim = self.saved
        n = x.shape[dim]
        if n == 0:
            return g
        flip = (slice(None),) * dim + (slice(None, None, -1),)
        if not bool((x.detach() == 0).any()):
            # No zeros: grad_i = sum_{j >= i} g_j out_j / x_i, a reversed cumsum.
            return (g * self.output)[flip].cumsum(dim)[flip] / x
        # With zeros: grad_i = sum_{j >= i} g_j prod_{k <= j, k != i} x_k, from n products with x_i set to 1
        # (an (..., n, n) tensor: O(n^2) memory, taken only when a zero is present, as torch's slow path).
        xm = x.movedim(dim, -1)
        gm = g.movedim(dim, -1)
        eye = _eye(n, x)
        rep = xm.unsqueeze(-2) * (1 - eye) + eye  # rep[..., i, k] = x_k, or 1 at k == i
        prods = cumprod(rep, -1)  # prods[..., i, j] = prod_{k <= j, k != i} x_k
        upper = _triu_mask(n, x)  # j >= i
        grad = (prods * upper * gm.unsqueeze(-2)).sum(-1)
        return grad.movedim(-1, dim)


def _eye(n: int, like: Tensor) -> Tensor:
    from .creation import eye

    return eye(n, dtype=like.dtype, device=like.device)


def _triu_mask(n: int, like: Tensor) -> Tensor:
    from .creation import arange

    r = arange(n, device=like.device)
    return (r.unsqueeze(-1) <= r.unsqueeze(0)).to(like.dtype)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along dim (integers and bool give int64), as torch.cumprod.

    Example:
        >>> import gradcore as gc
        >>> gc.cumprod(gc.tensor([1.0, 2.0, 3.0]), 0).tolist()
        [1.0, 2.0, 6.0]
    """
    from .dtypes import as_dtype

    x = _check(input, "cumprod")
    if dtype is not None:
        x = x.to(as_dtype(dtype))
    d = _dim_of(x, dim, "cumprod")
    if x.ndim == 0:
        return cumprod(x.reshape(1), 0).reshape(())
    if x.dtype in HALF_TYPES:
        return cumprod(x.to(float32), d).to(x.dtype)
    if x.dtype is bool_:
        x = x.to(int64)
    out_dtype = x.dtype if x.dtype.is_floating else int64
    return CumProd.apply(x, dim=d, dtype=out_dtype)


# ---------------------------------------------------------------- counting and moments
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of non-zero elements (over dim, or all), int64, as torch.count_nonzero."""
    x = _check(input, "count_nonzero").detach()
    nz = (x != 0).to(int64)
    return nz.sum() if dim is None else nz.sum(dim=dim)


def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple[Tensor, Tensor]:
    """(var, mean) over dim, as torch.var_mean."""
    x = _check(input, "var_mean")
    v = x.var(dim, unbiased=unbiased, keepdim=keepdim, correction=correction)
    base = x if x.dtype.is_floating else x.to(float32)
    return v, base.mean(dim, keepdim=keepdim)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple[Tensor, Tensor]:
    """(std, mean) over dim, as torch.std_mean."""
    v, m = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return v.sqrt(), m


# ---------------------------------------------------------------- host-side (torch syncs here too)
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Any:
    """The distinct values (sorted), and optionally the inverse indices and the counts, as torch.unique.
    Computed on the host with NumPy: the output size depends on the data, so torch synchronizes too."""
    x = _check(input, "unique").detach()
    T = _T()
    arr = x.cpu().numpy()
    if dim is None:
        vals, inv, counts = np.unique(arr.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(arr.shape)
    else:
        d = _dim_of(x, dim, "unique")
        vals, inv, counts = np.unique(arr, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    out = [T(np.ascontiguousarray(vals), device=x.device)]
    if return_inverse:
        out.append(T(np.ascontiguousarray(inv.astype(np.int64)), device=x.device))
    if return_counts:
        out.append(T(counts.astype(np.int64), device=x.device))
    return out[0] if len(out) == 1 else tuple(out)


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """Insertion points of input into the sorted last dim of sorted_sequence, as torch.searchsorted
    (left: the first i with seq[i] >= v; right: seq[i] > v). Counted by a broadcast comparison."""
    seq = _check(sorted_sequence, "searchsorted").detach()
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        right = side == "right"
    if sorter is not None:
        seq = seq.gather(-1, sorter)
    scalar = not isinstance(input, _T())
    v = seq._coerce(input).detach() if not scalar else seq.new_tensor(input)
    if seq.ndim > 1 and v.ndim != seq.ndim:
        raise ValueError("searchsorted: boundaries and input must have the same number of dims "
                         "(or 1-d boundaries)")
    if seq.ndim > 1 and v.shape[:-1] != seq.shape[:-1]:
        raise ValueError(f"searchsorted: leading dims differ: {seq.shape} vs {v.shape}")
    if seq.ndim == 1 and seq.shape[0] * v.numel() > _BROADCAST_LIMIT:
        # A large search would materialise a (values x boundaries) mask: NumPy's binary search on the host
        # instead (one round trip; the boundaries and values are read once).
        sv, vn = seq.cpu().numpy(), v.cpu().numpy()
        if vn.dtype != sv.dtype:
            common = np.promote_types(sv.dtype, vn.dtype)
            sv, vn = sv.astype(common), vn.astype(common)
        found = np.searchsorted(sv, vn, side="right" if right else "left").astype(np.int64)
        out = _T()(np.asarray(found), device=seq.device)
        return out.to("int32") if out_int32 else out
    s = seq.unsqueeze(-2) if seq.ndim > 1 else seq
    vv = v.unsqueeze(-1)
    below = (s <= vv) if right else (s < vv)
    out = below.to(int64).sum(-1)
    return out.to("int32") if out_int32 else out


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each input value among 1-d boundaries, as torch.bucketize."""
    b = _check(boundaries, "bucketize")
    if b.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-d, got {b.ndim} dims")
    return searchsorted(b, input, out_int32=out_int32, right=right)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Counts of each non-negative int value (weighted sums with weights), as torch.bincount."""
    x = _check(input, "bincount").detach()
    if x.ndim != 1 or x.dtype.is_floating or x.dtype is bool_:
        raise ValueError(f"bincount: input must be a 1-d integer tensor, got {x.ndim}-d {x.dtype}")
    if minlength < 0:
        raise ValueError("bincount: minlength must be non-negative")
    if x.numel() and int(x.min().item()) < 0:
        raise ValueError("bincount: input must be non-negative")
    size = max(int(x.max().item()) + 1 if x.numel() else 0, minlength)
    if weights is None:
        src = x.new_ones(x.shape, dtype=int64)
    else:
        if weights.shape != x.shape:
            raise ValueError(f"bincount: weights shape {weights.shape} differs from the input's {x.shape}")
        src = weights if weights.dtype.is_floating else weights.to("float64")
    zeros = src.new_zeros((size,))
    return zeros.scatter_add(0, x.to(int64), src)
