"""Distances and normalization: F.cosine_similarity, F.pairwise_distance, F.normalize and the modules
CosineSimilarity and PairwiseDistance (torch's formulas, eps handling and gradients)."""

from __future__ import annotations

import math

import numpy as np

from ..ops_index import where
from ..tensor import Tensor
from .module import Module


def _clamped_min(t: Tensor, eps: float) -> Tensor:
    """t clamped below at eps in value only: torch clamps its norms in place under no_grad, so the
    gradient is that of the unclamped norm."""
    return t + (t.detach().clamp(min=eps) - t.detach())


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 / max(|x1|, eps) * x2 / max(|x2|, eps)) along ``dim`` (torch's normalise-first form, so the
    result stays in [-1, 1]); x1 and x2 broadcast.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.cosine_similarity(gc.tensor([[1.0, 0.0]]), gc.tensor([[1.0, 1.0]])).tolist()
        [0.7071067690849304]
    """
    for name, t in (("x1", x1), ("x2", x2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"cosine_similarity: {name} must be a Tensor, got {type(t).__name__}")
    if not x1.dtype.is_floating:
        x1 = x1.float()
    if not x2.dtype.is_floating:
        x2 = x2.float()
    if tuple(x1.shape) != tuple(x2.shape):  # torch broadcasts first, so the norms see the expanded inputs
        shape = tuple(np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape)))
        x1, x2 = x1.expand(*shape), x2.expand(*shape)
    n1 = _clamped_min(x1.norm(2, dim, keepdim=True), eps)
    n2 = _clamped_min(x2.norm(2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """The p-norm of x1 - x2 + eps along the last dim (torch's eps keeps the gradient finite at 0).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.pairwise_distance(gc.tensor([[0.0, 0.0]]), gc.tensor([[3.0, 4.0]])).item(), 4)
        5.0
    """
    ndim = max(x1.ndim, x2.ndim)
    dim = -1 if ndim > 0 else 0
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        diff = diff.reshape(1)
    return diff.norm(p, dim, keepdim=keepdim)


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    """input / max(||input||_p, eps) along ``dim``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.normalize(gc.tensor([[3.0, 4.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    if not isinstance(input, Tensor):
        raise TypeError(f"normalize: input must be a Tensor, got {type(input).__name__}")
    return input / _norm(input, p, dim).clamp(min=eps)


def _norm(x: Tensor, p: float, dim: int) -> Tensor:
    """The p-norm along dim (keepdim) with torch's zero gradient where the whole slice is zero (the
    general-p formula would give 0/0 there)."""
    if p in (1, 2) or math.isinf(p):
        return x.norm(p, dim, keepdim=True)
    zero = (x.detach() == 0).all(dim=dim, keepdim=True)
    n = where(zero, x.new_ones(()).expand(*x.shape), x).norm(p, dim, keepdim=True)
    return where(zero, 0.0, n)


class CosineSimilarity(Module):
    """Cosine similarity along ``dim``. Example: ``gc.nn.CosineSimilarity(dim=1)(a, b)``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """The p-norm distance between rows. Example: ``gc.nn.PairwiseDistance(p=1.0)(a, b)``."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


__all__ = ["CosineSimilarity", "PairwiseDistance", "cosine_similarity", "normalize", "pairwise_distance"]
