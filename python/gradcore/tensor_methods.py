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
    return _unary(lambda x: _m.float_unary(x, cls), name, f"Elementwise {name} (integer inputs give floats), as torch.")


def _rounding(cls: type, name: str) -> Callable[[Any], Any]:
    return _unary(lambda x: _m.rounding(x, cls, name), name, f"Elementwise {name}; integer tensors come back unchanged.")


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
    __ifloordiv__ = _inplace("floor_divide")
    __imod__ = _inplace("remainder")
