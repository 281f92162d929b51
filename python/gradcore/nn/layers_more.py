"""More torch layers built from existing ops: LPPool1d/2d, MaxUnpool1d/2d, ChannelShuffle, LocalResponseNorm,
the 3-d pads, RReLU, and the functions behind them (plus pdist, gumbel_softmax and the *_with_indices
names of the max pools)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..creation import rand_like
from ..ops_index import where
from ..tensor import Tensor
from .distance import _norm
from .layers_extra import _ModePad, _PadNd, adaptive_max_pool1d, adaptive_max_pool2d
from .module import Module
from .pool_functions import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .pool_functions import pad as _pad


def _tuple(v: Any, n: int, name: str) -> tuple[int, ...]:
    t = (v,) * n if isinstance(v, int) else tuple(int(i) for i in v)
    if len(t) != n:
        raise ValueError(f"{name} must be an int or a {n}-tuple, got {v!r}")
    return t


# ---------------------------------------------------------------- power-average pooling


def _lp(out: Tensor, window: int, norm_type: float) -> Tensor:
    """torch's (sign(out) * relu(|out|)) * window) ** (1 / p) on the pooled p-th powers."""
    return ((out.sign() * out.abs().relu()) * window) ** (1.0 / norm_type)


def lp_pool1d(
    input: Tensor, norm_type: float, kernel_size: int, stride: int | None = None, ceil_mode: bool = False
) -> Tensor:
    """(sum over each window of x ** p) ** (1 / p) along the last dim, as ``F.lp_pool1d``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.lp_pool1d(gc.tensor([[[3.0, 4.0]]]), 2, 2).tolist()
        [[[5.0]]]
    """
    k = _tuple(kernel_size, 1, "kernel_size")[0]
    out = avg_pool1d(input**norm_type, k, stride if stride is not None else k, 0, ceil_mode)
    return _lp(out, k, norm_type)


def lp_pool2d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """(sum over each window of x ** p) ** (1 / p), as ``F.lp_pool2d``."""
    kh, kw = _tuple(kernel_size, 2, "kernel_size")
    out = avg_pool2d(input**norm_type, (kh, kw), stride if stride is not None else (kh, kw), 0, ceil_mode)
    return _lp(out, kh * kw, norm_type)


class LPPool1d(Module):
    """Power-average pooling over the last dim. Example: ``gc.nn.LPPool1d(2, 3, stride=2)``."""

    def __init__(
        self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
    ) -> None:
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = (
            norm_type,
            kernel_size,
            stride,
            ceil_mode,
        )

    def forward(self, x: Tensor) -> Tensor:
        return lp_pool1d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool2d(LPPool1d):
    """Power-average pooling over the last two dims. Example: ``gc.nn.LPPool2d(2, (3, 2))``."""

    def forward(self, x: Tensor) -> Tensor:
        return lp_pool2d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


# ---------------------------------------------------------------- max unpooling


def _unpool(
    input: Tensor, indices: Tensor, kernel: tuple, stride: tuple, padding: tuple, output_size: Any, name: str
) -> Tensor:
    k = len(kernel)
    if input.ndim not in (k + 1, k + 2):
        raise ValueError(f"{name}: expected a {k + 1}-d or {k + 2}-d input, got shape {tuple(input.shape)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise ValueError(
            f"{name}: indices {tuple(indices.shape)} must have the input's shape {tuple(input.shape)}"
        )
    spatial = tuple(input.shape[-k:])
    default = tuple((n - 1) * s - 2 * p + kk for n, s, p, kk in zip(spatial, stride, padding, kernel))
    if output_size is None:
        out = default
    else:
        out = tuple(int(s) for s in tuple(output_size)[-k:])
        if len(out) != k:
            raise ValueError(f"{name}: output_size must have {k} entries, got {output_size!r}")
        for o, d, s in zip(out, default, stride):
            if not d - s < o < d + s:
                raise ValueError(
                    f"{name}: invalid output_size {tuple(output_size)} (expected sizes within "
                    f"(default - stride, default + stride), default {default})"
                )
    lead = tuple(input.shape[:-k])
    n_out = int(np.prod(out))
    flat_idx = indices.reshape(lead + (-1,))
    if flat_idx.numel() and (int(flat_idx.min().item()) < 0 or int(flat_idx.max().item()) >= n_out):
        raise IndexError(f"{name}: an index is out of range for an output of spatial size {out}")
    zeros = input.new_zeros(lead + (n_out,))
    return zeros.scatter(len(lead), flat_idx, input.reshape(lead + (-1,))).reshape(lead + out)


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The inverse of max_pool1d with ``return_indices``: each value back at its index, zeros elsewhere.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> y, i = F.max_pool1d(gc.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, return_indices=True)
        >>> F.max_unpool1d(y, i, 2).tolist()
        [[[0.0, 3.0, 2.0, 0.0]]]
    """
    k = _tuple(kernel_size, 1, "kernel_size")
    s = _tuple(stride, 1, "stride") if stride is not None else k
    return _unpool(input, indices, k, s, _tuple(padding, 1, "padding"), output_size, "max_unpool1d")


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The inverse of max_pool2d with ``return_indices`` (flat h * W + w indices), zeros elsewhere."""
    k = _tuple(kernel_size, 2, "kernel_size")
    s = _tuple(stride, 2, "stride") if stride is not None else k
    return _unpool(input, indices, k, s, _tuple(padding, 2, "padding"), output_size, "max_unpool2d")


def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The inverse of max_pool3d with ``return_indices`` (flat d * H * W + h * W + w indices), zeros
    elsewhere.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> y, i = F.max_pool3d(gc.arange(8.0).reshape(1, 1, 2, 2, 2), 2, return_indices=True)
        >>> F.max_unpool3d(y, i, 2).reshape(-1).tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]
    """
    k = _tuple(kernel_size, 3, "kernel_size")
    s = _tuple(stride, 3, "stride") if stride is not None else k
    return _unpool(input, indices, k, s, _tuple(padding, 3, "padding"), output_size, "max_unpool3d")


class MaxUnpool1d(Module):
    """Inverse of MaxPool1d: ``unpool(pooled, indices, output_size=None)``."""

    dims = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        d = self.dims
        self.kernel_size = _tuple(kernel_size, d, "kernel_size")
        self.stride = _tuple(stride, d, "stride") if stride is not None else self.kernel_size
        self.padding = _tuple(padding, d, "padding")

    def forward(self, input: Tensor, indices: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        fn = {1: max_unpool1d, 2: max_unpool2d, 3: max_unpool3d}[self.dims]
        return fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(MaxUnpool1d):
    """Inverse of MaxPool2d. Example: ``gc.nn.MaxUnpool2d(2)(pooled, indices)``."""

    dims = 2


class MaxUnpool3d(MaxUnpool1d):
    """Inverse of MaxPool3d. Example: ``gc.nn.MaxUnpool3d(2)(pooled, indices)``."""

    dims = 3


# ---------------------------------------------------------------- channel shuffle, LRN, pdist


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g * k, *) -> channels reordered as (k, g), ShuffleNet's shuffle.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.channel_shuffle(gc.arange(4.0).reshape(1, 4, 1), 2).reshape(-1).tolist()
        [0.0, 2.0, 1.0, 3.0]
    """
    if input.ndim < 3:
        raise ValueError(
            f"channel_shuffle expects input with > 2 dims, but got input with sizes {tuple(input.shape)}"
        )
    n, c, *rest = input.shape
    if groups <= 0 or c % groups:
        raise ValueError(
            f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups."
        )
    x = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return x.reshape(n, c, *rest)


class ChannelShuffle(Module):
    """Shuffles the channels of (N, C, *) inputs across ``groups``."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: Tensor) -> Tensor:
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels) ** beta, as torch's.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.local_response_norm(gc.ones(1, 4, 2, 2), 2).shape
        (1, 4, 2, 2)
    """
    if input.ndim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions) for "
            "local_response_norm"
        )
    if input.numel() == 0:
        return input * 1.0
    n, c = input.shape[:2]
    sq = (input * input).reshape(n, 1, c, -1)
    sq = _pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k) ** beta


class LocalResponseNorm(Module):
    """Local response normalization across channels (AlexNet)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Tensor) -> Tensor:
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The p-norm distances between all row pairs i < j of an (N, M) input, in row-major order.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.pdist(gc.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])).tolist()
        [5.0, 1.0, 4.242640495300293]
    """
    if input.ndim != 2:
        raise ValueError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise ValueError("pdist only supports non-negative p values")
    i, j = np.triu_indices(input.shape[0], k=1)
    ii = Tensor(i.astype(np.int64), device=input.device)
    jj = Tensor(j.astype(np.int64), device=input.device)
    diff = input.index_select(0, ii) - input.index_select(0, jj)
    return _norm(diff, p, 1).reshape(-1)


# ---------------------------------------------------------------- sampling activations


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: negative inputs times a slope drawn from U(lower, upper) per element while
    training, times (lower + upper) / 2 in eval.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.rrelu(gc.tensor([-2.0, 1.0]), 0.25, 0.75).tolist()
        [-1.0, 1.0]
    """
    if training:
        slope = rand_like(input) * (upper - lower) + lower
    else:
        slope = (lower + upper) / 2
    return where(input >= 0, input, input * slope)


class RReLU(Module):
    """Randomized leaky ReLU. Example: ``gc.nn.RReLU(0.1, 0.3)``."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, x: Tensor) -> Tensor:
        return rrelu(x, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """softmax((logits + Gumbel noise) / tau) along ``dim``; ``hard`` returns one-hot samples whose gradient
    is the soft one's (straight-through), as ``F.gumbel_softmax``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> y = F.gumbel_softmax(gc.zeros(4, 3), hard=True)
        >>> y.sum(dim=-1).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    from .functional import softmax

    u = rand_like(logits)
    exponential = -(1.0 - u).log()  # Exp(1) draws; 1 - u is in (0, 1]
    gumbels = -(exponential.clamp(min=1e-30)).log()
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim=dim, keepdim=True)
    y_hard = logits.new_zeros(tuple(logits.shape)).scatter(dim % logits.ndim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# ---------------------------------------------------------------- 3-d pads and the *_with_indices names


class ZeroPad3d(_PadNd):
    """Pads the last three dims with zeros."""

    dims = 3

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad3d(_PadNd):
    """Pads the last three dims with ``value``."""

    dims = 3

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding, value)


class ReflectionPad3d(_ModePad):
    """Pads the last three dims with their reflection."""

    mode, dims = "reflect", 3


class ReplicationPad3d(_ModePad):
    """Pads the last three dims by repeating the edges."""

    mode, dims = "replicate", 3


class CircularPad3d(_ModePad):
    """Pads the last three dims by wrapping around."""

    mode, dims = "circular", 3


def max_pool1d_with_indices(input: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """max_pool1d(..., return_indices=True), torch's name."""
    kwargs.pop("return_indices", None)
    return max_pool1d(input, *args, return_indices=True, **kwargs)


def max_pool2d_with_indices(input: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """max_pool2d(..., return_indices=True), torch's name."""
    kwargs.pop("return_indices", None)
    return max_pool2d(input, *args, return_indices=True, **kwargs)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """adaptive_max_pool1d with its indices, torch's name."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """adaptive_max_pool2d with its indices, torch's name."""
    return adaptive_max_pool2d(input, output_size, True)


__all__ = [
    "ChannelShuffle",
    "CircularPad3d",
    "ConstantPad3d",
    "LPPool1d",
    "LPPool2d",
    "LocalResponseNorm",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "RReLU",
    "ReflectionPad3d",
    "ReplicationPad3d",
    "ZeroPad3d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "channel_shuffle",
    "gumbel_softmax",
    "local_response_norm",
    "lp_pool1d",
    "lp_pool2d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "pdist",
    "rrelu",
]
