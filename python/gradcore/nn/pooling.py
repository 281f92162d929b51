"""Pooling, upsampling, padding and reshaping modules: Max/AvgPool1d/2d, AdaptiveAvgPool2d, Upsample,
ZeroPad2d / ConstantPad2d / ReflectionPad2d / ReplicationPad2d and Unflatten, with torch's arguments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor
from .module import Module
from .pool_functions import (
    IntOrPair,
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    interpolate,
    max_pool1d,
    max_pool2d,
    pad,
)


class MaxPool2d(Module):
    """2-d max pooling (see ``F.max_pool2d``); ``stride`` defaults to ``kernel_size``.

    Example:
        >>> import gradcore as gc
        >>> gc.nn.MaxPool2d(2)(gc.randn(1, 3, 28, 28)).shape
        (1, 3, 14, 14)
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor) -> Any:
        return max_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """2-d average pooling (see ``F.avg_pool2d``); ``stride`` defaults to ``kernel_size``.

    Example:
        >>> import gradcore as gc
        >>> gc.nn.AvgPool2d(2)(gc.ones(1, 1, 4, 4)).tolist()
        [[[[1.0, 1.0], [1.0, 1.0]]]]
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(
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


class MaxPool1d(MaxPool2d):
    """1-d max pooling of (N, C, L) or (C, L) input (see ``F.max_pool1d``).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.MaxPool1d(2)(gc.randn(1, 3, 8)).shape
        (1, 3, 4)
    """

    def forward(self, x: Tensor) -> Any:
        return max_pool1d(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )


def _single(v: Any) -> tuple[int, ...]:
    """torch's 1-d pooling attributes are 1-tuples: kernel_size=(2,) in the repr."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class AvgPool1d(Module):
    """1-d average pooling of (N, C, L) or (C, L) input (see ``F.avg_pool1d``).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.AvgPool1d(2)(gc.ones(1, 1, 4)).tolist()
        [[[1.0, 1.0]]]
    """

    def __init__(
        self,
        kernel_size: int,
        stride: int | None = None,
        padding: int = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool1d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )

    def extra_repr(self) -> str:
        k, s, p = _single(self.kernel_size), _single(self.stride), _single(self.padding)
        return f"kernel_size={k}, stride={s}, padding={p}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (see ``F.adaptive_avg_pool2d``).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.AdaptiveAvgPool2d((1, 1))(gc.randn(2, 3, 5, 7)).shape
        (2, 3, 1, 1)
    """

    def __init__(self, output_size: IntOrPair | Sequence[int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    """Average pooling of (N, C, L) or (C, L) input to a fixed length (see ``F.adaptive_avg_pool1d``).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.AdaptiveAvgPool1d(1)(gc.ones(2, 3, 5)).shape
        (2, 3, 1)
    """

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class Upsample(Module):
    """Resizes the spatial dims with any ``F.interpolate`` mode ('nearest', 'nearest-exact', 'linear',
    'bilinear', 'bicubic', 'trilinear', 'area'), as ``torch.nn.Upsample``.

    Example:
        >>> import gradcore as gc
        >>> gc.nn.Upsample(scale_factor=2)(gc.randn(1, 3, 7, 7)).shape
        (1, 3, 14, 14)
    """

    def __init__(
        self,
        size: int | Sequence[int] | None = None,
        scale_factor: float | Sequence[float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        from .interpolate_linear import LINEAR_MODES

        if mode not in ("nearest", "nearest-exact") and mode not in LINEAR_MODES:
            raise NotImplementedError(
                f"Upsample: mode {mode!r} is not implemented (use 'nearest', 'nearest-exact', "
                + ", ".join(repr(m) for m in LINEAR_MODES) + ")"
            )
        if isinstance(scale_factor, tuple):  # stored as floats, as torch (its repr shows 2.0)
            scale_factor = tuple(float(f) for f in scale_factor)
        else:
            scale_factor = float(scale_factor) if scale_factor else None
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return interpolate(
            x, self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor
        )

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode='{self.mode}'"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) input, as ``torch.nn.UpsamplingNearest2d``.

    Example:
        >>> import gradcore as gc
        >>> gc.nn.UpsamplingNearest2d(scale_factor=2)(gc.ones(1, 1, 2, 3)).shape
        (1, 1, 4, 6)
    """

    def __init__(
        self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None
    ) -> None:
        super().__init__(size, scale_factor, mode="nearest")


def _pad4(padding: IntOrPair) -> tuple[int, ...]:
    return (padding,) * 4 if isinstance(padding, int) else tuple(padding)


class _Pad2d(Module):
    mode = "constant"

    def __init__(self, padding: IntOrPair) -> None:  # torch's: only ConstantPad2d takes a value
        super().__init__()
        self.padding, self.value = _pad4(padding), 0.0
        if len(self.padding) != 4:
            raise ValueError(f"{type(self).__name__}: padding must be an int or 4 ints, got {padding!r}")

    def forward(self, x: Tensor) -> Tensor:
        return pad(x, self.padding, self.mode, self.value if self.mode == "constant" else None)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(_Pad2d):
    """Zero padding of the last two dims: an int or (left, right, top, bottom).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.ZeroPad2d(1)(gc.ones(1, 2, 2)).shape
        (1, 4, 4)
    """


class ConstantPad2d(_Pad2d):
    """Padding of the last two dims with ``value``: an int or (left, right, top, bottom)."""

    def __init__(self, padding: IntOrPair, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ReflectionPad2d(_Pad2d):
    """Reflection padding of the last two dims (edges not repeated)."""

    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Edge-replicating padding of the last two dims."""

    mode = "replicate"


class Unflatten(Module):
    """Splits dim ``dim`` into ``unflattened_size`` (one entry may be -1), as ``torch.nn.Unflatten``.

    Example:
        >>> import gradcore as gc
        >>> gc.nn.Unflatten(1, (2, 4, 4))(gc.randn(3, 32)).shape
        (3, 2, 4, 4)
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
