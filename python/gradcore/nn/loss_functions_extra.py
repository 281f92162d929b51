"""The rarer functional losses with torch's signatures (legacy size_average/reduce included) and formulas:
kl_div, cosine_embedding, margin_ranking, hinge_embedding, triplet_margin, gaussian_nll, poisson_nll,
soft_margin, multilabel_soft_margin, multi_margin. Composites of Tensor ops."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

from ..creation import arange
from ..ops_index import where
from ..tensor import Tensor
from .activation_functions import logsigmoid, softplus
from .distance import pairwise_distance
from .functional import _check_targets_dtype

_REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """torch's mapping of the deprecated size_average / reduce flags onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction instead.",
        UserWarning,
        stacklevel=3,
    )
    return "none" if not reduce else "mean" if size_average else "sum"


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: {reduction} is not a valid value for reduction")


def _tensor(x: object, name: str, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(x).__name__}")
    return x


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target || exp(input)) pointwise: target * (log(target) - input) (0 where target = 0), or with
    ``log_target`` exp(target) * (target - input); reduction 'batchmean' divides the sum by the batch size
    (the mathematically right one), 'mean' by the element count, as torch.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> p = gc.tensor([[0.5, 0.5]])
        >>> F.kl_div(p.log(), p, reduction="batchmean").item()
        0.0
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _tensor(input, "kl_div", "input")
    _tensor(target, "kl_div", "target")
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target > 0
        xlogx = where(positive, target * where(positive, target, 1.0).log(), 0.0)
        loss = xlogx - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size. "
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition. "
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            UserWarning,
            stacklevel=2,
        )
    return _reduce(loss, reduction, "kl_div")


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where target = 1, max(0, cos(x1, x2) - margin) where target = -1.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> x = gc.tensor([[1.0, 0.0]])
        >>> F.cosine_embedding_loss(x, x, gc.tensor([1])).item()
        0.0
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if target.ndim not in (0, 1) or input1.ndim != target.ndim + 1 or input2.ndim != target.ndim + 1:
        raise ValueError(
            f"cosine_embedding_loss: expected 1-d inputs with a 0-d target or 2-d inputs with a 1-d target, "
            f"got inputs {tuple(input1.shape)}, {tuple(input2.shape)} and target {tuple(target.shape)}"
        )
    d = target.ndim
    eps = 1e-12
    prod = (input1 * input2).sum(d)
    mag1 = (input1 * input1).sum(d) + eps
    mag2 = (input2 * input2).sum(d) + eps
    cos = prod / (mag1 * mag2).sqrt()
    pos = where(target == 1, 1.0 - cos, 0.0)
    neg = where(target == -1, (cos - margin).clamp(min=0.0), 0.0)
    return _reduce(pos + neg, reduction, "cosine_embedding_loss")


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -target * (input1 - input2) + margin).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.margin_ranking_loss(gc.tensor([1.0]), gc.tensor([2.0]), gc.tensor([1.0])).item()
        1.0
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise ValueError(
            f"margin_ranking_loss: All input tensors should have same dimension but got sizes: input1: "
            f"{tuple(input1.shape)}, input2: {tuple(input2.shape)}, target: {tuple(target.shape)}"
        )
    loss = (-target * (input1 - input2) + margin).clamp(min=0.0)
    return _reduce(loss, reduction, "margin_ranking_loss")


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """x where target = 1, max(0, margin - x) where target = -1 (torch's sum of both masked parts).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.hinge_embedding_loss(gc.tensor([0.3, 0.3]), gc.tensor([1, -1])).item()
        0.5
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    margin_part = where(target != 1, (margin - input).clamp(min=0.0), 0.0)
    self_part = where(target != -1, input, 0.0)
    return _reduce(margin_part + self_part, reduction, "hinge_embedding_loss")


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) with d the pairwise p-distance;
    ``swap`` uses min(d(a, n), d(p, n)).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> a = gc.zeros(1, 2)
        >>> F.triplet_margin_loss(a, a, a + 10.0).item()
        0.0
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    nd = anchor.ndim
    if nd not in (1, 2) or positive.ndim != nd or negative.ndim != nd:
        raise ValueError(
            f"triplet_margin_loss: expected anchor, positive and negative of the same 1-d or 2-d shape, got "
            f"{tuple(anchor.shape)}, {tuple(positive.shape)}, {tuple(negative.shape)}"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    loss = (d_pos - d_neg + margin).clamp(min=0.0)
    return _reduce(loss, reduction, "triplet_margin_loss")


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """0.5 * (log(var) + (input - target)^2 / var) (+ 0.5 log(2 pi) when ``full``), var clamped at eps in
    value (not in gradient) as torch; var may drop the last dim or have it of size 1.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.gaussian_nll_loss(gc.tensor([1.0]), gc.tensor([1.0]), gc.tensor([1.0])).item()
        0.0
    """
    if not isinstance(var, Tensor):
        var = input.new_full(tuple(input.shape), float(var))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    if bool((var.detach() < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = var + (var.detach().clamp(min=eps) - var.detach())
    diff = input - target
    loss = (var.log() + diff * diff / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """exp(input) - target * input (log_input) or input - target * log(input + eps); ``full`` adds the
    Stirling term target * log(target) - target + 0.5 log(2 pi target) where target > 1.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.poisson_nll_loss(gc.tensor([0.0]), gc.tensor([1.0])).item()
        1.0
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        t = where(big, target, 2.0)
        stirling = t * t.log() - t + (t * (2 * math.pi)).log() * 0.5
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-target * input)), computed as softplus so it never overflows.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.soft_margin_loss(gc.tensor([0.0]), gc.tensor([1.0])).item(), 4)
        0.6931
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)
    return _reduce(softplus(-input * target, 1.0, math.inf), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-(y log sigmoid(x) + (1 - y) log sigmoid(-x)), weighted, averaged over the classes (last dim).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.multilabel_soft_margin_loss(gc.zeros(1, 2), gc.tensor([[1.0, 0.0]])).item(), 4)
        0.6931
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)
    loss = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """The multi-class hinge: sum over j != y of max(0, margin - x[y] + x[j])^p / C (p = 1 or 2), times
    weight[y].

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> x = gc.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> round(F.multi_margin_loss(x, gc.tensor([3])).item(), 4)
        0.325
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    _check_targets_dtype(target)
    x = input.reshape(1, -1) if input.ndim <= 1 else input
    if x.ndim != 2:
        raise ValueError(f"multi_margin_loss: expected a 1-d or 2-d input, got shape {tuple(input.shape)}")
    n, c = x.shape
    t = target.reshape(-1)
    if t.shape[0] != n:
        raise ValueError(
            f"multi_margin_loss: inconsistent target size {tuple(target.shape)} for input "
            f"{tuple(input.shape)}"
        )
    if n and (int(t.min().item()) < 0 or int(t.max().item()) >= c):
        raise IndexError(f"multi_margin_loss: target out of range for {c} classes")
    idx = t.reshape(n, 1)
    z = (x - x.gather(1, idx) + margin).clamp(min=0.0)
    h = z if p == 1 else z * z
    others = idx != arange(c, device=x.device).reshape(1, c)
    h = where(others, h, 0.0)
    if weight is not None:
        h = h * weight.gather(0, t).reshape(n, 1)
    loss = h.sum(1) / c
    if input.ndim <= 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction, "multi_margin_loss")


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with any ``distance_function`` (default: pairwise_distance).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> a = gc.zeros(2, 3)
        >>> F.triplet_margin_with_distance_loss(a, a, a + 1.0, margin=0.5).item()
        0.0
    """
    dist = distance_function if distance_function is not None else pairwise_distance
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: expected margin > 0, got {margin}")
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return _reduce((d_pos - d_neg + margin).clamp(min=0.0), reduction, "triplet_margin_with_distance_loss")


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])) / C; the target
    holds class indices, ended by the first -1.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> x = gc.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> round(F.multilabel_margin_loss(x, gc.tensor([[3, 0, -1, 1]])).item(), 4)
        0.85
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_targets_dtype(target)
    x = input.reshape(1, -1) if input.ndim <= 1 else input
    t = target.reshape(1, -1) if target.ndim <= 1 else target
    if x.ndim != 2 or tuple(t.shape) != tuple(x.shape):
        raise ValueError(
            f"multilabel_margin_loss: expected input and target of the same 1-d or 2-d shape, got "
            f"{tuple(input.shape)} and {tuple(target.shape)}"
        )
    n, c = x.shape
    if n * c and (int(t.min().item()) < -1 or int(t.max().item()) >= c):
        raise IndexError(f"multilabel_margin_loss: target values must be in [-1, {c})")
    # slot k counts while no -1 came before or at it
    valid = _cumprod_valid(t, x.dtype)
    idx = t.clamp(min=0)
    is_target = x.new_zeros((n, c)).scatter_add(1, idx, valid) > 0
    x_t = x.gather(1, idx)  # (N, K)
    margins = (1.0 - (x_t.unsqueeze(2) - x.unsqueeze(1))).clamp(min=0.0)  # (N, K, C)
    mask = valid.unsqueeze(2) * where(is_target, 0.0, 1.0).to(x.dtype).unsqueeze(1)
    loss = (margins * mask).sum((1, 2)) / c
    if input.ndim <= 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction, "multilabel_margin_loss")


def _cumprod_valid(t: Tensor, dtype) -> Tensor:
    """(t != -1) with every slot after the first -1 off: 1 where no -1 came at or before it."""
    seen = (t == -1).to(dtype).cumsum(1)
    return (seen == 0).to(dtype)


__all__ = [
    "cosine_embedding_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "kl_div",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
