"""DistributedSampler: each rank's disjoint share of a data set's indices, reshuffled per epoch (torch's)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np


def _length(dataset: Any) -> int:
    if isinstance(dataset, (int, np.integer)) and not isinstance(dataset, bool):
        n = int(dataset)
    elif hasattr(dataset, "__len__"):
        n = len(dataset)
    else:
        raise TypeError(
            f"DistributedSampler: expected a data set length or a sized data set, got "
            f"{type(dataset).__name__}"
        )
    if n < 0:
        raise ValueError(f"DistributedSampler: the data set length must be >= 0, got {n}")
    return n


class DistributedSampler:
    """Indices of rank ``rank``'s share of ``dataset`` (a length, or anything with ``len``), as
    ``torch.utils.data.DistributedSampler``: one permutation per epoch drawn from ``seed + epoch`` (the
    same on every rank, so the shares are disjoint and together cover the data), padded by repeating
    indices so every rank gets ``len(self)`` of them (``drop_last=True`` drops the tail instead).
    Call ``set_epoch(epoch)`` before each epoch to reshuffle. ``num_replicas``/``rank`` default to the
    process group's. Shuffles come from NumPy's generator, so the order differs from torch's.

    Example:
        >>> import gradcore as gc
        >>> s = gc.distributed.DistributedSampler(10, num_replicas=3, rank=1, shuffle=False)
        >>> list(s)
        [1, 4, 7, 0]
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        from .process_group import get_rank, get_world_size

        if num_replicas is None:
            num_replicas = get_world_size()
        if rank is None:
            rank = get_rank()
        if (
            isinstance(num_replicas, bool)
            or not isinstance(num_replicas, (int, np.integer))
            or num_replicas < 1
        ):
            raise ValueError(f"num_replicas must be a positive integer, got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.n = _length(dataset)
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        if self.drop_last and self.n % self.num_replicas:
            self.num_samples = math.ceil((self.n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(self.n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        order = (
            np.random.default_rng(self.seed + self.epoch).permutation(self.n)
            if self.shuffle
            else np.arange(self.n)
        )
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > self.n and self.n:
            order = np.resize(order, self.total_size)  # repeats from the start, as torch pads
        return order[self.rank : self.total_size : self.num_replicas].astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch that seeds the next permutation (all ranks must use the same)."""
        self.epoch = int(epoch)
