"""3-d layers as compositions of the 2-d ones: F.conv3d / nn.Conv3d (one conv2d per kernel depth tap, the
output depths folded into the batch) and the separable 3-d pools (avg, max, adaptive avg / max: a 2-d pool
over (H, W), then a 1-d pool over D)."""

from __future__ import annotations

from typing import Any

from ..creation import empty
from ..dtypes import DType
from ..tensor import Tensor
from .conv import _conv_extra_repr, _pad_mode, _reset_conv_parameters
from .conv_ops import ConvError, _same_padding, conv2d
from .module import Module, Parameter, factory_dtype
from .pool_functions import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from .pool_functions import pad as _pad


def _triple(v: Any, name: str) -> tuple[int, int, int]:
    t = (v, v, v) if isinstance(v, int) else tuple(int(i) for i in v)
    if len(t) != 3:
        raise ConvError(f"{name} must be an int or a triple of ints, got {v!r}")
    return t  # type: ignore[return-value]


def _batched5(x: Tensor, op: str) -> tuple[Tensor, bool]:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (4, 5):
        raise ConvError(
            f"{op}: expected a 4-d (unbatched) or 5-d (batched) input, got shape {tuple(x.shape)}"
        )
    return (x.unsqueeze(0), True) if x.ndim == 4 else (x, False)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-d convolution over (N, C, D, H, W) or (C, D, H, W) input with a (O, C / groups, KD, KH, KW)
    weight: for each depth tap, a conv2d over the strided depth slices folded into the batch.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.conv3d(gc.ones(1, 2, 5, 6, 6), gc.ones(4, 2, 3, 3, 3), padding=1).shape
        (1, 4, 5, 6, 6)
    """
    op = "conv3d"
    x, unbatched = _batched5(input, op)
    if not isinstance(weight, Tensor) or weight.ndim != 5:
        raise ConvError(f"{op}: weight must be a 5-d Tensor, got {getattr(weight, 'shape', weight)!r}")
    s, dl = _triple(stride, "stride"), _triple(dilation, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            p = (0, 0, 0)
        elif padding == "same":
            if s != (1, 1, 1):
                raise ConvError(f"{op}: padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dl, weight.shape[2:])]
            x = _pad(
                x,
                (
                    total[2] // 2,
                    total[2] - total[2] // 2,
                    total[1] // 2,
                    total[1] - total[1] // 2,
                    total[0] // 2,
                    total[0] - total[0] // 2,
                ),
            )
            p = (0, 0, 0)
        else:
            raise ConvError(f"{op}: invalid padding string {padding!r} (expected 'valid' or 'same')")
    else:
        p = _triple(padding, "padding")
    n, c, depth = x.shape[:3]
    o, _, kd = weight.shape[:3]
    if p[0]:
        x = _pad(x, (0, 0, 0, 0, p[0], p[0]))
        depth += 2 * p[0]
    out_d = (depth - dl[0] * (kd - 1) - 1) // s[0] + 1
    if out_d <= 0:
        raise ConvError(
            f"{op}: the kernel depth {kd} (dilation {dl[0]}) is larger than the padded input depth {depth}"
        )
    y = None
    for t in range(kd):  # one conv2d per depth tap over every output depth at once
        start = t * dl[0]
        sl = x[:, :, start : start + (out_d - 1) * s[0] + 1 : s[0]]  # (N, C, Do, H, W)
        sl = sl.permute(0, 2, 1, 3, 4).reshape(n * out_d, c, x.shape[3], x.shape[4])
        part = conv2d(sl, weight[:, :, t], None, s[1:], p[1:], dl[1:], groups)
        y = part if y is None else y + part
    y = y.reshape(n, out_d, o, y.shape[2], y.shape[3]).permute(0, 2, 1, 3, 4)
    if bias is not None:
        y = y + bias.reshape(1, o, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


class Conv3d(Module):
    """3-d convolution, as ``torch.nn.Conv3d`` (weight (O, C / groups, KD, KH, KW), torch's init).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.Conv3d(2, 4, 3, padding=1)(gc.zeros(1, 2, 4, 5, 5)).shape
        (1, 4, 4, 5, 5)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ConvError("Conv3d: in_channels and out_channels must be divisible by groups")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ConvError(
                "Conv3d: padding_mode must be one of ('zeros', 'reflect', 'replicate', 'circular'), got "
                f"{padding_mode!r}"
            )
        dt = factory_dtype(dtype, "Conv3d")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _triple(kernel_size, "kernel_size"), _triple(stride, "stride")
        self.padding = padding if isinstance(padding, str) else _triple(padding, "padding")
        self.dilation, self.padding_mode = _triple(dilation, "dilation"), padding_mode
        self.weight = Parameter(empty((out_channels, in_channels // groups) + self.kernel_size, dtype=dt))
        self.bias = Parameter(empty((out_channels,), dtype=dt)) if bias else None
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        _reset_conv_parameters(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        # torch's other padding modes: F.pad's rule first, then an unpadded convolution
        xb, unbatched = _batched5(x, "conv3d")
        if self.padding == "same":
            if self.stride != (1, 1, 1):
                raise ConvError("conv3d: padding='same' is not supported for strided convolutions")
            left, right = _same_padding(self.weight, self.dilation)
        else:
            left = right = (0, 0, 0) if self.padding == "valid" else self.padding
        xb = _pad_mode(xb, left, right, self.padding_mode, "Conv3d")
        y = conv3d(xb, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return y.squeeze(0) if unbatched else y

    def extra_repr(self) -> str:
        return _conv_extra_repr(self)


# ---------------------------------------------------------------- separable 3-d pools


def _pool3d(input: Tensor, pool_hw, pool_d, op: str) -> Tensor:
    """pool_hw over (H, W) of every depth slice, then pool_d over D."""
    x, unbatched = _batched5(input, op)
    n, c, d, h, w = x.shape
    y = pool_hw(x.reshape(n * c * d, 1, h, w))  # (N*C*D, 1, Ho, Wo)
    ho, wo = y.shape[2:]
    y = y.reshape(n, c, d, ho * wo).permute(0, 1, 3, 2).reshape(n * c * ho * wo, 1, d)
    z = pool_d(y)  # (N*C*Ho*Wo, 1, Do)
    do = z.shape[-1]
    z = z.reshape(n, c, ho, wo, do).permute(0, 1, 4, 2, 3)
    return z.squeeze(0) if unbatched else z


def _pool3d_indices(input: Tensor, pool_hw, pool_d, op: str) -> tuple[Tensor, Tensor]:
    """_pool3d for pools returning (values, indices): the (H, W) pool's flat h * W + w index at the depth
    the D pool chose, plus that depth * H * W (torch's flat d * H * W + h * W + w layout). Ties keep the
    first maximum in (d, h, w) order, as torch: the first depth holding the box maximum, then the first
    (h, w) in it."""
    x, unbatched = _batched5(input, op)
    n, c, d, h, w = x.shape
    y, i_hw = pool_hw(x.reshape(n * c * d, 1, h, w))  # (N*C*D, 1, Ho, Wo)
    ho, wo = y.shape[2:]
    y = y.reshape(n, c, d, ho * wo).permute(0, 1, 3, 2).reshape(n * c * ho * wo, 1, d)
    z, i_d = pool_d(y)  # (N*C*Ho*Wo, 1, Do): the depth holding each box's maximum
    do = z.shape[-1]
    z = z.reshape(n, c, ho, wo, do).permute(0, 1, 4, 2, 3)
    depth = i_d.reshape(n, c, ho, wo, do).permute(0, 1, 4, 2, 3)  # (N, C, Do, Ho, Wo)
    hw = i_hw.reshape(n, c, d, ho, wo).gather(2, depth)
    idx = depth * (h * w) + hw
    return (z.squeeze(0), idx.squeeze(0)) if unbatched else (z, idx)


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-d average pooling (separable: the box average over (D, H, W) is an average of (H, W) averages).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.avg_pool3d(gc.ones(1, 1, 4, 4, 4), 2).shape
        (1, 1, 2, 2, 2)
    """
    if divisor_override is not None:
        raise NotImplementedError("avg_pool3d: divisor_override is not supported")
    k = _triple(kernel_size, "kernel_size")
    s = _triple(stride, "stride") if stride is not None else k
    p = _triple(padding, "padding")
    return _pool3d(
        input,
        lambda t: avg_pool2d(t, k[1:], s[1:], p[1:], ceil_mode, count_include_pad),
        lambda t: avg_pool1d(t, k[0], s[0], p[0], ceil_mode, count_include_pad),
        "avg_pool3d",
    )


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """3-d max pooling (separable: the max over a box is the max over D of maxima over (H, W)); with
    ``return_indices`` also the flat d * H * W + h * W + w argmax positions (torch's layout, what
    F.max_unpool3d takes).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> y, i = F.max_pool3d(gc.arange(8.0).reshape(1, 1, 2, 2, 2), 2, return_indices=True)
        >>> i.tolist()
        [[[[[7]]]]]
    """
    k = _triple(kernel_size, "kernel_size")
    s = _triple(stride, "stride") if stride is not None else k
    p, dl = _triple(padding, "padding"), _triple(dilation, "dilation")
    if return_indices:
        return _pool3d_indices(
            input,
            lambda t: max_pool2d(t, k[1:], s[1:], p[1:], dl[1:], ceil_mode, True),
            lambda t: max_pool1d(t, k[0], s[0], p[0], dl[0], ceil_mode, True),
            "max_pool3d",
        )
    return _pool3d(
        input,
        lambda t: max_pool2d(t, k[1:], s[1:], p[1:], dl[1:], ceil_mode),
        lambda t: max_pool1d(t, k[0], s[0], p[0], dl[0], ceil_mode),
        "max_pool3d",
    )


def max_pool3d_with_indices(input: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """max_pool3d(..., return_indices=True), torch's name.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.max_pool3d_with_indices(gc.ones(1, 1, 2, 2, 2), 2)[1].tolist()
        [[[[[0]]]]]
    """
    kwargs.pop("return_indices", None)
    return max_pool3d(input, *args, return_indices=True, **kwargs)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Adaptive 3-d average pooling (separable over (H, W) then D)."""
    x, _ = _batched5(input, "adaptive_avg_pool3d")
    o = _out3(output_size, x.shape[2:])
    return _pool3d(
        input,
        lambda t: adaptive_avg_pool2d(t, o[1:]),
        lambda t: adaptive_avg_pool1d(t, o[0]),
        "adaptive_avg_pool3d",
    )


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    """Adaptive 3-d max pooling (separable over (H, W) then D); with ``return_indices`` also the flat
    d * H * W + h * W + w argmax positions, as torch.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.adaptive_max_pool3d(gc.ones(1, 2, 4, 4, 4), (1, 2, 2)).shape
        (1, 2, 1, 2, 2)
    """
    from .layers_extra import adaptive_max_pool1d, adaptive_max_pool2d

    x, _ = _batched5(input, "adaptive_max_pool3d")
    o = _out3(output_size, x.shape[2:])
    if return_indices:
        return _pool3d_indices(
            input,
            lambda t: adaptive_max_pool2d(t, o[1:], True),
            lambda t: adaptive_max_pool1d(t, o[0], True),
            "adaptive_max_pool3d",
        )
    return _pool3d(
        input,
        lambda t: adaptive_max_pool2d(t, o[1:]),
        lambda t: adaptive_max_pool1d(t, o[0]),
        "adaptive_max_pool3d",
    )


def _out3(output_size: Any, dhw: tuple[int, ...]) -> tuple[int, int, int]:
    sizes = (output_size,) * 3 if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(sizes) != 3:
        raise ValueError(f"output_size must have 3 entries, got {output_size!r}")
    return tuple(n if o is None else int(o) for o, n in zip(sizes, dhw))  # type: ignore[return-value]


class _Pool3d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, **kw: Any) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = (
            kernel_size,
            stride if stride is not None else kernel_size,
            padding,
        )
        for k, v in kw.items():
            setattr(self, k, v)


class AvgPool3d(_Pool3d):
    """3-d average pooling. Example: ``gc.nn.AvgPool3d(2)``."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__(
            kernel_size,
            stride,
            padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            divisor_override=divisor_override,
        )

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool3d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool3d(_Pool3d):
    """3-d max pooling (with ``return_indices``: (values, flat indices) for MaxUnpool3d).
    Example: ``gc.nn.MaxPool3d(2)``."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(
            kernel_size,
            stride,
            padding,
            dilation=dilation,
            return_indices=return_indices,
            ceil_mode=ceil_mode,
        )

    def forward(self, x: Tensor) -> Tensor:
        return max_pool3d(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AdaptiveAvgPool3d(Module):
    """Adaptive 3-d average pooling. Example: ``gc.nn.AdaptiveAvgPool3d(1)``."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool3d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool3d(AdaptiveAvgPool3d):
    """Adaptive 3-d max pooling (with ``return_indices``: (values, flat d * H * W + h * W + w indices))."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_max_pool3d(x, self.output_size, self.return_indices)


__all__ = [
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool3d",
    "AvgPool3d",
    "Conv3d",
    "MaxPool3d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool3d",
    "avg_pool3d",
    "conv3d",
    "max_pool3d",
    "max_pool3d_with_indices",
]
