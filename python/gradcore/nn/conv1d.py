"""1-d convolution: F.conv1d / F.conv_transpose1d and nn.Conv1d / nn.ConvTranspose1d, run as the 2-d
primitives on a unit-height view (N, C, 1, L), so they share the native kernels and their gradients."""

from __future__ import annotations

from typing import Any

from ..dtypes import DType
from ..tensor import Tensor
from .conv import _ConvNd, _pad_mode
from .conv_ops import ConvError, conv2d, conv_transpose2d

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


class _Conv1dBase(_ConvNd):
    """The 2-d layers' argument handling, parameters, init and repr with 1-tuples for the spatial
    arguments (kernel_size=(k,), as torch stores them)."""

    @staticmethod
    def _tuple(v: Any, what: str, name: str) -> tuple[int, ...]:
        return (_single(v, what, name),)


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
