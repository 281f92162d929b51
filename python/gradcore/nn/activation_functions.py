"""The functional activations beyond relu/gelu/elu/silu (relu6, hardtanh, softplus, mish, selu, celu, prelu,
glu, softmin, logsigmoid, hard*, threshold, soft*/tanhshrink): composites of Tensor ops, written so they
stay finite for large |x| and so their gradients (through ``where``) match torch's away from the kinks."""

from __future__ import annotations

from ..ops_index import where
from ..tensor import Tensor

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_ONE_SIXTH_F32 = 0.1666666716337204  # float32(1 / 6), as torch's hardsigmoid backward uses


def _check_float(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating:
        raise TypeError(f"{name}: needs a floating-point tensor, got {x.dtype}")


def _maybe_inplace(fn, x: Tensor, inplace: bool) -> Tensor:
    """fn(x), or with ``inplace`` fn(x) written into x and x returned (functional's differentiable form)."""
    if not inplace:
        return fn(x)
    from .functional import _inplace

    return _inplace(fn, x, True)


def _log1p_exp_neg_abs(z: Tensor) -> Tensor:
    """log(1 + exp(-|z|)): the bounded part of softplus, never overflowing. The value is log1p's (Kahan's
    log(w) * u / (w - 1), so tails like softplus(-30) keep full relative precision); the gradient is that
    of log(1 + u), exact already."""
    u = (-z.abs()).exp()
    simple = (1.0 + u).log()
    ud = u.detach()
    w = 1.0 + ud
    exact = where(w == 1.0, ud, w.log() * ud / where(w == 1.0, 1.0, w - 1.0))
    return simple + (exact - simple.detach())


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """input clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere (torch's).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.hardtanh(gc.tensor([-2.0, 0.5, 3.0])).tolist()
        [-1.0, 0.5, 1.0]
    """
    _check_float(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _maybe_inplace(
        lambda t: where(t >= max_val, max_val, where(t <= min_val, min_val, t)), input, inplace
    )


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6). Example: ``F.relu6(gc.tensor([-1.0, 7.0])).tolist() == [0.0, 6.0]``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as torch), computed as
    relu(bx) + log(1 + exp(-|bx|)) so it never overflows.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.softplus(gc.tensor([0.0])).item(), 4)
        0.6931
    """
    _check_float(input, "softplus")
    z = input * beta if beta != 1.0 else input
    soft = z.relu() + _log1p_exp_neg_abs(z)
    if beta != 1.0:
        soft = soft / beta
    return where(z > threshold, input, soft)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)). Example: ``round(F.mish(gc.tensor([1.0])).item(), 4) == 0.8651``."""
    _check_float(input, "mish")
    return _maybe_inplace(lambda t: t * (t.relu() + _log1p_exp_neg_abs(t)).tanh(), input, inplace)


def elu_like(input: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    """scale * (max(0, x) + min(0, alpha * (exp(x * input_scale) - 1))): elu, selu and celu."""
    neg = ((input * input_scale).minimum(0.0).exp() - 1.0) * alpha
    out = input.relu() + neg
    return out * scale if scale != 1.0 else out


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Self-normalizing ELU with torch's fixed alpha and scale.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.selu(gc.tensor([1.0])).item(), 4)
        1.0507
    """
    _check_float(input, "selu")
    return _maybe_inplace(lambda t: elu_like(t, _SELU_ALPHA, _SELU_SCALE, 1.0), input, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)). Example: ``F.celu(x, alpha=2.0)``."""
    _check_float(input, "celu")
    if alpha == 0:
        raise ValueError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(lambda t: elu_like(t, alpha, 1.0, 1.0 / alpha), input, inplace)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, weight * x elsewhere; weight has 1 entry or one per channel (dim 1), as ``F.prelu``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.prelu(gc.tensor([[-2.0, 3.0]]), gc.tensor([0.25])).tolist()
        [[-0.5, 3.0]]
    """
    _check_float(input, "prelu")
    n = weight.numel()
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight must be 1-d, got shape {weight.shape}")
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1  # torch: 0-d and 1-d inputs have 1 channel
        if channels != n:
            raise ValueError(
                f"prelu: mismatch of parameter numbers and input channel size: weight has {n} parameters "
                f"but the input has {channels} channels (input shape {input.shape})"
            )
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    else:
        weight = weight.reshape(())
    return where(input > 0, input, input * weight)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the halves of input along ``dim``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.glu(gc.zeros(2, 6)).shape
        (2, 3)
    """
    _check_float(input, "glu")
    if input.ndim == 0:
        raise ValueError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {dim % input.ndim} is size {n}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``. Example: ``F.softmin(gc.tensor([0.0, 0.0]), dim=0)`` is [0.5, 0.5]."""
    from .functional import softmax

    x = input if dtype is None else input.to(dtype)
    return softmax(-x, _default_dim(x, dim))


def _default_dim(x: Tensor, dim: int | None) -> int:
    """torch's implicit softmax dim: 0 for 0-, 1- and 3-d inputs, 1 otherwise."""
    if dim is not None:
        return dim
    return 0 if x.ndim in (0, 1, 3) else 1


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|)), finite for every x.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.logsigmoid(gc.tensor([0.0])).item(), 4)
        -0.6931
    """
    _check_float(input, "logsigmoid")
    return input.minimum(0.0) - _log1p_exp_neg_abs(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6. Example: ``F.hardsigmoid(gc.tensor([0.0])).item() == 0.5``."""
    _check_float(input, "hardsigmoid")
    # torch's backward multiplies by 1/6 rounded to float32 (its kernel's constant); the value is x/6 + 1/2.

    def fn(t: Tensor) -> Tensor:
        slope = t * _ONE_SIXTH_F32
        inside = slope + (t.detach() / 6.0 + 0.5 - slope.detach())
        return where(t <= -3.0, 0.0, where(t >= 3.0, 1.0, inside))

    return _maybe_inplace(fn, input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6. Example: ``F.hardswish(gc.tensor([3.0])).item() == 3.0``."""
    _check_float(input, "hardswish")
    return _maybe_inplace(
        lambda t: where(t < -3.0, 0.0, where(t > 3.0, t, t * (t + 3.0) / 6.0)), input, inplace
    )


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.threshold(gc.tensor([0.5, 2.0]), 1.0, -1.0).tolist()
        [-1.0, 2.0]
    """
    return _maybe_inplace(lambda t: where(t > threshold, t, value), input, inplace)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|). Example: ``F.softsign(gc.tensor([1.0])).item() == 0.5``."""
    _check_float(input, "softsign")
    return input / (input.abs() + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    _check_float(input, "tanhshrink")
    return input - input.tanh()


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.softshrink(gc.tensor([-1.0, 0.2, 1.0])).tolist()
        [-0.5, 0.0, 0.5]
    """
    _check_float(input, "softshrink")
    if lambd < 0:
        raise ValueError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0.

    Example: ``F.hardshrink(gc.tensor([0.2, 1.0])).tolist() == [0.0, 1.0]``."""
    _check_float(input, "hardshrink")
    return where((input > lambd) | (input < -lambd), input, 0.0)


__all__ = [
    "celu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "logsigmoid",
    "mish",
    "prelu",
    "relu6",
    "selu",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
]
