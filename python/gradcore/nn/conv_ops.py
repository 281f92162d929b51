"""2-d convolution: primitives Conv2d, ConvTranspose2d, Conv2dWeightGrad; F.conv2d and F.conv_transpose2d.

Three native kernels (conv2d_forward, conv2d_backward_input, conv2d_backward_weight, the same on every
device) serve both ops in both directions: conv_transpose2d's forward is conv2d's input gradient and
vice versa, and both weight gradients are conv2d_backward_weight with input and output in the roles
of conv2d's. Each backward is written with these primitives, so gradients of gradients work.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function
from ..ops import _empty, contiguous_data
from ..tensor import Tensor

Pair = int | tuple[int, int]


class ConvError(ValueError, RuntimeError):
    """A bad argument to a convolution. Both a ValueError and (as torch raises) a RuntimeError."""


# (stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups): the kernels' flat geometry arguments.
Geometry = tuple[int, int, int, int, int, int, int]


def out_size(n: int, k: int, stride: int, pad: int, dil: int) -> int:
    """conv2d's output size along one spatial dim (torch's formula)."""
    return (n + 2 * pad - dil * (k - 1) - 1) // stride + 1


def _run(kernel: str, a: Tensor, b: Tensor, out_shape: tuple[int, ...], geom: Geometry) -> Any:
    out = _empty(a.device, out_shape, a.dtype)
    backend.kernel(a.device, kernel)(contiguous_data(a), contiguous_data(b), out, *geom)
    return out


class Conv2d(Function):
    """y = conv2d(x, w) without bias: x (N, C, H, W), w (O, C / groups, KH, KW) -> (N, O, OH, OW).
    ``out_hw`` fixes (OH, OW) when it is smaller than the formula's (the gradient of a conv_transpose2d
    whose output_padding added rows that no window reads)."""

    def forward(self, x, w, geom: Geometry, out_hw: tuple[int, int] | None = None):
        self.save(x, w, geom)
        sh, sw, ph, pw, dh, dw, _ = geom
        if out_hw is None:
            out_hw = (
                out_size(x.shape[2], w.shape[2], sh, ph, dh),
                out_size(x.shape[3], w.shape[3], sw, pw, dw),
            )
        return _run("conv2d_forward", x, w, (x.shape[0], w.shape[0]) + tuple(out_hw), geom)

    def backward(self, g):
        x, w, geom = self.saved
        gx = ConvTranspose2d.apply(g, w, geom=geom, out_hw=x.shape[2:]) if self.needs_input_grad[0] else None
        gw = (
            Conv2dWeightGrad.apply(x, g, geom=geom, kernel_hw=w.shape[2:])
            if self.needs_input_grad[1]
            else None
        )
        return gx, gw


class ConvTranspose2d(Function):
    """z = conv_transpose2d(u, w) without bias: u (N, C, H, W), w (C, O / groups, KH, KW) ->
    (N, O, *out_hw): the adjoint of conv2d with weight w, whose output u is and whose input z is."""

    def forward(self, u, w, geom: Geometry, out_hw: tuple[int, int]):
        self.save(u, w, geom)
        shape = (u.shape[0], w.shape[1] * geom[6]) + tuple(out_hw)
        out = _empty(u.device, shape, u.dtype)
        backend.kernel(u.device, "conv2d_backward_input")(contiguous_data(u), contiguous_data(w), out, *geom)
        return out

    def backward(self, g):
        u, w, geom = self.saved
        gu = Conv2d.apply(g, w, geom=geom, out_hw=u.shape[2:]) if self.needs_input_grad[0] else None
        gw = (
            Conv2dWeightGrad.apply(g, u, geom=geom, kernel_hw=w.shape[2:])
            if self.needs_input_grad[1]
            else None
        )
        return gu, gw


class Conv2dWeightGrad(Function):
    """dW = sum over the batch of gy (x) windows of x: conv2d's weight gradient, bilinear in (x, gy).
    x (N, C, H, W), gy (N, O, OH, OW) -> (O, C / groups, *kernel_hw)."""

    def forward(self, x, gy, geom: Geometry, kernel_hw: tuple[int, int]):
        self.save(x, gy, geom)
        shape = (gy.shape[1], x.shape[1] // geom[6]) + tuple(kernel_hw)
        return _run("conv2d_backward_weight", x, gy, shape, geom)

    def backward(self, gg):
        x, gy, geom = self.saved
        gx = (
            ConvTranspose2d.apply(gy, gg, geom=geom, out_hw=x.shape[2:]) if self.needs_input_grad[0] else None
        )
        ggy = Conv2d.apply(x, gg, geom=geom, out_hw=gy.shape[2:]) if self.needs_input_grad[1] else None
        return gx, ggy


def _add_bias_in_place(out: Any, bias: Tensor) -> None:
    """out (N, O, H, W) += bias (O,) broadcast, in the freshly made output: no second (N, O, H, W) buffer."""
    be = backend.get(bias.device)
    b = be.view_reshape(contiguous_data(bias), (1, out.shape[1], 1, 1))
    backend.kernel(bias.device, "binary_add")(out, b, out)


class Conv2dBias(Conv2d):
    """conv2d(x, w) + bias in one node: the bias is added into the conv's own output (y + bias as a
    separate op allocated and wrote a second output, and recorded two more nodes)."""

    def forward(self, x, w, b, geom: Geometry):
        out = super().forward(x, w, geom)
        _add_bias_in_place(out, b)
        return out

    def backward(self, g):
        gx, gw = super().backward(g)
        return gx, gw, (g.sum(dim=(0, 2, 3)) if self.needs_input_grad[2] else None)


class ConvTranspose2dBias(ConvTranspose2d):
    """conv_transpose2d(u, w) + bias in one node (see Conv2dBias)."""

    def forward(self, u, w, b, geom: Geometry, out_hw: tuple[int, int]):
        out = super().forward(u, w, geom, out_hw)
        _add_bias_in_place(out, b)
        return out

    def backward(self, g):
        gu, gw = super().backward(g)
        return gu, gw, (g.sum(dim=(0, 2, 3)) if self.needs_input_grad[2] else None)


# ---------------------------------------------------------------- argument checks shared by both ops


def _pair(v: Any, name: str, op: str) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = (v[0], v[0])
        if len(v) != 2:
            raise ConvError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
        out = tuple(v)
    else:
        out = (v, v)
    for item in out:
        if isinstance(item, bool) or not hasattr(item, "__index__"):
            raise ConvError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
    return int(out[0]), int(out[1])


def _batched(x: Any, op: str) -> tuple[Tensor, bool]:
    """x as a 4-d batch, and whether it was a single (C, H, W) image (torch's unbatched input)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim == 3:
        return x.reshape((1,) + x.shape), True
    if x.ndim != 4:
        raise ConvError(
            f"{op}: expected a 3-d (unbatched) or 4-d (batched) input, got input of shape {tuple(x.shape)}"
        )
    return x, False


def _check_operands(op: str, x: Tensor, weight: Any) -> None:
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim != 4:
        raise ConvError(f"{op}: weight must be 4-d, got weight of shape {tuple(weight.shape)}")
    if not x.dtype.is_floating:  # float16/bfloat16 run on float32 twins at the binding, rounded once
        raise ConvError(f"{op}: needs a float32 or float64 input (or float16/bfloat16), got {x.dtype}")
    if weight.dtype is not x.dtype:
        raise ConvError(f"{op}: input ({x.dtype}) and weight ({weight.dtype}) must have the same dtype")
    if weight.device != x.device:
        raise ConvError(f"{op}: input is on {x.device} but weight is on {weight.device}")


def _check_bias(op: str, x: Tensor, bias: Any, out_channels: int) -> None:
    if bias is None:
        return
    if not isinstance(bias, Tensor):
        raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
    if bias.dtype is not x.dtype or bias.device != x.device:
        raise ConvError(
            f"{op}: bias ({bias.dtype} on {bias.device}) must match the input ({x.dtype} on {x.device})"
        )
    if tuple(bias.shape) != (out_channels,):
        raise ConvError(f"{op}: bias must have shape ({out_channels},), got {tuple(bias.shape)}")


def _check_geometry(op: str, stride, dilation, groups) -> int:
    if min(stride) <= 0:
        raise ConvError(f"{op}: stride must be positive, got {stride}")
    if min(dilation) <= 0:
        raise ConvError(f"{op}: dilation must be positive, got {dilation}")
    if isinstance(groups, bool) or not hasattr(groups, "__index__") or int(groups) <= 0:
        raise ConvError(f"{op}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _check_padding(op: str, padding: tuple[int, int]) -> None:
    if min(padding) < 0:
        raise ConvError(f"{op}: padding must be non-negative, got {padding}")


def _check_window(op: str, hw: tuple[int, ...], khw: tuple[int, ...], pad, dilation) -> None:
    """Torch's rule: the dilated kernel must fit in the padded input (so every output size is >= 1)."""
    padded = tuple(n + 2 * p for n, p in zip(hw, pad))
    span = tuple(d * (k - 1) + 1 for k, d in zip(khw, dilation))
    if min(hw) <= 0 or any(s > n for s, n in zip(span, padded)):
        raise ConvError(
            f"{op}: the kernel {tuple(khw)} (dilated: {span}) is larger than the padded input {padded} "
            f"(input {tuple(hw)}, padding {tuple(pad)}); the output size would be <= 0"
        )


def _same_padding(weight: Tensor, dilation: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """padding='same' (stride 1): torch's left and right padding per spatial dim (2 for conv2d, 3 for
    Conv3d); an odd total puts the extra row on the right."""
    total = tuple(d * (k - 1) for k, d in zip(weight.shape[2:], dilation))
    left = tuple(t // 2 for t in total)
    return left, tuple(t - lo for t, lo in zip(total, left))


# ---------------------------------------------------------------- the functional API


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Pair = 1,
    padding: Pair | str = 0,
    dilation: Pair = 1,
    groups: int = 1,
) -> Tensor:
    """2-d convolution (cross-correlation, as torch) over an (N, C, H, W) or (C, H, W) input with a
    weight of shape (O, C / groups, KH, KW); ``padding`` is an int, a pair, "valid" or "same" (stride 1).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.conv2d(gc.ones(1, 1, 4, 4), gc.ones(2, 1, 3, 3), padding=1).shape
        (1, 2, 4, 4)
    """
    op = "conv2d"
    x, unbatched = _batched(input, op)
    _check_operands(op, x, weight)
    _check_bias(op, x, bias, weight.shape[0])
    stride, dilation = _pair(stride, "stride", op), _pair(dilation, "dilation", op)
    groups = _check_geometry(op, stride, dilation, groups)
    crop = (0, 0)
    if isinstance(padding, str):
        if padding == "valid":
            pad = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ConvError(f"{op}: padding='same' is not supported for strided convolutions")
            left, pad = _same_padding(weight, dilation)  # pad both sides by the right's, drop the extra
            crop = (pad[0] - left[0], pad[1] - left[1])
        else:
            raise ConvError(f"{op}: invalid padding string {padding!r} (expected 'valid' or 'same')")
    else:
        pad = _pair(padding, "padding", op)
        _check_padding(op, pad)
    c, o = x.shape[1], weight.shape[0]
    if o % groups:
        raise ConvError(f"{op}: out channels {o} (weight's dim 0) are not divisible by groups={groups}")
    if c != weight.shape[1] * groups:
        raise ConvError(
            f"{op}: input has {c} channels but weight {tuple(weight.shape)} with groups={groups} expects "
            f"{weight.shape[1] * groups}"
        )
    _check_window(op, x.shape[2:], weight.shape[2:], pad, dilation)
    if bias is not None and crop == (0, 0):
        y = Conv2dBias.apply(x, weight, bias, geom=(*stride, *pad, *dilation, groups))
        return y.reshape(y.shape[1:]) if unbatched else y
    y = Conv2d.apply(x, weight, geom=(*stride, *pad, *dilation, groups))
    if crop != (0, 0):
        y = y[:, :, crop[0] :, crop[1] :]
    if bias is not None:
        y = y + bias.reshape(1, o, 1, 1)
    return y.reshape(y.shape[1:]) if unbatched else y


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Pair = 1,
    padding: Pair = 0,
    output_padding: Pair = 0,
    groups: int = 1,
    dilation: Pair = 1,
) -> Tensor:
    """2-d transposed convolution (the gradient of conv2d with respect to its input) over an (N, C, H, W)
    or (C, H, W) input with a weight of shape (C, O / groups, KH, KW). Output size per dim:
    (H - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> x, w = gc.ones(1, 4, 7, 7), gc.ones(4, 2, 3, 3)
        >>> F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1).shape
        (1, 2, 14, 14)
    """
    op = "conv_transpose2d"
    x, unbatched = _batched(input, op)
    _check_operands(op, x, weight)
    stride, dilation = _pair(stride, "stride", op), _pair(dilation, "dilation", op)
    groups = _check_geometry(op, stride, dilation, groups)
    _check_bias(op, x, bias, weight.shape[1] * groups)
    if isinstance(padding, str):
        raise ConvError(f"{op}: padding must be an int or a pair of ints, got {padding!r}")
    pad, out_pad = _pair(padding, "padding", op), _pair(output_padding, "output_padding", op)
    _check_padding(op, pad)
    if min(out_pad) < 0:
        raise ConvError(f"{op}: output_padding must be non-negative, got {out_pad}")
    for i, name in enumerate("hw"):
        if out_pad[i] >= max(stride[i], dilation[i]):
            raise ConvError(
                f"{op}: output_padding ({out_pad[i]}) must be smaller than either stride ({stride[i]}) or "
                f"dilation ({dilation[i]}) along {name}"
            )
    c = x.shape[1]
    if weight.shape[0] != c:
        raise ConvError(
            f"{op}: input has {c} channels but weight {tuple(weight.shape)} expects {weight.shape[0]}"
        )
    if c % groups:
        raise ConvError(f"{op}: input channels {c} are not divisible by groups={groups}")
    if min(x.shape[2:]) <= 0:
        raise ConvError(f"{op}: the input's spatial size {tuple(x.shape[2:])} must be positive")
    out_hw = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op_ + 1
        for n, s, p, d, k, op_ in zip(x.shape[2:], stride, pad, dilation, weight.shape[2:], out_pad)
    )
    if min(out_hw) <= 0:
        raise ConvError(
            f"{op}: the output size {out_hw} would be <= 0 (input {tuple(x.shape[2:])}, padding {pad})"
        )
    geom = (*stride, *pad, *dilation, groups)
    if bias is not None:
        y = ConvTranspose2dBias.apply(x, weight, bias, geom=geom, out_hw=out_hw)
    else:
        y = ConvTranspose2d.apply(x, weight, geom=geom, out_hw=out_hw)
    return y.reshape(y.shape[1:]) if unbatched else y
