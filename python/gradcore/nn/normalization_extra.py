"""GroupNorm, InstanceNorm1d/2d/3d and RMSNorm (modules and F.group_norm / F.instance_norm / F.rms_norm):
group and instance norm run the native layer-norm row kernel on (samples x groups) rows."""

from __future__ import annotations

from collections.abc import Sequence

from ..autograd import no_grad
from ..creation import ones, zeros
from ..dtypes import DType, finfo
from ..tensor import Tensor
from .module import Module, Parameter, factory_dtype
from .norm_ops import LayerNormRows


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """Per-channel (dim 1) scale and shift."""
    shape = (1, out.shape[1]) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _rows_norm(x: Tensor, rows: int, eps: float) -> Tensor:
    """x normalized over all but its first ``rows`` elements' worth: (rows, rest) rows of the kernel."""
    if x.numel() == 0:
        return x * 1.0
    return LayerNormRows.apply(x.reshape(rows, -1), eps=float(eps)).reshape(x.shape)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes each group of channels of an (N, C, ...) input over the group's channels and positions,
    then scales and shifts per channel.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.group_norm(gc.randn(2, 6, 4, 4), 3).shape
        (2, 6, 4, 4)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"group_norm: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected an (N, C, ...) input, got shape {tuple(input.shape)}")
    if not input.dtype.is_floating:
        raise TypeError(f"group_norm needs a float tensor, got {input.dtype}")
    c = input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise ValueError(
            f"group_norm: expected number of channels in input ({c}) to be divisible by "
            f"num_groups ({num_groups})"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"group_norm: {name} must have shape ({c},), got {tuple(t.shape)}")
    return _affine(_rows_norm(input, input.shape[0] * num_groups, eps), weight, bias)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes each channel of each sample of an (N, C, ...) input over its positions; with running
    stats given, updates them (mean over the batch, unbiased variance) or, with use_input_stats=False,
    normalizes by them.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.instance_norm(gc.randn(2, 3, 8)).shape
        (2, 3, 8)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"instance_norm: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an (N, C, L, ...) input, got shape {tuple(input.shape)}")
    n, c = input.shape[:2]
    count = input.numel() // max(n * c, 1)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        shape = (1, c) + (1,) * (input.ndim - 2)
        out = (input - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
        return _affine(out, weight, bias)
    if count <= 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when training, got input "
            f"of shape {tuple(input.shape)}"
        )
    if running_mean is not None and running_var is not None:
        with no_grad():
            axes = tuple(range(2, input.ndim))
            x = input.detach()
            mean = x.mean(axis=axes)
            var = ((x - mean.reshape(mean.shape + (1,) * len(axes))) ** 2).sum(axis=axes) / (count - 1)
            m = float(momentum)
            running_mean.copy_(running_mean * (1.0 - m) + mean.mean(axis=0) * m)
            running_var.copy_(running_var * (1.0 - m) + var.mean(axis=0) * m)
    return _affine(_rows_norm(input, n * c, eps), weight, bias)


def rms_norm(
    input: Tensor,
    normalized_shape: Sequence[int] | int,
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the trailing ``normalized_shape`` dims, times ``weight``; eps
    defaults to the dtype's machine epsilon, as torch.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> [round(v, 4) for v in F.rms_norm(gc.tensor([[3.0, 4.0]]), (2,)).tolist()[0]]
        [0.8485, 1.1314]
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k :]) != shape:
        raise ValueError(
            f"rms_norm: normalized_shape {shape} must match the trailing dims of input {tuple(input.shape)}"
        )
    if not input.dtype.is_floating:
        raise TypeError(f"rms_norm needs a float tensor, got {input.dtype}")
    e = finfo(input.dtype).eps if eps is None else float(eps)
    axes = tuple(range(input.ndim - k, input.ndim))
    out = input / ((input * input).mean(axis=axes, keepdims=True) + e).sqrt()
    return out * weight if weight is not None else out


class GroupNorm(Module):
    """Group normalization (Wu & He): ``num_groups`` groups of channels, per-channel affine.

    Example:
        >>> import gradcore as gc
        >>> gn = gc.nn.GroupNorm(2, 6)
        >>> gn(gc.randn(4, 6, 5)).shape, gn
        ((4, 6, 5), GroupNorm(2, 6, eps=1e-05, affine=True, bias=True))
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        dt = factory_dtype(dtype, "GroupNorm")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.has_bias = bias
        self.weight = Parameter(ones((num_channels,), dtype=dt)) if affine else None
        self.bias = Parameter(zeros((num_channels,), dtype=dt)) if affine and bias else None
        if device is not None:
            self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        head = f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
        return f"{head}, bias={self.bias is not None}"


class _InstanceNorm(Module):
    batched_ndim = 4

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: str | None = None,
        dtype: DType | str | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        dt = factory_dtype(dtype, type(self).__name__)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats, self.has_bias = affine, track_running_stats, bias
        self.weight = Parameter(ones((num_features,), dtype=dt)) if affine else None
        self.bias = Parameter(zeros((num_features,), dtype=dt)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros((num_features,), dtype=dt))
            self.register_buffer("running_var", ones((num_features,), dtype=dt))
        else:
            self.running_mean = self.running_var = None
        if device is not None:
            self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in (self.batched_ndim - 1, self.batched_ndim):
            raise ValueError(
                f"{name}: expected {self.batched_ndim - 1}-d (unbatched) or {self.batched_ndim}-d "
                f"input, got input of shape {tuple(x.shape)}"
            )
        unbatched = x.ndim == self.batched_ndim - 1
        if unbatched:
            x = x.unsqueeze(0)
        if x.shape[1] != self.num_features and self.affine:
            raise ValueError(f"{name}: expected input with {self.num_features} channels, got {x.shape[1]}")
        use_input_stats = self.training or not self.track_running_stats
        out = instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            self.momentum,
            self.eps,
        )
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or (C, L) inputs. Example: ``gc.nn.InstanceNorm1d(8)``."""

    batched_ndim = 3


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W) inputs (style transfer's norm).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.InstanceNorm2d(3, affine=True)(gc.randn(2, 3, 4, 4)).shape
        (2, 3, 4, 4)
    """

    batched_ndim = 4


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W) inputs."""

    batched_ndim = 5


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing ``normalized_shape`` dims with a learned scale.

    Example:
        >>> import gradcore as gc
        >>> gc.nn.RMSNorm(8)(gc.randn(2, 8)).shape
        (2, 8)
    """

    def __init__(
        self,
        normalized_shape: Sequence[int] | int,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        dt = factory_dtype(dtype, "RMSNorm")
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(ones(shape, dtype=dt)) if elementwise_affine else None
        if device is not None:
            self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


__all__ = [
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "RMSNorm",
    "group_norm",
    "instance_norm",
    "rms_norm",
]
