"""TensorMethods: torch's everyday Tensor methods (math, comparisons, sorting, shape helpers) as a mixin
that tensor.py's Tensor inherits; each method calls the function of the same name in ops_math, ops_sort
or shape_ops, so the method and the gradcore.* function cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ops_math as _m


def _unary(fn: Callable[[Any], Any], name: str, doc: str) -> Callable[[Any], Any]:
    def method(self: Any) -> Any:
        return fn(self)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


def _float_unary(cls: type, name: str) -> Callable[[Any], Any]:
    doc = f"Elementwise {name} (integer inputs give floats), as torch."
    return _unary(lambda x: _m.float_unary(x, cls), name, doc)


def _rounding(cls: type, name: str) -> Callable[[Any], Any]:
    doc = f"Elementwise {name}; integer tensors come back unchanged."
    return _unary(lambda x: _m.rounding(x, cls, name), name, doc)


def _inplace(name: str) -> Callable[..., Any]:
    """x.name_(...): the out-of-place x.name(...) written back into x (torch's cast and autograd rules)."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._apply_inplace(lambda t: getattr(t, name)(*args, **kwargs), name + "_")

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place {name}, as torch.Tensor.{name}_."
    return method


class TensorMethods:
    """The mixin; no state of its own (Tensor has __slots__)."""

    __slots__ = ()

    # ------------------------------------------------------------ float math (ints promote to float)
    sin = _float_unary(_m.Sin, "sin")
    cos = _float_unary(_m.Cos, "cos")
    tan = _float_unary(_m.Tan, "tan")
    asin = arcsin = _float_unary(_m.Asin, "asin")
    acos = arccos = _float_unary(_m.Acos, "acos")
    atan = arctan = _float_unary(_m.Atan, "atan")
    sinh = _float_unary(_m.Sinh, "sinh")
    cosh = _float_unary(_m.Cosh, "cosh")
    asinh = arcsinh = _float_unary(_m.Asinh, "asinh")
    acosh = arccosh = _float_unary(_m.Acosh, "acosh")
    atanh = arctanh = _float_unary(_m.Atanh, "atanh")
    log1p = _float_unary(_m.Log1p, "log1p")
    expm1 = _float_unary(_m.Expm1, "expm1")
    log2 = _float_unary(_m.Log2, "log2")
    log10 = _float_unary(_m.Log10, "log10")
    exp2 = _float_unary(_m.Exp2, "exp2")
    rsqrt = _float_unary(_m.Rsqrt, "rsqrt")
    reciprocal = _float_unary(_m.Reciprocal, "reciprocal")
    floor = _rounding(_m.Floor, "floor")
    ceil = _rounding(_m.Ceil, "ceil")
    trunc = fix = _rounding(_m.Trunc, "trunc")
    frac = _unary(_m.frac, "frac", "x - trunc(x), as torch.frac.")
    square = _unary(_m.square, "square", "x * x, as torch.square.")
    sgn = _unary(_m.sgn, "sgn", "sign of a real tensor, as torch.sgn.")
    signbit = _unary(_m.signbit, "signbit", "True where the sign bit is set (-0.0 too), as torch.signbit.")
    neg = negative = _unary(lambda x: -x, "neg", "-x, as torch.neg.")

    def round(self, decimals: int = 0) -> Any:
        """Round half to even, to `decimals` places (torch.round).

        Example:
            >>> import gradcore as gc
            >>> gc.tensor([0.5, 1.5, 2.567]).round(decimals=0).tolist()
            [0.0, 2.0, 3.0]
        """
        return _m.round_(self, decimals)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Any:
        """NaN, +inf and -inf replaced by finite numbers, as torch.nan_to_num."""
        return _m.nan_to_num(self, nan, posinf, neginf)

    def logit(self, eps: float | None = None) -> Any:
        """log(x / (1 - x)), as torch.logit."""
        return _m.logit(self, eps)

    def lerp(self, end: Any, weight: Any) -> Any:
        """self + weight * (end - self), as torch.lerp."""
        return _m.lerp(self, end, weight)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        """self + value * tensor1 * tensor2, as torch.Tensor.addcmul."""
        return _m.addcmul(self, tensor1, tensor2, value)

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        """self + value * tensor1 / tensor2, as torch.Tensor.addcdiv."""
        return _m.addcdiv(self, tensor1, tensor2, value)

    def logaddexp(self, other: Any) -> Any:
        """log(exp(self) + exp(other)) without overflow, as torch.Tensor.logaddexp."""
        return _m.logaddexp(self, other)

    def xlogy(self, other: Any) -> Any:
        """self * log(other), 0 where self == 0, as torch.Tensor.xlogy."""
        return _m.xlogy(self, other)

    deg2rad = _unary(_m.deg2rad, "deg2rad", "Degrees to radians, as torch.deg2rad.")
    rad2deg = _unary(_m.rad2deg, "rad2deg", "Radians to degrees, as torch.rad2deg.")

    def clamp_min(self, min: Any) -> Any:
        """clamp(min=min)."""
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Any:
        """clamp(max=max)."""
        return self.clamp(max=max)

    # ------------------------------------------------------------ binary math
    def atan2(self, other: Any) -> Any:
        """Elementwise atan2(self, other), as torch.atan2."""
        return _m.float_binary(self, other, _m.Atan2)

    arctan2 = atan2

    def hypot(self, other: Any) -> Any:
        """sqrt(self**2 + other**2) without overflow, as torch.hypot."""
        return _m.float_binary(self, other, _m.Hypot)

    def copysign(self, other: Any) -> Any:
        """|self| with other's sign, as torch.copysign."""
        return _m.float_binary(self, other, _m.Copysign)

    def fmod(self, other: Any) -> Any:
        """Remainder with the dividend's sign (C's fmod), as torch.fmod."""
        return _m.int_binary(self, other, _m.Fmod, "fmod")

    def remainder(self, other: Any) -> Any:
        """Remainder with the divisor's sign (Python's %), as torch.remainder."""
        return _m.int_binary(self, other, _m.Remainder, "remainder")

    def floor_divide(self, other: Any) -> Any:
        """floor(self / other) (Python's //), as torch.floor_divide."""
        return _m.int_binary(self, other, _m.FloorDivide, "floor_divide")

    def __floordiv__(self, other: Any) -> Any:
        return _m.int_binary(self, other, _m.FloorDivide, "floor_divide")

    def __rfloordiv__(self, other: Any) -> Any:
        return _m.int_binary(self, other, _m.FloorDivide, "floor_divide", reverse=True)

    def __mod__(self, other: Any) -> Any:
        return _m.int_binary(self, other, _m.Remainder, "remainder")

    def __rmod__(self, other: Any) -> Any:
        return _m.int_binary(self, other, _m.Remainder, "remainder", reverse=True)

    def float_power(self, exponent: Any) -> Any:
        """self ** exponent in float64, as torch.float_power."""
        return _m.float_power(self, exponent)

    def add(self, other: Any, *, alpha: Any = 1) -> Any:
        """self + alpha * other, as torch.add."""
        return _m.add(self, other, alpha)

    def sub(self, other: Any, *, alpha: Any = 1) -> Any:
        """self - alpha * other, as torch.sub."""
        return _m.sub(self, other, alpha)

    subtract = sub

    def mul(self, other: Any) -> Any:
        """self * other, as torch.mul."""
        return self * other

    multiply = mul

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Any:
        """self / other; rounding_mode 'trunc' or 'floor' rounds the quotient, as torch.div."""
        return _m.div(self, other, rounding_mode)

    divide = div

    def true_divide(self, other: Any) -> Any:
        """self / other (always a float result)."""
        return self / other

    def pow(self, exponent: Any) -> Any:
        """self ** exponent, as torch.pow."""
        return self ** exponent

    # ------------------------------------------------------------ comparisons (bool results)
    def eq(self, other: Any) -> Any:
        """self == other elementwise, as a bool tensor."""
        return self._compare(other, "eq")

    def ne(self, other: Any) -> Any:
        """self != other elementwise, as a bool tensor."""
        return self._compare(other, "ne")

    def lt(self, other: Any) -> Any:
        """self < other elementwise, as a bool tensor."""
        return self._compare(other, "lt")

    def le(self, other: Any) -> Any:
        """self <= other elementwise, as a bool tensor."""
        return self._compare(other, "le")

    def gt(self, other: Any) -> Any:
        """self > other elementwise, as a bool tensor."""
        return self._compare(other, "gt")

    def ge(self, other: Any) -> Any:
        """self >= other elementwise, as a bool tensor."""
        return self._compare(other, "ge")

    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge

    def isnan(self) -> Any:
        """True where an element is NaN."""
        from .functions import isnan

        return isnan(self)

    def isinf(self) -> Any:
        """True where an element is +inf or -inf."""
        from .functions import isinf

        return isinf(self)

    def isfinite(self) -> Any:
        """True where an element is neither inf nor NaN."""
        from .functions import isfinite

        return isfinite(self)

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Any:
        """|self - other| <= atol + rtol * |other| elementwise, as torch.isclose."""
        from .functions import isclose

        return isclose(self, other, rtol=rtol, atol=atol, equal_nan=equal_nan)

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """True when every element is close, as torch.allclose."""
        from .functions import allclose

        return allclose(self, other, rtol=rtol, atol=atol, equal_nan=equal_nan)

    def equal(self, other: Any) -> bool:
        """True when shapes and values agree, as torch.equal."""
        from .functions import equal

        return equal(self, other)

    # ------------------------------------------------------------ in place (torch's `_` variants)
    abs_ = absolute_ = _inplace("abs")
    neg_ = negative_ = _inplace("neg")
    sqrt_ = _inplace("sqrt")
    exp_ = _inplace("exp")
    log_ = _inplace("log")
    relu_ = _inplace("relu")
    sigmoid_ = _inplace("sigmoid")
    tanh_ = _inplace("tanh")
    sign_ = _inplace("sign")
    sgn_ = _inplace("sgn")
    erf_ = _inplace("erf")
    pow_ = _inplace("pow")
    square_ = _inplace("square")
    sin_ = _inplace("sin")
    cos_ = _inplace("cos")
    tan_ = _inplace("tan")
    asin_ = arcsin_ = _inplace("asin")
    acos_ = arccos_ = _inplace("acos")
    atan_ = arctan_ = _inplace("atan")
    sinh_ = _inplace("sinh")
    cosh_ = _inplace("cosh")
    asinh_ = arcsinh_ = _inplace("asinh")
    acosh_ = arccosh_ = _inplace("acosh")
    atanh_ = arctanh_ = _inplace("atanh")
    log1p_ = _inplace("log1p")
    expm1_ = _inplace("expm1")
    log2_ = _inplace("log2")
    log10_ = _inplace("log10")
    exp2_ = _inplace("exp2")
    rsqrt_ = _inplace("rsqrt")
    reciprocal_ = _inplace("reciprocal")
    floor_ = _inplace("floor")
    ceil_ = _inplace("ceil")
    round_ = _inplace("round")
    trunc_ = fix_ = _inplace("trunc")
    frac_ = _inplace("frac")
    nan_to_num_ = _inplace("nan_to_num")
    logit_ = _inplace("logit")
    lerp_ = _inplace("lerp")
    atan2_ = arctan2_ = _inplace("atan2")
    hypot_ = _inplace("hypot")
    copysign_ = _inplace("copysign")
    fmod_ = _inplace("fmod")
    remainder_ = _inplace("remainder")
    floor_divide_ = _inplace("floor_divide")
    float_power_ = _inplace("float_power")
    addcmul_ = _inplace("addcmul")
    addcdiv_ = _inplace("addcdiv")
    clamp_min_ = _inplace("clamp_min")
    clamp_max_ = _inplace("clamp_max")
    xlogy_ = _inplace("xlogy")
    deg2rad_ = _inplace("deg2rad")
    rad2deg_ = _inplace("rad2deg")
    __ifloordiv__ = _inplace("floor_divide")
    __imod__ = _inplace("remainder")

    # ------------------------------------------------------------ ordering and scans (ops_sort.py)
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """(values, indices) sorted along dim (stable; NaN last ascending), as torch.Tensor.sort."""
        from . import ops_sort

        return ops_sort.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """The indices that sort along dim, as torch.Tensor.argsort."""
        from . import ops_sort

        return ops_sort.argsort(self, dim, descending, stable)

    def msort(self) -> Any:
        """Sorted along dim 0."""
        from . import ops_sort

        return ops_sort.msort(self)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """(values, indices) of the k largest (smallest) along dim, as torch.Tensor.topk."""
        from . import ops_sort

        return ops_sort.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """(values, indices) of the k-th smallest along dim, as torch.Tensor.kthvalue."""
        from . import ops_sort

        return ops_sort.kthvalue(self, k, dim, keepdim)

    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median (of all, or (values, indices) along dim), as torch.Tensor.median."""
        from . import ops_sort

        return ops_sort.median(self, dim, keepdim)

    def nanmedian(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """median ignoring NaN, as torch.Tensor.nanmedian."""
        from . import ops_sort

        return ops_sort.nanmedian(self, dim, keepdim)

    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """(values, indices) of the most frequent value along dim, as torch.Tensor.mode."""
        from . import ops_sort

        return ops_sort.mode(self, dim, keepdim)

    def cumprod(self, dim: int, *, dtype: Any = None) -> Any:
        """Running product along dim, as torch.Tensor.cumprod."""
        from . import ops_sort

        return ops_sort.cumprod(self, dim, dtype=dtype)

    def count_nonzero(self, dim: Any = None) -> Any:
        """The number of non-zero elements, as torch.Tensor.count_nonzero."""
        from . import ops_sort

        return ops_sort.count_nonzero(self, dim)

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
               dim: int | None = None) -> Any:
        """The distinct values (host-side), as torch.Tensor.unique."""
        from . import ops_sort

        return ops_sort.unique(self, sorted, return_inverse, return_counts, dim)

    def bincount(self, weights: Any = None, minlength: int = 0) -> Any:
        """Counts of each non-negative value, as torch.Tensor.bincount."""
        from . import ops_sort

        return ops_sort.bincount(self, weights, minlength)

    # ------------------------------------------------------------ shape and linear algebra (shape_ops.py)
    def tril(self, diagonal: int = 0) -> Any:
        """The lower triangle of the last two dims, as torch.Tensor.tril."""
        from . import shape_ops

        return shape_ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Any:
        """The upper triangle of the last two dims, as torch.Tensor.triu."""
        from . import shape_ops

        return shape_ops.triu(self, diagonal)

    def diag(self, diagonal: int = 0) -> Any:
        """Vector -> diagonal matrix, matrix -> its diagonal, as torch.Tensor.diag."""
        from . import shape_ops

        return shape_ops.diag(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:
        """The diagonal as a strided view, as torch.Tensor.diagonal."""
        from . import shape_ops

        return shape_ops.diagonal(self, offset, dim1, dim2)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Any:
        """Last-dim vectors on the diagonals of new matrices, as torch.Tensor.diag_embed."""
        from . import shape_ops

        return shape_ops.diag_embed(self, offset, dim1, dim2)

    def trace(self) -> Any:
        """The sum of the main diagonal, as torch.Tensor.trace."""
        from . import shape_ops

        return shape_ops.trace(self)

    def outer(self, vec2: Any) -> Any:
        """The outer product, as torch.Tensor.outer."""
        from . import shape_ops

        return shape_ops.outer(self, vec2)

    ger = outer

    def dot(self, other: Any) -> Any:
        """The inner product of two vectors, as torch.Tensor.dot."""
        from . import shape_ops

        return shape_ops.dot(self, other)

    def inner(self, other: Any) -> Any:
        """Sum over the last dims, as torch.Tensor.inner."""
        from . import shape_ops

        return shape_ops.inner(self, other)

    def cross(self, other: Any, dim: int | None = None) -> Any:
        """The 3-vector cross product along dim, as torch.Tensor.cross."""
        from . import shape_ops

        return shape_ops.cross(self, other, dim)

    def kron(self, other: Any) -> Any:
        """The Kronecker product, as torch.Tensor.kron."""
        from . import shape_ops

        return shape_ops.kron(self, other)

    def movedim(self, source: Any, destination: Any) -> Any:
        """Dims moved (a view), as torch.Tensor.movedim."""
        from . import shape_ops

        return shape_ops.movedim(self, source, destination)

    moveaxis = movedim

    def swapaxes(self, axis0: int, axis1: int) -> Any:
        """transpose(axis0, axis1)."""
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def narrow(self, dim: int, start: int, length: int) -> Any:
        """A slice view along dim, as torch.Tensor.narrow."""
        from . import shape_ops

        return shape_ops.narrow(self, dim, start, length)

    def unbind(self, dim: int = 0) -> Any:
        """The slices along dim, as torch.Tensor.unbind."""
        from . import shape_ops

        return shape_ops.unbind(self, dim)

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> Any:
        """Split into sections or at indices, as torch.Tensor.tensor_split."""
        from . import shape_ops

        return shape_ops.tensor_split(self, indices_or_sections, dim)

    def split_with_sizes(self, split_sizes: Any, dim: int = 0) -> Any:
        """Split into pieces of the given sizes."""
        from . import shape_ops

        return shape_ops.split_with_sizes(self, split_sizes, dim)

    def hsplit(self, indices_or_sections: Any) -> Any:
        """tensor_split along dim 1 (0 for 1-d)."""
        from . import shape_ops

        return shape_ops.hsplit(self, indices_or_sections)

    def vsplit(self, indices_or_sections: Any) -> Any:
        """tensor_split along dim 0."""
        from . import shape_ops

        return shape_ops.vsplit(self, indices_or_sections)

    def dsplit(self, indices_or_sections: Any) -> Any:
        """tensor_split along dim 2."""
        from . import shape_ops

        return shape_ops.dsplit(self, indices_or_sections)

    def broadcast_to(self, size: Any) -> Any:
        """Expanded to size (a view), as torch.Tensor.broadcast_to."""
        return self.expand(*size)

    def rot90(self, k: int = 1, dims: Any = (0, 1)) -> Any:
        """Rotated by 90 degrees k times in the plane of dims, as torch.Tensor.rot90."""
        from . import shape_ops

        return shape_ops.rot90(self, k, dims)

    def fliplr(self) -> Any:
        """Reversed along dim 1."""
        return self.flip(1) if self.ndim >= 2 else _raise(ValueError("fliplr: Input must be >= 2-d."))

    def flipud(self) -> Any:
        """Reversed along dim 0."""
        return self.flip(0) if self.ndim >= 1 else _raise(ValueError("flipud: Input must be >= 1-d."))

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Any:
        """The n-th forward difference along dim, as torch.Tensor.diff."""
        from . import shape_ops

        return shape_ops.diff(self, n, dim, prepend, append)

    def stride(self, dim: int | None = None) -> Any:
        """Strides in elements (one dim's, or all), as torch.Tensor.stride."""
        from . import shape_ops
        from .ops_index import wrap_dim

        s = shape_ops.strides_of(self)
        return s if dim is None else s[wrap_dim(dim, self.ndim, "stride")]

    def storage_offset(self) -> int:
        """The first element's offset in its storage, in elements."""
        from . import shape_ops

        return shape_ops.storage_offset(self)

    def data_ptr(self) -> int:
        """The first element's address."""
        from . import shape_ops

        return shape_ops.data_ptr(self)

    def as_strided(self, size: Any, stride: Any, storage_offset: int | None = None) -> Any:
        """A view of the storage with the given sizes, strides and offset, as torch.Tensor.as_strided."""
        from . import shape_ops

        return shape_ops.as_strided(self, size, stride, storage_offset)

    def new_empty_strided(self, size: Any, stride: Any, *, dtype: Any = None, device: Any = None,
                          requires_grad: bool = False) -> Any:
        """An uninitialised tensor with the given element strides (over fresh storage just large enough)."""
        from . import shape_ops

        size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
        if len(size) != len(stride) or any(s < 0 for s in stride):
            raise ValueError(f"new_empty_strided: bad size {size} / stride {stride}")
        span = 0 if any(n == 0 for n in size) else 1 + sum((n - 1) * s for n, s in zip(size, stride))
        base = self.new_empty((span,), dtype=dtype, device=device)
        out = shape_ops.as_strided(base, size, stride, 0)
        return out.requires_grad_(requires_grad) if requires_grad else out

    def is_nonzero(self) -> bool:
        """The truth value of a one-element tensor."""
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous" if self.numel() == 0 else
                               "Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    # ---- torch method spellings added for newcomers (apifill)
    def ndimension(self) -> int:
        """The number of dims (torch's older spelling of dim())."""
        return self.ndim

    def unsqueeze_(self, dim: int) -> Any:
        """In place: a size-1 dim inserted at ``dim`` (the tensor object now has that shape)."""
        return self._set_view_shape(lambda t: t.unsqueeze(dim), "unsqueeze_")

    def squeeze_(self, dim: Any = None) -> Any:
        """In place: size-1 dims removed (all, or ``dim``)."""
        return self._set_view_shape(lambda t: t.squeeze() if dim is None else t.squeeze(dim), "squeeze_")

    def _set_view_shape(self, view_fn: Any, op: str) -> Any:
        """The in-place shape methods: this object becomes view_fn of its old self (history included)."""
        if self.requires_grad and self._ctx is None:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place operation."
            )
        old = type(self)._wrap(self._data, self.device)  # the old self as its own node (no cycle)
        old._ctx, old._requires_grad = self._ctx, self._requires_grad
        new = view_fn(old)
        self._data = new._data
        if new._ctx is not None:
            self._take_history(new._ctx)
        return self

    def detach_(self) -> Any:
        """In place: this tensor cut from its history (no longer requiring grad), as torch.Tensor.detach_."""
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._ctx = None
        self._requires_grad = False
        return self

    def scatter_(self, dim: int, index: Any, src: Any, *, reduce: str | None = None) -> Any:
        """In place: src (a tensor or a number) written at index along dim, as torch.Tensor.scatter_."""
        if reduce is not None:
            if reduce != "add":
                raise NotImplementedError(f"scatter_: reduce={reduce!r} is not supported (use 'add')")
            if not isinstance(src, type(self)):
                src = self.new_full(index.shape, src)
            return self.scatter_add_(dim, index, src)
        return self._apply_inplace(lambda t: t.scatter(dim, index, src), "scatter_")

    def repeat_interleave(self, repeats: Any, dim: int | None = None, *,
                          output_size: int | None = None) -> Any:
        """Each element repeated ``repeats`` times (an int or one count per element) along dim (the flattened
        tensor when None), as torch.repeat_interleave."""
        from .torch_compat import repeat_interleave

        return repeat_interleave(self, repeats, dim, output_size=output_size)


def _raise(exc: Exception) -> Any:
    raise exc
