"""Connectionist temporal classification: F.ctc_loss and nn.CTCLoss, the forward (alpha) recursion in
log space over the blank-extended targets, vectorized over the batch and label positions, one step per
input frame. Its gradient is torch's: with respect to log_probs it carries torch's exp(log_probs) term,
so it agrees with torch's both directly and through a log_softmax."""

from __future__ import annotations

import math

import numpy as np

from ..ops_index import cat, where
from ..tensor import Tensor
from .module import Module

_NEG = -1e30  # "log 0" kept finite so no logsumexp of all -inf makes a NaN gradient; ~1e30 losses are inf


def _lse3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    m = a.maximum(b).maximum(c).detach()
    return m + ((a - m).exp() + (b - m).exp() + (c - m).exp()).log()


def _as_array(v) -> np.ndarray:
    return np.asarray(v.cpu().numpy() if isinstance(v, Tensor) else v, dtype=np.int64).reshape(-1)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """The CTC loss of (T, N, C) log-probabilities (or (T, C) unbatched) against padded (N, S) or
    concatenated targets, as ``F.ctc_loss``: 'mean' divides each loss by its target length, then
    averages.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> lp = gc.zeros(3, 1, 2)  # log 1: every path has probability 1
        >>> F.ctc_loss(lp, gc.tensor([[1]]), [3], [1], reduction="sum").item() < 0
        True
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise ValueError(
            f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape {tuple(log_probs.shape)}"
        )
    steps, n, classes = lp.shape
    in_lens, tgt_lens = _as_array(input_lengths), _as_array(target_lengths)
    tg = _as_array(targets) if targets.ndim <= 1 or unbatched else None
    if in_lens.size != n or tgt_lens.size != n:
        raise ValueError(
            f"ctc_loss: expected {n} input and target lengths, got {in_lens.size} and {tgt_lens.size}"
        )
    if in_lens.max(initial=0) > steps:
        raise ValueError(f"ctc_loss: an input length exceeds the number of frames {steps}")
    s_max = int(tgt_lens.max(initial=0))
    labels = np.zeros((n, s_max), dtype=np.int64)
    if tg is not None and not unbatched:  # concatenated targets
        offs = np.concatenate([[0], np.cumsum(tgt_lens)])
        for i in range(n):
            labels[i, : tgt_lens[i]] = tg[offs[i] : offs[i + 1]]
    else:
        t2 = targets.cpu().numpy().astype(np.int64).reshape(n, -1)
        labels[:, :s_max] = t2[:, :s_max]
    width = 2 * s_max + 1
    ext = np.full((n, width), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    span = 2 * tgt_lens + 1  # valid extended positions per sample
    pos = np.arange(width)[None, :]
    valid_pos = pos < span[:, None]
    skip = np.zeros((n, width), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    dev = lp.device
    index = Tensor(ext, device=dev)
    valid_t = Tensor(valid_pos, device=dev)
    skip_t = Tensor(skip, device=dev)
    neg_col = lp.new_full((n, 1), _NEG)
    neg_two = lp.new_full((n, 2), _NEG)
    start = np.full((n, width), False)
    start[:, 0] = True
    start[:, 1] = tgt_lens > 0
    alpha = where(Tensor(start, device=dev), lp[0].gather(1, index), _NEG)
    for t in range(1, steps):
        shifted1 = cat([neg_col, alpha[:, :-1]], 1)
        shifted2 = (
            where(skip_t, cat([neg_two, alpha[:, :-2]], 1), _NEG) if width > 2 else neg_col.expand(n, width)
        )
        new = _lse3(alpha, shifted1, shifted2) + lp[t].gather(1, index)
        new = where(valid_t, new, _NEG)
        alpha = where(Tensor((t < in_lens).reshape(-1, 1), device=dev), new, alpha)
    last = Tensor((span - 1).reshape(-1, 1), device=dev)
    before = Tensor(np.maximum(span - 2, 0).reshape(-1, 1), device=dev)
    a_last = alpha.gather(1, last).reshape(-1)
    a_before = where(Tensor(tgt_lens > 0, device=dev), alpha.gather(1, before).reshape(-1), _NEG)
    m = a_last.maximum(a_before).detach()
    loss = -(m + ((a_last - m).exp() + (a_before - m).exp()).log())
    # torch's gradient with respect to log_probs adds exp(log_probs) over each sample's frames (it
    # vanishes through a log_softmax): a zero-valued term with exactly that gradient
    frames = Tensor((np.arange(steps)[:, None] < in_lens[None, :]).astype(lp.dtype.np)[..., None], device=dev)
    extra = (lp * lp.detach().exp() * frames).sum((0, 2))
    loss = loss + (extra - extra.detach())
    impossible = loss.detach() > 1e29
    if zero_infinity:
        loss = where(impossible, 0.0, loss)
    else:
        loss = where(impossible, math.inf, loss)
    if unbatched:
        loss = loss.reshape(())
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    div = Tensor(np.maximum(tgt_lens, 1).astype(lp.dtype.np), device=dev)
    return (loss / (div.reshape(()) if unbatched else div)).mean()


class CTCLoss(Module):
    """CTC loss as a module: ``CTCLoss(blank=0, reduction='mean', zero_infinity=False)``."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__()
        if reduction not in ("none", "mean", "sum"):
            raise ValueError(f"CTCLoss: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        self.blank, self.reduction, self.zero_infinity = blank, reduction, zero_infinity

    def forward(self, log_probs: Tensor, targets: Tensor, input_lengths, target_lengths) -> Tensor:
        return ctc_loss(
            log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction, self.zero_infinity
        )


__all__ = ["CTCLoss", "ctc_loss"]
