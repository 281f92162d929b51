"""torch.utils.data's core for in-memory data: Dataset, TensorDataset, Subset, ConcatDataset, random_split
and DataLoader (batch_size, shuffle, sampler, drop_last, collate_fn), so ``from torch.utils.data import
DataLoader, TensorDataset`` code runs with the name changed. A TensorDataset is batched by indexing each
tensor once per batch (no per-sample loop); other datasets go sample by sample through the collate."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(i)`` and ``__len__``, as torch's."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the i-th rows of the tensors (all with the same first size), as torch's.

    Example:
        >>> import gradcore as gc
        >>> ds = gc.utils.data.TensorDataset(gc.arange(6.0).reshape(3, 2), gc.tensor([0, 1, 0]))
        >>> len(ds), ds[1][0].tolist(), ds[1][1].item()
        (3, [2.0, 3.0], 1)
    """

    def __init__(self, *tensors: Tensor) -> None:
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors, got {type(t).__name__}")
            if t.ndim == 0 or t.shape[0] != tensors[0].shape[0]:
                raise ValueError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0] if self.tensors else 0


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, as torch's.

    Example:
        >>> import gradcore as gc
        >>> gc.utils.data.Subset(gc.utils.data.TensorDataset(gc.arange(5)), [4, 0])[0][0].item()
        4
    """

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """The datasets one after another, as torch's (also ``a + b``).

    Example:
        >>> import gradcore as gc
        >>> a = gc.utils.data.TensorDataset(gc.arange(3))
        >>> len(a + a), (a + a)[4][0].item()
        (6, 1)
    """

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        d = bisect.bisect_right(self.cumulative_sizes, index)
        return self.datasets[d][index - (self.cumulative_sizes[d - 1] if d else 0)]


def random_split(dataset: Any, lengths: Sequence[float], generator: Any = None) -> list[Subset]:
    """Disjoint random Subsets of the given lengths (or fractions summing to 1), from ``generator`` (a
    gc.Generator) or gradcore's global one (``gc.manual_seed``), as torch.utils.data.random_split.

    Example:
        >>> import gradcore as gc
        >>> a, b = gc.utils.data.random_split(gc.utils.data.TensorDataset(gc.arange(10)), [0.8, 0.2])
        >>> len(a), len(b)
        (8, 2)
    """
    from ..random_ops import randperm

    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):  # the remainder, round-robin, as torch
            sizes[i % len(sizes)] += 1
    else:
        sizes = [int(s) for s in lengths]
    if sum(sizes) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = generator.permutation(n) if generator is not None else randperm(n).tolist()
    out, start = [], 0
    for s in sizes:
        out.append(Subset(dataset, perm[start : start + s]))
        start += s
    return out


def default_collate(batch: Sequence[Any]) -> Any:
    """Stacks a list of samples: tensors are stacked, numbers and NumPy arrays become tensors, tuples /
    lists / dicts are collated field by field, as torch's default_collate.

    Example:
        >>> import gradcore as gc
        >>> x, y = gc.utils.data.default_collate([(gc.zeros(2), 1), (gc.ones(2), 0)])
        >>> x.shape, y.tolist()
        ((2, 2), [1, 0])
    """
    from ..ops_index import stack

    first = batch[0]
    if isinstance(first, Tensor):
        return stack(list(batch), 0)
    if isinstance(first, np.ndarray):
        return Tensor(np.stack(batch))
    if isinstance(first, (bool, int, float, np.number)):
        return Tensor(np.asarray(batch))
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, Mapping):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(b) != len(first) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return type(first)(default_collate(list(f)) for f in zip(*batch)) if isinstance(first, tuple) else [
            default_collate(list(f)) for f in zip(*batch)
        ]
    raise TypeError(
        f"default_collate: batch must contain tensors, numbers, dicts or lists; found {type(first)}"
    )


class DataLoader:
    """Batches over a map-style dataset, as torch.utils.data.DataLoader: ``batch_size``, ``shuffle`` (a new
    permutation each epoch from ``generator``, a gc.Generator, or gradcore's global one), ``sampler`` (any
    iterable of indices, e.g. a DistributedSampler), ``drop_last``, ``collate_fn``. Loading runs in this
    process: ``num_workers``, ``pin_memory``, ``persistent_workers`` and ``prefetch_factor`` are accepted
    and change nothing.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.utils.data import DataLoader, TensorDataset
        >>> loader = DataLoader(TensorDataset(gc.zeros(10, 3), gc.arange(10)), batch_size=4)
        >>> [x.shape[0] for x, y in loader]
        [4, 4, 2]
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
    ) -> None:
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
            )
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, bool(shuffle)
        self.sampler, self.batch_sampler, self.num_workers = sampler, batch_sampler, num_workers
        self.collate_fn, self.drop_last, self.pin_memory = collate_fn, drop_last, pin_memory
        self.generator = generator

    def _order(self) -> list[int]:
        if self.sampler is not None:
            return [int(i) for i in self.sampler]
        n = len(self.dataset)
        if self.shuffle:
            from ..random_ops import randperm

            return self.generator.permutation(n) if self.generator is not None else randperm(n).tolist()
        return list(range(n))

    def _batches(self) -> Iterator[list[int]]:
        if self.batch_sampler is not None:
            yield from ([int(i) for i in b] for b in self.batch_sampler)
            return
        order = self._order()
        if self.batch_size is None:
            yield from ([i] for i in order)
            return
        step = self.batch_size
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            if len(chunk) < step and self.drop_last:
                return
            yield chunk

    def __iter__(self) -> Iterator[Any]:
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is None
        for idx in self._batches():
            if self.batch_size is None and self.batch_sampler is None:  # automatic batching off
                sample = self.dataset[idx[0]]
                yield sample if self.collate_fn is None else self.collate_fn(sample)
            elif fast:  # one gather per tensor, no per-sample Python work
                yield tuple(t[Tensor(np.asarray(idx, dtype=np.int64), device=t.device)]
                            for t in self.dataset.tensors)
            else:
                yield (self.collate_fn or default_collate)([self.dataset[i] for i in idx])

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


__all__ = [
    "ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split",
]
