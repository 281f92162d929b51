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
        dtype: DType | str | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        dtype = factory_dtype(dtype, "Embedding")
        if num_embeddings < 0 or embedding_dim < 0:
            raise ValueError(f"Embedding: sizes must be >= 0, got ({num_embeddings}, {embedding_dim})")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range ({num_embeddings})")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        table = generator().standard_normal((num_embeddings, embedding_dim)).astype(dtype.np)
        if padding_idx is not None:
            table[padding_idx] = 0.0
        self.weight = Parameter(Tensor(np.ascontiguousarray(table), device=device))

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
