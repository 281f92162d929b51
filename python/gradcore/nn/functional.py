"""Stateless neural-network functions: activations, softmax, linear, dropout and the losses."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..creation import arange, generator
from ..dtypes import DType, float32
from ..tensor import Tensor


def relu(x: Tensor) -> Tensor:
    """max(x, 0). Example: ``F.relu(gc.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]``."""
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max for stability.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.softmax(gc.tensor([0.0, 0.0])).numpy()[0].item(), 3)
        0.5
    """
    e = (x - x.amax(dim=axis, keepdim=True).detach()).exp()
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``."""
    shifted = x - x.amax(dim=axis, keepdim=True).detach()
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out, in) as in PyTorch; x may have any leading dims.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.linear(gc.ones(2, 3), gc.ones(4, 3), gc.zeros(4)).tolist()[0]
        [3.0, 3.0, 3.0, 3.0]
    """
    for t in (weight, bias):
        if t is not None and t.device != x.device:
            raise RuntimeError(f"linear: input on {x.device} but parameters on {t.device}")
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
    args = (flat, weight) if bias is None else (flat, weight, bias)
    out = ops.Linear.apply(*args)
    return out.reshape(*lead, weight.shape[0]) if x.ndim != 2 else out


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zeroes each element with probability p and scales the rest by 1/(1-p) while training."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    keep = (generator().random(x.shape) >= p).astype(x.dtype.np) / (1.0 - p)
    return x * Tensor(keep, device=x.device)


def one_hot(targets: Tensor, num_classes: int, dtype: DType = float32) -> Tensor:
    """(N,) int targets -> (N, num_classes) rows with a 1 at each target."""
    _check_targets_dtype(targets)
    classes = arange(num_classes, device=targets.device).to(targets.dtype)
    return (targets.reshape(-1, 1) == classes).to(dtype)


def _check_targets_dtype(targets: Tensor) -> None:
    if not isinstance(targets, Tensor):
        raise TypeError(f"targets must be a Tensor, got {type(targets).__name__}")
    if targets.dtype.is_floating:
        raise TypeError(f"class targets must be an int64 or int32 tensor, got {targets.dtype}")


def cross_entropy(logits: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of (N, C) logits against (N,) class indices (fused kernel).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> logits = gc.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> loss = F.cross_entropy(logits, gc.tensor([0, 1]))
        >>> round(loss.item(), 4)
        0.1269
    """
    _check_targets_dtype(targets)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be (N, C), got shape {logits.shape}")
    if targets.shape != (logits.shape[0],):
        raise ValueError(
            f"cross_entropy: targets must have shape ({logits.shape[0]},) to match logits {logits.shape}, "
            f"got {targets.shape}"
        )
    if targets.device != logits.device:
        raise RuntimeError(f"cross_entropy: logits on {logits.device} but targets on {targets.device}")
    if not logits.dtype.is_floating:
        raise TypeError(f"cross_entropy: logits must be float, got {logits.dtype}")
    loss = ops.SoftmaxCrossEntropy.apply(logits, targets)
    if reduction == "mean":
        return loss
    if reduction == "sum":
        return loss * logits.shape[0]
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")


def _check_same_shape(pred: Tensor, target: Tensor, name: str) -> Tensor:
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target), dtype=pred.dtype, device=pred.device)
    if pred.shape != target.shape:
        raise ValueError(f"{name}: input shape {pred.shape} and target shape {target.shape} differ")
    return target


def mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean of (pred - target)^2; shapes must match exactly."""
    target = _check_same_shape(pred, target, "mse_loss")
    diff = pred - target
    return (diff * diff).mean()


def binary_cross_entropy(prob: Tensor, target: Tensor) -> Tensor:
    """Mean of -(y log p + (1-y) log(1-p)) for probabilities p in [0, 1], as in PyTorch: logs are
    clamped at -100 so saturated outputs give a finite loss and gradient.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.binary_cross_entropy(gc.tensor([0.5, 1.0]), gc.tensor([1.0, 1.0])).item(), 4)
        0.3466
    """
    target = _check_same_shape(prob, target, "binary_cross_entropy")
    if target.dtype is not prob.dtype:
        target = target.to(prob.dtype)
    return ops.BinaryCrossEntropy.apply(prob, target)


def binary_cross_entropy_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    """BCE on sigmoid(logits), computed stably as max(x, 0) - x*y + log(1 + exp(-|x|))."""
    target = _check_same_shape(logits, target, "binary_cross_entropy_with_logits")
    return (logits.relu() - logits * target + (1.0 + (-logits.abs()).exp()).log()).mean()
