"""Convolution layers: nn.Conv2d and nn.ConvTranspose2d (torch's arguments, weight layouts and init)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..creation import empty
from ..dtypes import DType
from ..ops_index import cat
from ..tensor import Tensor
from . import init
from .conv_ops import ConvError, Pair, _pair, _same_padding, conv2d, conv_transpose2d
from .module import Module, Parameter, factory_dtype

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolution layers share: arguments, parameters, torch's default init and repr. The
    spatial arguments are normalised by ``_tuple`` (pairs here; conv1d.py's layers take 1-tuples)."""

    transposed = False

    @staticmethod
    def _tuple(v: Any, what: str, name: str) -> tuple[int, ...]:
        return _pair(v, what, name)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Pair,
        stride: Pair,
        padding: Pair | str,
        dilation: Pair,
        groups: int,
        bias: bool,
        padding_mode: str,
        output_padding: Pair,
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
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible "
                f"by groups ({groups})"
            )
        if padding_mode not in _PADDING_MODES:
            raise ConvError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        if padding_mode != "zeros" and self.transposed:
            raise ConvError(f"{name}: only 'zeros' padding mode is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = self._tuple(kernel_size, "kernel_size", name)
        self.stride = self._tuple(stride, "stride", name)
        self.dilation = self._tuple(dilation, "dilation", name)
        self.output_padding = self._tuple(output_padding, "output_padding", name)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ConvError(f"{name}: invalid padding string {padding!r} (expected 'valid' or 'same')")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ConvError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding: tuple[int, ...] | str = padding
        else:
            self.padding = self._tuple(padding, "padding", name)
        self.groups, self.padding_mode = groups, padding_mode
        if min(self.kernel_size) <= 0:
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
        """torch's default: weight ~ kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        and the bias from the same bound (fan_in from the weight's dims 1..3, as torch computes it)."""
        _reset_conv_parameters(self.weight, self.bias)

    def extra_repr(self) -> str:
        return _conv_extra_repr(self)


def _reset_conv_parameters(weight: Parameter, bias: Parameter | None) -> None:
    """torch's default convolution init (kaiming_uniform(a=sqrt(5)) weight, bias from U(+-1/sqrt(fan_in))),
    shared by the 1-d, 2-d and 3-d layers."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


def _conv_extra_repr(m: Module) -> str:
    """torch's repr of a convolution layer of any rank: the arguments that differ from their defaults."""
    n = len(m.kernel_size)
    zeros, ones = (0,) * n, (1,) * n
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    if m.padding != zeros:
        s += f", padding={m.padding}"
    if m.dilation != ones:
        s += f", dilation={m.dilation}"
    if getattr(m, "output_padding", zeros) != zeros:
        s += f", output_padding={m.output_padding}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    if m.padding_mode != "zeros":
        s += f", padding_mode={m.padding_mode}"
    return s


class Conv2d(_ConvNd):
    """2-d convolution over (N, C, H, W) or (C, H, W) inputs, as ``torch.nn.Conv2d``: weight of shape
    (out_channels, in_channels / groups, *kernel_size), bias of shape (out_channels,).

    Example:
        >>> import gradcore as gc
        >>> conv = gc.nn.Conv2d(1, 32, 3, padding=1)
        >>> conv(gc.zeros(8, 1, 28, 28)).shape
        (8, 32, 28, 28)
        >>> conv
        Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Pair,
        stride: Pair = 1,
        padding: Pair | str = 0,
        dilation: Pair = 1,
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
        if self.padding_mode == "zeros":
            pad = self.padding
            return conv2d(input, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)
        if not isinstance(input, Tensor) or input.ndim not in (3, 4):
            return conv2d(input, self.weight, self.bias)  # raises the usual type or rank error
        if self.padding == "same":
            left, right = _same_padding(self.weight, self.dilation)
        else:
            left = right = (0, 0) if self.padding == "valid" else self.padding
        x = _pad_mode(input, left, right, self.padding_mode)
        return conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _pad_mode(
    x: Tensor, left: tuple[int, ...], right: tuple[int, ...], mode: str, name: str = "Conv2d"
) -> Tensor:
    """x padded along its last len(left) dims (two for Conv2d, three for Conv3d) by (left, right) with
    torch's 'reflect', 'replicate' or 'circular' rule, built from slices, flips and cat so the gradient
    flows back through it."""
    for i, (lo, hi) in enumerate(zip(left, right)):
        dim = x.ndim - len(left) + i
        n = x.shape[dim]
        if lo == 0 and hi == 0:
            continue
        limit = n if mode == "circular" else n - 1 if mode == "reflect" else None
        if limit is not None and max(lo, hi) > limit:
            raise ConvError(
                f"{name}: padding ({lo}, {hi}) is too large for padding_mode={mode!r} on an input of "
                f"size {n} along dim {dim} (at most {limit})"
            )

        def part(a: int, b: int, dim: int = dim, x: Tensor = x) -> Tensor:  # x[..., a:b] along dim
            return x[(slice(None),) * dim + (slice(a, b),)]

        if mode == "reflect":
            pieces = [part(1, lo + 1).flip(dim), x, part(n - hi - 1, n - 1).flip(dim)]
        elif mode == "replicate":
            shape = list(x.shape)
            pieces = [
                part(0, 1).expand(*shape[:dim], lo, *shape[dim + 1 :]),
                x,
                part(n - 1, n).expand(*shape[:dim], hi, *shape[dim + 1 :]),
            ]
        else:  # circular
            pieces = [part(n - lo, n), x, part(0, hi)]
        x = cat([p for p in pieces if p.shape[dim] > 0], dim=dim)
    return x


class ConvTranspose2d(_ConvNd):
    """2-d transposed convolution, as ``torch.nn.ConvTranspose2d``: weight of shape
    (in_channels, out_channels / groups, *kernel_size). ``forward(input, output_size=None)``: an
    ``output_size`` picks the output_padding that gives that size, as in torch.

    Example:
        >>> import gradcore as gc
        >>> up = gc.nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1)
        >>> up(gc.zeros(8, 32, 7, 7)).shape
        (8, 16, 14, 14)
    """

    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Pair,
        stride: Pair = 1,
        padding: Pair = 0,
        output_padding: Pair = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Pair = 1,
        padding_mode: str = "zeros",
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        if isinstance(padding, str):
            raise ConvError(f"ConvTranspose2d: padding must be an int or a pair of ints, got {padding!r}")
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

    def _output_padding(self, input: Tensor, output_size: Sequence[int] | None) -> tuple[int, int]:
        if output_size is None:
            return self.output_padding
        size = tuple(int(s) for s in output_size)[-2:]
        if len(size) != 2:
            raise ConvError(f"ConvTranspose2d: output_size must have at least 2 entries, got {output_size!r}")
        out = []
        for i in range(2):
            n = input.shape[-2 + i]
            smallest = (
                (n - 1) * self.stride[i]
                - 2 * self.padding[i]
                + self.dilation[i] * (self.kernel_size[i] - 1)
                + 1
            )
            extra = size[i] - smallest
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                largest = smallest + max(self.stride[i], self.dilation[i]) - 1
                raise ConvError(
                    f"ConvTranspose2d: requested an output size of {size}, but valid sizes range from "
                    f"{smallest} to {largest} along dim {i} (for an input of {tuple(input.shape[-2:])})"
                )
            out.append(extra)
        return out[0], out[1]

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


__all__ = ["Conv2d", "ConvTranspose2d"]
