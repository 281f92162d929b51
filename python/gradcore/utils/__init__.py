"""gradcore.utils: torch.utils's layout (``gradcore.utils.data``: Dataset, TensorDataset, DataLoader, ...;
``gradcore.utils.checkpoint``)."""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
