"""The functional losses, with PyTorch's argument names, reductions, weights and edge cases."""

from __future__ import annotations

import warnings

import numpy as np

from .. import ops
from ..autocast import float32_inputs
from ..creation import arange
from ..dtypes import int32, int64
from ..tensor import Tensor
from .loss_ops import BinaryCrossEntropyElementwise

_REDUCTIONS = ("none", "mean", "sum")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _as_target(pred: Tensor, target: Tensor, name: str, broadcast: bool = True) -> Tensor:
    """The target as a tensor of pred's dtype; differing shapes broadcast with a warning, as in torch."""
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target), dtype=pred.dtype, device=pred.device)
    if target.device != pred.device:
        raise RuntimeError(f"{name}: input on {pred.device} but target on {target.device}")
    if target.shape != pred.shape:
        if not broadcast:
            raise ValueError(
                f"{name}: target size {target.shape} must be the same as input size {pred.shape}"
            )
        ops.broadcast_shape(pred.shape, target.shape, name)
        warnings.warn(
            f"{name}: target size {target.shape} differs from input size {pred.shape}; they will be "
            "broadcast, which is likely not what you want",
            UserWarning,
            stacklevel=3,
        )
    if target.dtype is not pred.dtype:
        target = target.to(pred.dtype)
    return target


@float32_inputs  # autocast runs it in float32, as torch's
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced.

    Example: ``F.mse_loss(gc.tensor([1.0]), gc.tensor([3.0])).item() == 4.0``."""
    _check_reduction(reduction, "mse_loss")
    target = _as_target(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


@float32_inputs  # autocast runs it in float32, as torch's
def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced. Example: ``F.l1_loss(gc.tensor([1.0]), gc.tensor([3.0])).item() == 2.0``."""
    _check_reduction(reduction, "l1_loss")
    target = _as_target(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


@float32_inputs  # autocast runs it in float32, as torch's
def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0 is the L1 loss).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.smooth_l1_loss(gc.tensor([0.5, 3.0]), gc.zeros(2), reduction="sum").item()
        2.625
    """
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    target = _as_target(input, target, "smooth_l1_loss")
    d = input - target
    ad = d.abs()
    if beta == 0:
        return _reduce(ad, reduction)
    near = (ad.detach() < beta).to(input.dtype)
    return _reduce(near * (0.5 / beta) * d * d + (1.0 - near) * (ad - 0.5 * beta), reduction)


@float32_inputs  # autocast runs it in float32, as torch's
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.huber_loss(gc.tensor([0.5, 3.0]), gc.zeros(2), reduction="sum", delta=2.0).item()
        4.125
    """
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    target = _as_target(input, target, "huber_loss")
    d = input - target
    ad = d.abs()
    near = (ad.detach() <= delta).to(input.dtype)
    return _reduce(near * 0.5 * d * d + (1.0 - near) * delta * (ad - 0.5 * delta), reduction)


@float32_inputs  # autocast runs it in float32, as torch's
def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """-w (y log p + (1-y) log(1-p)) for probabilities p in [0, 1], as in PyTorch: logs are clamped at
    -100 so saturated outputs give a finite loss and gradient.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.binary_cross_entropy(gc.tensor([0.5, 1.0]), gc.tensor([1.0, 1.0])).item(), 4)
        0.3466
    """
    _check_reduction(reduction, "binary_cross_entropy")
    target = _as_target(input, target, "binary_cross_entropy", broadcast=False)
    if input.numel():
        lo, hi = float(input.detach().min()), float(input.detach().max())
        if not (lo >= 0.0 and hi <= 1.0):
            raise RuntimeError(
                f"binary_cross_entropy: all elements of input should be between 0 and 1, got values in "
                f"[{lo}, {hi}]"
            )
    if weight is None and reduction == "mean":
        return ops.BinaryCrossEntropy.apply(input, target)
    loss = BinaryCrossEntropyElementwise.apply(input, target)
    if weight is not None:
        loss = loss * _as_weight(weight, input, "binary_cross_entropy")
    return _reduce(loss, reduction)


def _as_weight(weight: Tensor, like: Tensor, name: str, broadcast: bool = True) -> Tensor:
    if not isinstance(weight, Tensor):
        weight = Tensor(np.asarray(weight), dtype=like.dtype, device=like.device)
    if weight.device != like.device:
        raise RuntimeError(f"{name}: input on {like.device} but weight on {weight.device}")
    if broadcast:
        ops.broadcast_shape(like.shape, weight.shape, name)
    return weight if weight.dtype is like.dtype else weight.to(like.dtype)


@float32_inputs  # autocast runs it in float32, as torch's
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE on sigmoid(input), stable for any logit: (1 - y) x + (1 + (pw - 1) y) softplus(-x), with
    softplus(-x) = max(-x, 0) + log(1 + exp(-|x|)); ``pos_weight`` scales the positive term per class.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.binary_cross_entropy_with_logits(gc.tensor([0.0]), gc.tensor([1.0])).item(), 4)
        0.6931
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    target = _as_target(input, target, "binary_cross_entropy_with_logits", broadcast=False)
    softplus_neg = (-input).relu() + (1.0 + (-input.abs()).exp()).log()
    if pos_weight is None:
        loss = (1.0 - target) * input + softplus_neg
    else:
        pw = _as_weight(pos_weight, input, "binary_cross_entropy_with_logits")
        loss = (1.0 - target) * input + (1.0 + (pw - 1.0) * target) * softplus_neg
    if weight is not None:
        loss = loss * _as_weight(weight, input, "binary_cross_entropy_with_logits")
    return _reduce(loss, reduction)


def _class_dim(input: Tensor, name: str) -> int:
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have at least 1 dim (C) or be (N, C, ...), got a 0-d tensor")
    return 0 if input.ndim == 1 else 1


def _check_class_targets(input: Tensor, target: Tensor, ignore_index: int, name: str) -> tuple[int, bool]:
    """Validates (N, d1, ...) int targets against (N, C, d1, ...) input; returns C and whether any
    target is ignore_index. Out-of-range targets raise IndexError naming the value, as in PyTorch.
    This reads the targets on the host (on CUDA, a sync)."""
    classes = _check_class_target_layout(input, target, name)
    t = target.numpy()
    ignored = t == ignore_index
    bad = ~ignored & ((t < 0) | (t >= classes))
    if bad.any():
        where = np.argwhere(bad)[0]
        at = f"row {int(where[0])}" if where.size == 1 else f"position {tuple(int(i) for i in where)}"
        raise IndexError(f"{name}: target {int(t[tuple(where)])} at {at} is out of range [0, {classes})")
    return classes, bool(ignored.any())


def _check_class_target_layout(input: Tensor, target: Tensor, name: str) -> int:
    """The checks of _check_class_targets that need no host read (type, dtype, device, shape); returns C."""
    if not isinstance(target, Tensor):
        raise TypeError(f"{name}: target must be a Tensor, got {type(target).__name__}")
    if target.dtype.is_floating:
        raise TypeError(f"{name}: class targets must be an int64 or int32 tensor, got {target.dtype}")
    if target.device != input.device:
        raise RuntimeError(f"{name}: input on {input.device} but target on {target.device}")
    cdim = _class_dim(input, name)
    expected = input.shape[:cdim] + input.shape[cdim + 1 :]
    if target.shape != expected:
        raise ValueError(
            f"{name}: targets must have shape {expected} to match input {input.shape} (input is (C,), (N, C) "
            f"or (N, C, d1, ...)), got {target.shape}"
        )
    return input.shape[cdim]


def _class_shape(input: Tensor, cdim: int) -> tuple[int, ...]:
    """Shape that puts a length-C vector on the class dim of input, for broadcasting."""
    return tuple(n if d == cdim else 1 for d, n in enumerate(input.shape))


def _nll_parts(
    logp: Tensor, target: Tensor, weight: Tensor | None, classes: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample -w[t] logp[t], the per-sample weight w[t] (0 where ignored) and the class mask."""
    cdim = _class_dim(logp, "nll_loss")
    idx = arange(classes, device=logp.device).to(target.dtype).reshape(_class_shape(logp, cdim))
    mask = (target.unsqueeze(cdim) == idx).to(logp.dtype)  # ignored targets match no class: a zero row
    if weight is not None:
        mask_w = mask * weight.reshape(_class_shape(logp, cdim))
    else:
        mask_w = mask
    return -(logp * mask_w).sum(axis=cdim), mask_w.sum(axis=cdim), mask


def _check_class_weight(weight: Tensor | None, input: Tensor, classes: int, name: str) -> Tensor | None:
    if weight is None:
        return None
    weight = _as_weight(weight, input, name, broadcast=False)
    if weight.shape != (classes,):
        raise ValueError(f"{name}: weight must have shape ({classes},), got {weight.shape}")
    return weight


@float32_inputs  # autocast runs it in float32, as torch's
def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of (N, C, d1, ...) log-probabilities at (N, d1, ...) class targets;
    'mean' divides by the summed weights of the non-ignored targets, as in PyTorch. The targets are read
    on the host once per call (on CUDA, a sync) to name out-of-range ones: for a training step with no
    host read, use cross_entropy on the logits (its fused kernel checks them on the device).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.nll_loss(gc.tensor([[-1.0, -2.0], [-3.0, -4.0]]), gc.tensor([1, 0])).item()
        2.5
    """
    _check_reduction(reduction, "nll_loss")
    classes, _ = _check_class_targets(input, target, ignore_index, "nll_loss")
    weight = _check_class_weight(weight, input, classes, "nll_loss")
    loss, w, _ = _nll_parts(input, target, weight, classes)
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


@float32_inputs  # autocast runs it in float32, as torch's
def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of (N, C, d1, ...) logits against (N, d1, ...) class indices or against
    class probabilities of the logits' shape, with torch's weight, ignore_index, reduction and
    label_smoothing. (N, C) logits with int64/int32 class targets, no weight and no label smoothing run
    the fused native kernel (any reduction, any ignore_index) with no host read: on CUDA an
    out-of-range target is flagged on the device and raised as IndexError at the next sync point
    (``.item()``, ``gradcore.cuda.synchronize()``), on the CPU at once. The other cases (weights,
    label smoothing, (N, C, d1, ...) or (C,) logits, other target dtypes, an empty batch) take the
    composite path, which reads the targets on the host once per call (on CUDA, a sync) to name bad ones.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> logits = gc.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> loss = F.cross_entropy(logits, gc.tensor([0, 1]))
        >>> round(loss.item(), 4)
        0.1269
    """
    from .functional import log_softmax

    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if not isinstance(input, Tensor) or not input.dtype.is_floating:
        raise TypeError(f"cross_entropy: input must be a float Tensor, got {getattr(input, 'dtype', input)}")
    if isinstance(target, Tensor) and target.dtype.is_floating and target.shape == input.shape:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    plain = weight is None and label_smoothing == 0.0 and input.ndim == 2 and input.shape[0] > 0
    if plain and getattr(target, "dtype", None) in (int64, int32):
        # The fused kernel checks the targets' range itself (on CUDA, on the device): no host read.
        _check_class_target_layout(input, target, "cross_entropy")
        return ops.SoftmaxCrossEntropy.apply(input, target, ignore_index=ignore_index, reduction=reduction)
    # The composite path checks the targets on the host (one small read): bad ones raise IndexError.
    classes, _ = _check_class_targets(input, target, ignore_index, "cross_entropy")
    weight = _check_class_weight(weight, input, classes, "cross_entropy")
    cdim = _class_dim(input, "cross_entropy")
    logp = log_softmax(input, dim=cdim)
    loss, w, mask = _nll_parts(logp, target, weight, classes)
    if reduction == "mean":
        denom = w.sum()
        nll = loss.sum() / denom
    else:
        nll = _reduce(loss, reduction)
    if label_smoothing == 0.0:
        return nll
    valid = (target != ignore_index).to(input.dtype)
    lw = logp if weight is None else logp * weight.reshape(_class_shape(input, cdim))
    smooth = -lw.sum(axis=cdim) * valid
    smooth = smooth.sum() / denom if reduction == "mean" else _reduce(smooth, reduction)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)


def _cross_entropy_probs(
    input: Tensor, target: Tensor, weight: Tensor | None, reduction: str, label_smoothing: float
) -> Tensor:
    from .functional import log_softmax

    if target.shape != input.shape:
        raise ValueError(
            f"cross_entropy: probability targets must have the input's shape {input.shape}, "
            f"got {target.shape}"
        )
    if target.device != input.device:
        raise RuntimeError(f"cross_entropy: input on {input.device} but target on {target.device}")
    target = target if target.dtype is input.dtype else target.to(input.dtype)
    cdim = _class_dim(input, "cross_entropy")
    classes = input.shape[cdim]
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    weight = _check_class_weight(weight, input, classes, "cross_entropy")
    prod = log_softmax(input, dim=cdim) * target
    if weight is not None:
        prod = prod * weight.reshape(_class_shape(input, cdim))
    loss = -prod.sum(axis=cdim)
    if reduction == "mean":
        return loss.sum() / (input.numel() // max(classes, 1)) if classes else loss.sum()
    return _reduce(loss, reduction)
