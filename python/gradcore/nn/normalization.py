"""Normalization: layer_norm / batch_norm functions and the LayerNorm / BatchNorm1d / BatchNorm2d modules."""

from __future__ import annotations

from collections.abc import Sequence

from .. import backend
from ..autograd import Function, is_grad_enabled, no_grad
from ..creation import ones, zeros
from ..dtypes import DType, int64
from ..tensor import Tensor
from .batchnorm_ops import BatchNormEval, BatchNormTrain
from .module import Module, Parameter, factory_dtype
from .norm_ops import LayerNormRows


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


class _BatchNormCore(Function):
    """xhat = (x - mean) / sqrt(var + eps) with per-channel batch statistics over ``axes`` (biased variance),
    which are appended to ``stats_out``. Its gradient is the closed form rstd * (g - mean(g) - xhat *
    mean(g * xhat)): a few passes instead of autograd through every step of the normalization. Under
    create_graph it is recomputed from x in Tensor ops, so double backward works."""

    def forward(self, x, axes, eps, stats_out):
        with no_grad():
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=axes, keepdims=True)
            rstd = 1.0 / (var + eps).sqrt()
            xhat = centered * rstd
        stats_out.extend((mean, var))
        self.save(x, axes, eps, xhat, rstd)
        return xhat._data

    def backward(self, g):
        x, axes, eps, xhat, rstd = self.saved
        if is_grad_enabled():  # create_graph: the same formula on statistics recomputed with x's graph
            centered = x - x.mean(axis=axes, keepdims=True)
            rstd = 1.0 / ((centered * centered).mean(axis=axes, keepdims=True) + eps).sqrt()
            xhat = centered * rstd
        mean_g, mean_gx = g.mean(axis=axes, keepdims=True), (g * xhat).mean(axis=axes, keepdims=True)
        return rstd * (g - mean_g - xhat * mean_gx)


def layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int] | int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes over the trailing ``normalized_shape`` dims (biased variance), then scales and shifts.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> [round(v, 4) for v in F.layer_norm(gc.tensor([[1.0, 3.0]]), (2,)).tolist()[0]]
        [-1.0, 1.0]
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.shape[input.ndim - k :] != shape or input.ndim < k:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} must match the trailing dims of input {input.shape}"
        )
    if not input.dtype.is_floating:
        raise TypeError(f"layer_norm needs a float tensor, got {input.dtype}")
    if input.numel() == 0:
        out = input * 1.0
    else:  # the native row kernel over the flattened normalized dims
        out = LayerNormRows.apply(input.reshape(-1, _prod(shape)), eps=float(eps)).reshape(input.shape)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes each channel (dim 1) of (N, C, ...) input by batch statistics while training
    (updating the running stats in place with the unbiased variance, as torch) or by the running stats.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> out = F.batch_norm(gc.tensor([[1.0], [3.0]]), None, None, training=True)
        >>> [round(row[0], 4) for row in out.tolist()]
        [-1.0, 1.0]
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects (N, C, ...) input (2 or more dims), got shape {input.shape}")
    if not input.dtype.is_floating:
        raise TypeError(f"batch_norm needs a float tensor, got {input.dtype}")
    c = input.shape[1]
    named = (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var))
    for name, t in named:
        if t is not None and t.shape != (c,):
            raise ValueError(
                f"batch_norm: {name} must have shape ({c},) (one value per channel of input {input.shape}), "
                f"got {t.shape}"
            )
    if not training and (running_mean is None or running_var is None):  # torch's message
        raise RuntimeError("running_mean must be defined in evaluation mode (batch_norm with training=False)")
    count = input.numel() // c if c else 0
    if training and count == 1:  # torch checks N * prod(spatial) == 1 (an empty batch is allowed)
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {input.shape}"
        )
    params = [t for t in (weight, bias, running_mean, running_var) if t is not None]
    native = count > 0 and all(t.dtype is input.dtype and t.device == input.device for t in params)
    if not native:  # empty input, or parameters of another dtype (autocast): the composite in Tensor ops
        stats_in = (running_mean, running_var)
        return _batch_norm_composite(input, *stats_in, weight, bias, training, momentum, eps, count)
    # The kernels take every per-channel operand; absent affine parameters are the identity's.
    w = weight if weight is not None else ones((c,), dtype=input.dtype, device=input.device)
    b = bias if bias is not None else zeros((c,), dtype=input.dtype, device=input.device)
    if not training:
        rm, rv = running_mean, running_var
        return BatchNormEval.apply(input, w, b, running_mean=rm, running_var=rv, eps=float(eps))
    stats: list = []
    out = BatchNormTrain.apply(input, w, b, eps=float(eps), stats_out=stats)
    if running_mean is not None and running_var is not None:
        _update_running(running_mean, running_var, stats, float(momentum), count)
    return out


def _update_running(
    running_mean: Tensor, running_var: Tensor, stats: list, momentum: float, count: int
) -> None:
    """torch's update in place: running = (1 - momentum) * running + momentum * batch statistic, with the
    unbiased variance (count / (count - 1)) in running_var."""
    be = backend.get(running_mean.device)
    if be.is_contiguous(running_mean._data) and be.is_contiguous(running_var._data):
        backend.kernel(running_mean.device, "batchnorm_update_running")(
            stats[0], stats[1], running_mean._data, running_var._data, momentum, count
        )
        running_mean._bump_version()
        running_var._bump_version()
        return
    with no_grad():  # strided buffers: the same update through copy_
        mean = Tensor._wrap(stats[0], running_mean.device)
        unbiased = Tensor._wrap(stats[1], running_mean.device) * (count / (count - 1))
        running_mean.copy_(running_mean * (1.0 - momentum) + mean * momentum)
        running_var.copy_(running_var * (1.0 - momentum) + unbiased * momentum)


def _batch_norm_composite(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
    count: int,
) -> Tensor:
    """batch_norm in Tensor ops, for empty input (torch leaves the running stats alone then) and for
    parameters whose dtype differs from the input's."""
    axes = (0,) + tuple(range(2, input.ndim))  # every dim but the channels
    bshape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if count == 0:
        out = input * 1.0
    elif training:
        stats: list[Tensor] = []
        out = _BatchNormCore.apply(input, axes=axes, eps=float(eps), stats_out=stats)
        if running_mean is not None and running_var is not None:
            mean, var = stats
            with no_grad():
                m = float(momentum)
                unbiased = var.reshape(-1) * (count / (count - 1))
                running_mean.copy_(running_mean * (1.0 - m) + mean.reshape(-1) * m)
                running_var.copy_(running_var * (1.0 - m) + unbiased * m)
    else:
        out = (input - running_mean.reshape(bshape)) / (running_var.reshape(bshape) + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` dims, with a learned elementwise
    scale (ones) and shift (zeros) when ``elementwise_affine``.

    Example:
        >>> import gradcore as gc
        >>> gc.nn.LayerNorm(4)(gc.randn(2, 4)).shape
        (2, 4)
    """

    def __init__(
        self,
        normalized_shape: Sequence[int] | int,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        dtype = factory_dtype(dtype, "LayerNorm")
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, float(eps), elementwise_affine
        self.weight = Parameter(ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(zeros(shape, dtype=dtype)) if elementwise_affine and bias else None
        if device is not None:
            self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class _BatchNorm(Module):
    """Batch normalization per channel (dim 1), shared by BatchNorm1d / BatchNorm2d; keeps running mean/var
    buffers (updated with ``momentum``, or a cumulative average when momentum is None) used in eval mode."""

    _ranks: tuple[int, ...] = ()
    _layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        dtype = factory_dtype(dtype, type(self).__name__)
        self.num_features, self.eps, self.momentum = num_features, float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones((num_features,), dtype=dtype)) if affine else None
        self.bias = Parameter(zeros((num_features,), dtype=dtype)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros((num_features,), dtype=dtype))
            self.register_buffer("running_var", ones((num_features,), dtype=dtype))
            self.register_buffer("num_batches_tracked", zeros((), dtype=int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        if device is not None:
            self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            layout = self._layout.format(c=self.num_features)
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) expects {layout} input, got shape {x.shape}"
            )
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.copy_(self.num_batches_tracked + 1)
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or not self.track_running_stats
        return batch_norm(
            x,
            self.running_mean if not use_batch or self.training else None,
            self.running_var if not use_batch or self.training else None,
            self.weight,
            self.bias,
            use_batch,
            momentum,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input per channel; keeps running mean/var buffers
    (updated with ``momentum``, or a cumulative average when momentum is None) used in eval mode.

    Example:
        >>> import gradcore as gc
        >>> bn = gc.nn.BatchNorm1d(3)
        >>> bn(gc.randn(8, 3)).shape, [n for n, _ in bn.named_buffers()]
        ((8, 3), ['running_mean', 'running_var', 'num_batches_tracked'])
    """

    _ranks, _layout = (2, 3), "(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input per channel, statistics over N, H and W (torch's running
    stats: unbiased variance in running_var, biased variance to normalize).

    Example:
        >>> import gradcore as gc
        >>> bn = gc.nn.BatchNorm2d(3)
        >>> bn(gc.randn(4, 3, 5, 5)).shape, sorted(bn.state_dict())
        ((4, 3, 5, 5), ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight'])
    """

    _ranks, _layout = (4,), "(N, {c}, H, W)"
