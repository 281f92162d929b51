"""gradcore.utils: torch.utils's layout (``gradcore.utils.data``: Dataset, TensorDataset, DataLoader, ...)."""

from . import data

__all__ = ["data"]
