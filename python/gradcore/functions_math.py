"""torch's free functions for the math, comparison and tensor-utility methods of TensorMethods
(gradcore.sin(x) is x.sin(), ...): each checks that its input is a Tensor and calls the method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ops_math as _m
from .tensor import Tensor


def _input(x: Any, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}(): argument 'input' must be a Tensor, got {type(x).__name__}")
    return x


def _method_fn(name: str) -> Callable[..., Any]:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        return getattr(_input(input, name), name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}(input, ...): the same as ``input.{name}(...)``."
    return fn



sin = _method_fn("sin")
cos = _method_fn("cos")
tan = _method_fn("tan")
asin = _method_fn("asin")
acos = _method_fn("acos")
atan = _method_fn("atan")
arcsin = _method_fn("arcsin")
arccos = _method_fn("arccos")
arctan = _method_fn("arctan")
sinh = _method_fn("sinh")
cosh = _method_fn("cosh")
asinh = _method_fn("asinh")
acosh = _method_fn("acosh")
atanh = _method_fn("atanh")
arcsinh = _method_fn("arcsinh")
arccosh = _method_fn("arccosh")
arctanh = _method_fn("arctanh")
floor = _method_fn("floor")
ceil = _method_fn("ceil")
trunc = _method_fn("trunc")
fix = _method_fn("fix")
frac = _method_fn("frac")
log1p = _method_fn("log1p")
expm1 = _method_fn("expm1")
log2 = _method_fn("log2")
log10 = _method_fn("log10")
exp2 = _method_fn("exp2")
rsqrt = _method_fn("rsqrt")
reciprocal = _method_fn("reciprocal")
square = _method_fn("square")
sgn = _method_fn("sgn")
signbit = _method_fn("signbit")
negative = _method_fn("negative")
erf = _method_fn("erf")
atan2 = _method_fn("atan2")
arctan2 = _method_fn("arctan2")
hypot = _method_fn("hypot")
copysign = _method_fn("copysign")
fmod = _method_fn("fmod")
remainder = _method_fn("remainder")
floor_divide = _method_fn("floor_divide")
mul = _method_fn("mul")
multiply = _method_fn("multiply")
true_divide = _method_fn("true_divide")
eq = _method_fn("eq")
ne = _method_fn("ne")
lt = _method_fn("lt")
le = _method_fn("le")
gt = _method_fn("gt")
ge = _method_fn("ge")
greater = _method_fn("greater")
less = _method_fn("less")
greater_equal = _method_fn("greater_equal")
less_equal = _method_fn("less_equal")
not_equal = _method_fn("not_equal")
clone = _method_fn("clone")
t = _method_fn("t")
numel = _method_fn("numel")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even (to `decimals` places), as torch.round.

    Example:
        >>> import gradcore as gc
        >>> gc.round(gc.tensor([0.5, 1.5, -2.5])).tolist()
        [0.0, 2.0, -2.0]
    """
    return _m.round_(_input(input, "round"), decimals)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN, +inf, -inf replaced by finite numbers, as torch.nan_to_num."""
    return _m.nan_to_num(_input(input, "nan_to_num"), nan, posinf, neginf)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(x / (1 - x)), as torch.logit."""
    return _m.logit(_input(input, "logit"), eps)


def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:
    """input + weight * (end - input), as torch.lerp."""
    return _m.lerp(_input(input, "lerp"), end, weight)


def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent in float64, as torch.float_power."""
    return _m.float_power(input, exponent)


def add(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """input + alpha * other, as torch.add.

    Example:
        >>> import gradcore as gc
        >>> gc.add(gc.tensor([1.0]), gc.tensor([2.0]), alpha=3).tolist()
        [7.0]
    """
    return _m.add(_input(input, "add"), other, alpha)


def sub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """input - alpha * other, as torch.sub."""
    return _m.sub(_input(input, "sub"), other, alpha)


subtract = sub


def div(input: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """input / other, or rounded ('trunc', 'floor'), as torch.div.

    Example:
        >>> import gradcore as gc
        >>> gc.div(gc.tensor([-7]), 2, rounding_mode="floor").tolist()
        [-4]
    """
    return _m.div(_input(input, "div"), other, rounding_mode)


divide = div


def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent (input may be a number when exponent is a Tensor), as torch.pow."""
    if not isinstance(input, Tensor):
        return input ** _input(exponent, "pow")
    return input ** exponent


def flip(input: Tensor, dims: Any) -> Tensor:
    """input reversed along dims, as torch.flip."""
    return _input(input, "flip").flip(*(dims if isinstance(dims, (list, tuple)) else (dims,)))


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """input rolled by shifts along dims, as torch.roll."""
    return _input(input, "roll").roll(shifts, dims)


def tile(input: Tensor, dims: Any) -> Tensor:
    """input repeated dims times along each dim, as torch.tile."""
    return _input(input, "tile").tile(*(dims if isinstance(dims, (list, tuple)) else (dims,)))


def addcmul(input: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 * tensor2, as torch.addcmul."""
    return _m.addcmul(_input(input, "addcmul"), tensor1, tensor2, value)


def addcdiv(input: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 / tensor2, as torch.addcdiv."""
    return _m.addcdiv(_input(input, "addcdiv"), tensor1, tensor2, value)


def logaddexp(input: Tensor, other: Any) -> Tensor:
    """log(exp(input) + exp(other)) without overflow, as torch.logaddexp."""
    return _m.logaddexp(_input(input, "logaddexp"), other)


def xlogy(input: Any, other: Any) -> Tensor:
    """input * log(other), 0 where input == 0, as torch.xlogy."""
    return _m.xlogy(input, other)


deg2rad = _method_fn("deg2rad")
rad2deg = _method_fn("rad2deg")
clamp_min = _method_fn("clamp_min")
clamp_max = _method_fn("clamp_max")
