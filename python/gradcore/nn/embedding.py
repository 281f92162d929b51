"""nn.Embedding: a lookup table of learnable rows indexed by integer ids."""

from __future__ import annotations

import numpy as np

from ..creation import generator
from ..dtypes import DType
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter, factory_dtype


class Embedding(Module):
    """Rows of a (num_embeddings, embedding_dim) weight, initialised N(0, 1) as in PyTorch; the row at
    ``padding_idx`` starts at zero and receives no gradient.

    Example:
        >>> import gradcore as gc
        >>> emb = gc.nn.Embedding(10, 4, padding_idx=0)
        >>> emb(gc.tensor([[1, 0, 3]])).shape
        (1, 3, 4)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        dtype = factory_dtype(dtype, "Embedding")
        if num_embeddings < 0 or embedding_dim < 0:
            raise ValueError(f"Embedding: sizes must be >= 0, got ({num_embeddings}, {embedding_dim})")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range ({num_embeddings})")
            padding_idx %= num_embeddings
        if sparse:
            raise NotImplementedError("Embedding: sparse gradients are not supported (use sparse=False)")
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.sparse = sparse
        if _weight is not None:  # torch's private route for from_pretrained: the given table, as is
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: _weight has shape {tuple(_weight.shape)}, expected "
                    f"({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        else:
            table = generator().standard_normal((num_embeddings, embedding_dim)).astype(dtype.np)
            if padding_idx is not None:
                table[padding_idx] = 0.0
            self.weight = Parameter(Tensor(np.ascontiguousarray(table)), requires_grad=not _freeze)
        if device is not None:
            self.to(device)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding holding a copy of the 2-d ``embeddings``, frozen unless ``freeze=False``.

        Example:
            >>> import gradcore as gc
            >>> emb = gc.nn.Embedding.from_pretrained(gc.tensor([[1.0, 2.0], [3.0, 4.0]]))
            >>> emb(gc.tensor([1])).tolist(), emb.weight.requires_grad
            ([[3.0, 4.0]], False)
        """
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-d, got {embeddings.shape}")
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=embeddings,
            _freeze=freeze,
            device=embeddings.device,
        )

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input, self.weight, self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"  # torch's: the non-default options only
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s
