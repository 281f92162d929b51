"""nn.EmbeddingBag and F.embedding_bag: sums, means or maxima of embedding rows over bags given by
offsets (or by the rows of a 2-d input), with per-sample weights and padding_idx, as torch's. The rows
are gathered once and reduced by scatter_add (sum, mean) or a dense (bags x longest bag) max."""

from __future__ import annotations

import math

import numpy as np

from ..creation import generator
from ..dtypes import DType
from ..ops_index import cat, where
from ..tensor import Tensor
from .functional import _check_targets_dtype
from .module import Module, Parameter, factory_dtype


def _bags(input: Tensor, offsets: Tensor | None, include_last_offset: bool) -> tuple[Tensor, np.ndarray, int]:
    """The flat indices, each one's bag (host array) and the number of bags."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: if input is 2D, then offsets has to be None")
        b, n = input.shape
        return input.reshape(-1), np.repeat(np.arange(b), n), b
    if input.ndim != 1:
        raise ValueError(
            f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}"
        )
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
    off = np.asarray(
        offsets.cpu().numpy() if isinstance(offsets, Tensor) else offsets, dtype=np.int64
    ).reshape(-1)
    t = input.shape[0]
    if include_last_offset:
        if off.size == 0:
            raise ValueError("embedding_bag: include_last_offset needs at least one offset")
        off = off[:-1]
    if off.size and (off[0] != 0 or (np.diff(off) < 0).any() or off[-1] > t):
        raise ValueError(
            f"embedding_bag: offsets must start at 0, be non-decreasing and at most {t}, got {off}"
        )
    bag_of = np.searchsorted(off, np.arange(t), side="right") - 1
    return input, bag_of, off.size


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """The rows of ``weight`` at ``input`` reduced per bag (mode 'sum', 'mean' or 'max'); a 2-d input is
    one bag per row, a 1-d input is cut into bags at ``offsets``. Empty bags give zeros; entries equal
    to ``padding_idx`` are left out (and not counted by 'mean'). ``max_norm`` first rescales, in place,
    every picked row whose ``norm_type``-norm exceeds it (as F.embedding); ``scale_grad_by_freq`` divides
    each row's gradient by how often the input picks it (as F.embedding and torch's CUDA kernel; torch
    2.13's CPU kernel divides some rows by another row's count). Gradients are dense: ``sparse=True`` raises
    NotImplementedError (gradcore has no sparse tensors).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> w = gc.arange(6.0).reshape(3, 2)
        >>> F.embedding_bag(gc.tensor([0, 2, 1]), w, gc.tensor([0, 2]), mode="sum").tolist()
        [[4.0, 6.0], [2.0, 3.0]]
    """
    _check_targets_dtype(input)
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if sparse:
        raise NotImplementedError(
            "embedding_bag: sparse=True (sparse gradients) is not supported: gradcore has no sparse tensors; "
            "use sparse=False"
        )
    if scale_grad_by_freq and mode == "max":
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if weight.ndim != 2:
        raise ValueError(f"embedding_bag: weight must be 2-d (num_embeddings, dim), got shape {weight.shape}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                f"embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
                f"mode='sum' (got mode='{mode}'). Please open a feature request on GitHub."
            )
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(
                f"embedding_bag: per_sample_weights {tuple(per_sample_weights.shape)} must have the shape of "
                f"input {tuple(input.shape)}"
            )
    flat, bag_of, n_bags = _bags(input, offsets, include_last_offset)
    d = weight.shape[1]
    if max_norm is not None or scale_grad_by_freq:  # F.embedding's in-place renorm and gradient scaling
        from .functional import embedding

        rows = embedding(flat, weight, None, max_norm, norm_type, scale_grad_by_freq)
    else:
        rows = weight.index_select(0, flat)  # (T, D)
    keep = np.ones(bag_of.shape, dtype=bool)
    if padding_idx is not None:
        pad = padding_idx % weight.shape[0]
        keep = flat.cpu().numpy() != pad
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    if mode in ("sum", "mean"):
        bag_index = np.where(keep, bag_of, n_bags)  # padding goes to a spare bag that is dropped
        index = Tensor(bag_index.astype(np.int64), device=weight.device).reshape(-1, 1).expand(len(bag_of), d)
        sums = rows.new_zeros((n_bags + 1, d)).scatter_add(0, index, rows)[:n_bags]
        if mode == "sum":
            return sums
        counts = np.bincount(bag_of[keep], minlength=n_bags).astype(weight.dtype.np)
        return sums / Tensor(np.maximum(counts, 1).reshape(-1, 1), device=weight.device)
    # max: a dense (bags, longest, D) block, missing places pointing at a -inf row
    t = len(bag_of)
    kept = np.flatnonzero(keep)
    counts = np.bincount(bag_of[kept], minlength=n_bags)
    longest = max(int(counts.max()) if n_bags else 0, 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n_bags else np.zeros(0, np.int64)
    slot = np.full((n_bags, longest), t, dtype=np.int64)
    if kept.size:
        pos = np.arange(kept.size) - starts[bag_of[kept]]
        slot[bag_of[kept], pos] = kept
    padded = cat([rows, rows.new_full((1, d), -math.inf)], 0)
    dense = padded.index_select(0, Tensor(slot.reshape(-1), device=weight.device)).reshape(n_bags, longest, d)
    out = dense.amax(dim=1)
    empty = Tensor((counts == 0).reshape(-1, 1), device=weight.device)
    return where(empty, 0.0, out)


class EmbeddingBag(Module):
    """Embedding rows reduced per bag, as ``torch.nn.EmbeddingBag`` (weight N(0, 1), padding row zero);
    ``forward(input, offsets=None, per_sample_weights=None)``.

    Example:
        >>> import gradcore as gc
        >>> bag = gc.nn.EmbeddingBag(10, 3, mode="mean")
        >>> bag(gc.tensor([1, 2, 4, 5, 4, 3]), gc.tensor([0, 4])).shape
        (2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        if sparse:
            raise NotImplementedError(
                "EmbeddingBag: sparse=True (sparse gradients) is not supported: gradcore has no sparse "
                "tensors; use sparse=False"
            )
        dt = factory_dtype(dtype, "EmbeddingBag")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError("padding_idx must be within num_embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.max_norm, self.norm_type = (
            num_embeddings,
            embedding_dim,
            max_norm,
            norm_type,
        )
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        if _weight is not None:
            self.weight = Parameter(_weight)
        else:
            table = generator().standard_normal((num_embeddings, embedding_dim)).astype(dt.np)
            if padding_idx is not None:
                table[padding_idx] = 0.0
            self.weight = Parameter(Tensor(np.ascontiguousarray(table)))
        if device is not None:
            self.to(device)

    def forward(
        self, input: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None
    ) -> Tensor:
        return embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode='{self.mode}'"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


__all__ = ["EmbeddingBag", "embedding_bag"]
