"""torch's elementwise math set: one Function per native functor (sin ... floor_divide) and the composites
built on them (frac, lerp, logit, nan_to_num, div's rounding modes, ...), with torch's dtype rules."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

from . import backend
from .dtypes import bool_, finfo, float64, get_default_dtype, int64
from .ops import _Binary, _Unary, sum_to

if TYPE_CHECKING:
    from .tensor import Tensor


def is_tensor(x: Any) -> bool:
    """True for a gradcore Tensor (imported late: tensor.py imports this module)."""
    from .tensor import Tensor

    return isinstance(x, Tensor)

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _zeros_like(g: Tensor) -> Tensor:
    """A fresh zero gradient: g * 0 would let NaN or inf in g through."""
    return type(g)._wrap(backend.get(g.device).zeros(g.shape, g.dtype.np), g.device)


# ---------------------------------------------------------------- unary primitives
class Sin(_Unary):
    kernel = "sin"

    def backward(self, g):
        return g * self.saved[0].cos()


class Cos(_Unary):
    kernel = "cos"

    def backward(self, g):
        return -g * self.saved[0].sin()


class Tan(_Unary):
    kernel = "tan"

    def backward(self, g):
        t = self.output
        return g * (1.0 + t * t)


class Asin(_Unary):
    kernel = "asin"

    def backward(self, g):
        x = self.saved[0]
        return g * (1.0 - x * x).rsqrt()


class Acos(_Unary):
    kernel = "acos"

    def backward(self, g):
        x = self.saved[0]
        return -g * (1.0 - x * x).rsqrt()


class Atan(_Unary):
    kernel = "atan"

    def backward(self, g):
        x = self.saved[0]
        return g / (1.0 + x * x)


class Sinh(_Unary):
    kernel = "sinh"

    def backward(self, g):
        return g * self.saved[0].cosh()


class Cosh(_Unary):
    kernel = "cosh"

    def backward(self, g):
        return g * self.saved[0].sinh()


class Asinh(_Unary):
    kernel = "asinh"

    def backward(self, g):
        x = self.saved[0]
        return g * (x * x + 1.0).rsqrt()


class Acosh(_Unary):
    kernel = "acosh"

    def backward(self, g):
        x = self.saved[0]
        return g * ((x - 1.0) * (x + 1.0)).rsqrt()


class Atanh(_Unary):
    kernel = "atanh"

    def backward(self, g):
        x = self.saved[0]
        return g / (1.0 - x * x)


class Log1p(_Unary):
    kernel = "log1p"

    def backward(self, g):
        return g / (self.saved[0] + 1.0)


class Expm1(_Unary):
    kernel = "expm1"

    def backward(self, g):
        return g * (self.output + 1.0)


class Log2(_Unary):
    kernel = "log2"

    def backward(self, g):
        return g / (self.saved[0] * _LN2)


class Log10(_Unary):
    kernel = "log10"

    def backward(self, g):
        return g / (self.saved[0] * _LN10)


class Exp2(_Unary):
    kernel = "exp2"

    def backward(self, g):
        return g * self.output * _LN2


class Rsqrt(_Unary):
    kernel = "rsqrt"

    def backward(self, g):
        r = self.output
        return g * r * r * r * -0.5


class Reciprocal(_Unary):
    kernel = "reciprocal"

    def backward(self, g):
        r = self.output
        return -g * r * r


class _Rounding(_Unary):
    """floor/ceil/round/trunc: piecewise constant, so the gradient is zero (as torch)."""

    def backward(self, g):
        return _zeros_like(g)


class Floor(_Rounding):
    kernel = "floor"


class Ceil(_Rounding):
    kernel = "ceil"


class Round(_Rounding):
    kernel = "round"


class Trunc(_Rounding):
    kernel = "trunc"


class Frac(_Unary):
    """x - trunc(x) in one kernel; gradient 1 (as torch)."""

    kernel = "frac"

    def backward(self, g):
        return g


class Signbit(_Unary):
    """1 where the sign bit is set, in the input's dtype (the caller casts to bool); no gradient."""

    kernel = "signbit"

    def backward(self, g):
        return None


# ---------------------------------------------------------------- binary primitives
class Atan2(_Binary):
    kernel = "atan2"

    def backward(self, g):
        a, b = self.saved
        d = a * a + b * b
        ga = sum_to(g * b / d, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-g * a / d, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Hypot(_Binary):
    kernel = "hypot"

    def backward(self, g):
        a, b = self.saved
        h = self.output
        ga = sum_to(g * a / h, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(g * b / h, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Fmod(_Binary):
    """a - trunc(a / b) * b; d/da = 1, d/db = -trunc(a / b) (torch's formulas)."""

    kernel = "fmod"

    def backward(self, g):
        a, b = self.saved
        ga = sum_to(g, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-g * (a / b).detach().trunc(), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Remainder(_Binary):
    """a - floor(a / b) * b; d/da = 1, d/db = -floor(a / b)."""

    kernel = "remainder"

    def backward(self, g):
        a, b = self.saved
        ga = sum_to(g, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-g * (a / b).detach().floor(), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class FloorDivide(_Binary):
    """floor(a / b), piecewise constant: zero gradients."""

    kernel = "floor_divide"

    def backward(self, g):
        a, b = self.saved
        z = _zeros_like(g)
        return sum_to(z, a.shape), sum_to(z, b.shape)


class Copysign(_Binary):
    """|a| with b's sign; d/da = sign(a) * sign(out) (0 where a == 0), d/db = 0."""

    kernel = "copysign"

    def backward(self, g):
        from .ops_index import where

        a, b = self.saved
        ad = a.detach()
        ratio = where(ad == 0, 0.0, self.output.detach() / where(ad == 0, 1.0, ad))
        ga = sum_to(g * ratio, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(_zeros_like(g), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


# ---------------------------------------------------------------- dtype rules
def as_input(x: Any, what: str) -> Tensor:
    if not is_tensor(x):
        raise TypeError(f"{what}(): argument 'input' must be a Tensor, got {type(x).__name__}")
    return x


def float_unary(x: Tensor, fn: type) -> Tensor:
    """fn on x, integer and bool inputs promoted to the default float dtype first (torch's rule)."""
    return fn.apply(x if x.dtype.is_floating else x.to(get_default_dtype()))


def rounding(x: Tensor, fn: type, what: str) -> Tensor:
    """floor/ceil/round/trunc: integer tensors come back unchanged (a copy), as torch; bool raises."""
    if x.dtype is bool_:
        raise TypeError(f"{what}: not implemented for bool tensors")
    if not x.dtype.is_floating:
        return x.clone()
    return fn.apply(x)


def float_binary(a: Tensor, b: Any, fn: type, reverse: bool = False) -> Tensor:
    """fn(a, b) under torch's promotion, with integer results promoted to the default float dtype."""
    other = a._coerce(b)
    if a.dtype.is_floating or other.dtype.is_floating:
        return a._binary(other, fn, reverse)
    base = a.to(get_default_dtype())
    return base._binary(other.to(get_default_dtype()), fn, reverse)


def _check_int_divisor(a: Tensor, b: Any, reverse: bool, what: str) -> None:
    """Integer division by zero raises, as torch's CPU kernels do (the native ones return 0 instead)."""
    other = a._coerce(b)
    divisor = a if reverse else other
    if not (a.dtype.is_floating or other.dtype.is_floating) and divisor.numel():
        if bool((divisor.detach() == 0).any()):
            raise ZeroDivisionError(f"{what}: integer division by zero")


def int_binary(a: Tensor, b: Any, fn: type, what: str, reverse: bool = False) -> Tensor:
    """fmod/remainder/floor_divide: integers stay integers (bool promotes to int64), floats as usual."""
    _check_int_divisor(a, b, reverse, what)
    other = a._coerce(b)
    if a.dtype is bool_ and other.dtype is bool_:
        a = a.to(int64)
    return a._binary(other, fn, reverse)


# ---------------------------------------------------------------- composites
def square(x: Tensor) -> Tensor:
    """x * x; bool squares to int64, as torch."""
    if x.dtype is bool_:
        x = x.to(int64)
    return x * x


def frac(x: Tensor) -> Tensor:
    """x - trunc(x) (gradient 1)."""
    if not x.dtype.is_floating:
        raise TypeError(f"frac: needs a float tensor, got {x.dtype}")
    return Frac.apply(x)


def round_(x: Tensor, decimals: int = 0) -> Tensor:
    """Half-to-even rounding to `decimals` places: round(x * 10**d) / 10**d, as torch."""
    if decimals == 0:
        return rounding(x, Round, "round")
    if not x.dtype.is_floating:
        raise TypeError(f"round: decimals needs a float tensor, got {x.dtype}")
    if decimals > 0:
        s = 10.0**decimals
        return Round.apply(x * s) / s
    s = 10.0 ** (-decimals)
    return Round.apply(x / s) * s


def sgn(x: Tensor) -> Tensor:
    """sign for real tensors."""
    return x.sign()


def signbit(x: Tensor) -> Tensor:
    """True where the sign bit is set (-0.0 included), as a bool tensor."""
    return Signbit.apply(x.detach()).to(bool_)


def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN -> nan, +inf -> posinf (default: the dtype's max), -inf -> neginf (default: its lowest)."""
    from .ops_index import where

    if not x.dtype.is_floating:
        return x.clone()
    fi = finfo(x.dtype)
    hi = float(fi.max) if posinf is None else posinf
    lo = float(fi.min) if neginf is None else neginf
    xd = x.detach()
    out = where(xd != xd, nan, x)
    out = where(xd == math.inf, hi, out)
    return where(xd == -math.inf, lo, out)


def logit(x: Tensor, eps: float | None = None) -> Tensor:
    """log(x / (1 - x)), x clamped to [eps, 1 - eps] first when eps is given."""
    if not x.dtype.is_floating:
        x = x.to(get_default_dtype())
    if eps is not None:
        x = x.clamp(eps, 1.0 - eps)
    return (x / (1.0 - x)).log()


def lerp(start: Tensor, end: Any, weight: Any) -> Tensor:
    """start + weight * (end - start), in torch's two-sided form (exact at weight 0 and 1)."""
    from .ops_index import where

    if not start.dtype.is_floating:
        raise TypeError(f"lerp: needs float tensors, got {start.dtype}")
    end = start._coerce(end)
    w = start._coerce(weight)
    diff = end - start
    small = w.detach().abs() < 0.5
    return where(small, start + w * diff, end - diff * (1.0 - w))


def float_power(a: Any, b: Any) -> Tensor:
    """a ** b computed in float64, as torch.float_power."""
    if is_tensor(a):
        return a.to(float64) ** (b.to(float64) if is_tensor(b) else b)
    return a ** b.to(float64)


def div(a: Tensor, b: Any, rounding_mode: str | None = None) -> Tensor:
    """a / b (true division), or rounded towards zero ('trunc') or down ('floor'), as torch.div."""
    if rounding_mode is None:
        return a / b
    if rounding_mode == "floor":
        return int_binary(a, b, FloorDivide, "div")
    if rounding_mode == "trunc":
        other = a._coerce(b)
        if a.dtype.is_floating or other.dtype.is_floating:
            q = a / other
            return Trunc.apply(q)
        q = int_binary(a, other, FloorDivide, "div")
        r = int_binary(a, other, Fmod, "div")
        # floor differs from trunc by one where the division is inexact and the signs differ.
        adjust = (r != 0) & ((a < 0) != (other < 0))
        return q + adjust.to(q.dtype)
    raise ValueError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")


def add(a: Tensor, b: Any, alpha: Any = 1) -> Tensor:
    """a + alpha * b."""
    if alpha != 1:
        _check_alpha(a, b, alpha, "add")
        b = a._coerce(b) * alpha
    return a + b


def sub(a: Tensor, b: Any, alpha: Any = 1) -> Tensor:
    """a - alpha * b."""
    if alpha != 1:
        _check_alpha(a, b, alpha, "sub")
        b = a._coerce(b) * alpha
    return a - b


def _check_alpha(a: Tensor, b: Any, alpha: Any, what: str) -> None:
    other = a._coerce(b)
    if not (a.dtype.is_floating or other.dtype.is_floating) and not isinstance(alpha, numbers.Integral):
        raise TypeError(
            f"{what}: for integral input tensors, argument alpha must not be a floating point number")


def addcmul(x: Tensor, t1: Any, t2: Any, value: Any = 1) -> Tensor:
    """x + value * t1 * t2, as torch.addcmul."""
    return x + value * (x._coerce(t1) * t2) if value != 1 else x + x._coerce(t1) * t2


def addcdiv(x: Tensor, t1: Any, t2: Any, value: Any = 1) -> Tensor:
    """x + value * t1 / t2, as torch.addcdiv (integer t1 / t2 raise, as torch)."""
    a, b = x._coerce(t1), x._coerce(t2)
    if not (a.dtype.is_floating or b.dtype.is_floating):
        raise TypeError("addcdiv: integer division with addcdiv is no longer supported; use a float tensor")
    return x + (a / b) * value if value != 1 else x + a / b


def logaddexp(a: Tensor, b: Any) -> Tensor:
    """log(exp(a) + exp(b)) without overflow: max + log1p(exp(-|a - b|)), as torch.logaddexp."""
    from .ops_index import where

    if not a.dtype.is_floating:
        a = a.to(get_default_dtype())
    b = a._coerce(b)
    m = a.maximum(b)
    d = (a - b).abs()
    # equal infinities: the difference is NaN, the answer is that infinity
    return where(d != d, m, m + (-d).exp().log1p())


def xlogy(a: Any, b: Any) -> Tensor:
    """a * log(b), 0 where a == 0 (NaN b propagates), as torch.xlogy."""
    from .ops_index import where

    if not is_tensor(a):
        a = b._coerce(a)
    if not a.dtype.is_floating:
        a = a.to(get_default_dtype())
    b = a._coerce(b)
    b = b if b.dtype.is_floating else b.to(a.dtype)
    bd = b.detach()
    safe = where((a.detach() == 0) & (bd == bd), 1.0, b)
    return where((a.detach() == 0) & (bd == bd), 0.0, a * safe.log())


def deg2rad(x: Tensor) -> Tensor:
    """Degrees to radians (ints promote to float)."""
    x = x if x.dtype.is_floating else x.to(get_default_dtype())
    return x * (math.pi / 180.0)


def rad2deg(x: Tensor) -> Tensor:
    """Radians to degrees (ints promote to float)."""
    x = x if x.dtype.is_floating else x.to(get_default_dtype())
    return x * (180.0 / math.pi)
