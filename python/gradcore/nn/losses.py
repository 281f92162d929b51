"""Loss modules wrapping the functional losses."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class MSELoss(Module):
    """Mean squared error. Example: ``nn.MSELoss()(pred, target)``."""

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(pred, target)


class BCELoss(Module):
    """Binary cross-entropy on probabilities (outputs of a sigmoid)."""

    def forward(self, prob: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(prob, target)


class BCEWithLogitsLoss(Module):
    """Binary cross-entropy on logits, numerically stable."""

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target)


class CrossEntropyLoss(Module):
    """Softmax cross-entropy of (N, C) logits against (N,) int class targets."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(logits, targets, self.reduction)
