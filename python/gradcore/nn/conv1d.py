"""1-d convolution: F.conv1d / F.conv_transpose1d and nn.Conv1d / nn.ConvTranspose1d, run as the 2-d
primitives on a unit-height view (N, C, 1, L), so they share the native kernels and their gradients."""

from __future__ import annotations

import math
from typing import Any

from ..creation import empty
from ..dtypes import DType
from ..tensor import Tensor
from . import init
from .conv import _pad_mode
from .conv_ops import ConvError, conv2d, conv_transpose2d
from .module import Module, Parameter, factory_dtype

Single = int | tuple[int]


def _single(v: Any, name: str, op: str) -> int:
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ConvError(f"{op}: {name} must be an int or a 1-tuple, got {v!r}")
        v = v[0]
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise ConvError(f"{op}: {name} must be an int or a 1-tuple, got {v!r}")
    return int(v)


def _as_2d(input: Any, weight: Any, op: str) -> tuple[Tensor, Tensor]:
    """input (N, C, L) or (C, L) -> (N, C, 1, L) or (C, 1, L); weight (A, B, K) -> (A, B, 1, K)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a Tensor, got {type(weight).__name__}")
    if input.ndim not in (2, 3):
        raise ConvError(
            f"{op}: expected a 2-d (unbatched) or 3-d (batched) input, got shape {tuple(input.shape)}"
        )
    if weight.ndim != 3:
        raise ConvError(f"{op}: weight must be 3-d, got weight of shape {tuple(weight.shape)}")
    return input.unsqueeze(-2), weight.unsqueeze(-2)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Single = 1,
    padding: Single | str = 0,
    dilation: Single = 1,
    groups: int = 1,
) -> Tensor:
    """1-d convolution (cross-correlation, as torch) over an (N, C, L) or (C, L) input with a weight of
    shape (O, C / groups, K); ``padding`` is an int, "valid" or "same" (stride 1).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.conv1d(gc.ones(2, 3, 10), gc.ones(4, 3, 3), padding=1).shape
        (2, 4, 10)
    """
    op = "conv1d"
    x, w = _as_2d(input, weight, op)
    s, d = _single(stride, "stride", op), _single(dilation, "dilation", op)
    pad = padding if isinstance(padding, str) else (0, _single(padding, "padding", op))
    return conv2d(x, w, bias, (1, s), pad, (1, d), groups).squeeze(-2)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Single = 1,
    padding: Single = 0,
    output_padding: Single = 0,
    groups: int = 1,
    dilation: Single = 1,
) -> Tensor:
    """1-d transposed convolution over an (N, C, L) or (C, L) input with a weight of shape
    (C, O / groups, K); output length
    (L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.conv_transpose1d(gc.ones(1, 4, 5), gc.ones(4, 2, 3), stride=2).shape
        (1, 2, 11)
    """
    op = "conv_transpose1d"
    x, w = _as_2d(input, weight, op)
    if isinstance(padding, str):
        raise ConvError(f"{op}: padding must be an int, got {padding!r}")
    args = [
        _single(v, n, op)
        for v, n in (
            (stride, "stride"),
            (padding, "padding"),
            (output_padding, "output_padding"),
            (dilation, "dilation"),
        )
    ]
    s, p, op_, d = args
    return conv_transpose2d(x, w, bias, (1, s), (0, p), (0, op_), groups, (1, d)).squeeze(-2)


class _Conv1dBase(Module):
    transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Single,
        stride: Single,
        padding: Any,
        dilation: Single,
        groups: int,
        bias: bool,
        padding_mode: str,
        output_padding: Single,
        device: str | None,
        dtype: DType | str | None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        dtype = factory_dtype(dtype, name)
        for what, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if what == "groups" else 0):
                raise ConvError(
                    f"{name}: {what} must be a {'positive' if what == 'groups' else 'non-negative'} "
                    f"int, got {v!r}"
                )
        if in_channels % groups or out_channels % groups:
            raise ConvError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                f"divisible by groups ({groups})"
            )
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ConvError(
                f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                f"got {padding_mode!r}"
            )
        if padding_mode != "zeros" and self.transposed:
            raise ConvError(f"{name}: only 'zeros' padding mode is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = (_single(kernel_size, "kernel_size", name),)
        self.stride = (_single(stride, "stride", name),)
        self.dilation = (_single(dilation, "dilation", name),)
        self.output_padding = (_single(output_padding, "output_padding", name),)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ConvError(f"{name}: invalid padding string {padding!r} (expected 'valid' or 'same')")
            if padding == "same" and self.stride != (1,):
                raise ConvError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding: tuple[int] | str = padding
        else:
            self.padding = (_single(padding, "padding", name),)
        self.padding_mode = padding_mode
        if self.kernel_size[0] <= 0:
            raise ConvError(f"{name}: kernel_size must be positive, got {self.kernel_size}")
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(empty(shape, dtype=dtype))
        self.bias = Parameter(empty((out_channels,), dtype=dtype)) if bias else None
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        """torch's default init: kaiming_uniform(a=sqrt(5)) weight, bias from U(+-1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_Conv1dBase):
    """1-d convolution over (N, C, L) or (C, L) inputs, as ``torch.nn.Conv1d``: weight of shape
    (out_channels, in_channels / groups, kernel_size).

    Example:
        >>> import gradcore as gc
        >>> conv = gc.nn.Conv1d(3, 8, 5, padding=2)
        >>> conv(gc.zeros(4, 3, 20)).shape
        (4, 8, 20)
        >>> conv
        Conv1d(3, 8, kernel_size=(5,), stride=(1,), padding=(2,))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Single,
        stride: Single = 1,
        padding: Single | str = 0,
        dilation: Single = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            0,
            device,
            dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        pad = self.padding if isinstance(self.padding, str) else self.padding[0]
        if self.padding_mode == "zeros":
            return conv1d(input, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)
        if not isinstance(input, Tensor) or input.ndim not in (2, 3):
            return conv1d(input, self.weight, self.bias)  # raises the usual type or rank error
        if pad == "same":
            total = self.dilation[0] * (self.kernel_size[0] - 1)
            left, right = total // 2, total - total // 2
        else:
            left = right = 0 if pad == "valid" else pad
        x = _pad_mode(input.unsqueeze(-2), (0, left), (0, right), self.padding_mode).squeeze(-2)
        return conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose1d(_Conv1dBase):
    """1-d transposed convolution, as ``torch.nn.ConvTranspose1d``: weight of shape
    (in_channels, out_channels / groups, kernel_size).

    Example:
        >>> import gradcore as gc
        >>> up = gc.nn.ConvTranspose1d(8, 4, 4, stride=2, padding=1)
        >>> up(gc.zeros(2, 8, 10)).shape
        (2, 4, 20)
    """

    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Single,
        stride: Single = 1,
        padding: Single = 0,
        output_padding: Single = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Single = 1,
        padding_mode: str = "zeros",
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        if isinstance(padding, str):
            raise ConvError(f"ConvTranspose1d: padding must be an int, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            device,
            dtype,
        )

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        out_pad = self.output_padding[0]
        if output_size is not None:
            size = int(tuple(output_size)[-1])
            n = input.shape[-1]
            smallest = (
                (n - 1) * self.stride[0]
                - 2 * self.padding[0]
                + self.dilation[0] * (self.kernel_size[0] - 1)
                + 1
            )
            out_pad = size - smallest
            if not 0 <= out_pad < max(self.stride[0], self.dilation[0]):
                raise ConvError(
                    f"ConvTranspose1d: requested an output size of {size}, but valid sizes range from "
                    f"{smallest} to {smallest + max(self.stride[0], self.dilation[0]) - 1}"
                )
        return conv_transpose1d(
            input, self.weight, self.bias, self.stride, self.padding, out_pad, self.groups, self.dilation
        )


__all__ = ["Conv1d", "ConvTranspose1d", "conv1d", "conv_transpose1d"]
