"""Layers: Linear, activations, Dropout, Sequential, Flatten."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from ..creation import uniform
from ..dtypes import DType
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter, factory_dtype


class Linear(Module):
    """y = x @ W.T + b with W of shape (out_features, in_features), initialised like PyTorch
    (Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)), and the same bound for b).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.Linear(784, 256).weight.shape
        (256, 784)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        dtype = factory_dtype(dtype, "Linear")
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.weight = Parameter(uniform((out_features, in_features), -bound, bound, dtype=dtype))
        self.bias = Parameter(uniform((out_features,), -bound, bound, dtype=dtype)) if bias else None
        if device is not None:
            self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear expects inputs with last dim {self.in_features}, got shape {x.shape}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class ReLU(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:  # accepted and ignored, as torch's
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Flattens dims start_dim..end_dim (default: every dim after the first, the batch), as torch's."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Zeroes elements with probability p in training mode; the identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:  # p = 1 zeroes everything, as in PyTorch
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Sequential(Module):
    """Applies its modules in order; indexable and iterable like a list.

    Example:
        >>> import gradcore as gc
        >>> net = gc.nn.Sequential(gc.nn.Linear(4, 2), gc.nn.ReLU())
        >>> type(net[1]).__name__, len(net)
        ('ReLU', 2)
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], OrderedDict):  # named layers, as torch
            for name, layer in layers[0].items():
                if not isinstance(layer, Module):
                    raise TypeError(f"Sequential takes Modules, got {type(layer).__name__} for {name!r}")
                setattr(self, name, layer)
            return
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes Modules, got {type(layer).__name__} at position {i}")
            setattr(self, str(i), layer)

    def append(self, module: Module) -> Sequential:
        """Adds a module at the end (named by its position)."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Modules, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        return layers[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
