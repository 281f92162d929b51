"""gradcore.nn.parallel: DistributedDataParallel (data-parallel training over gradcore.distributed)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
