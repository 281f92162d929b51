"""Data: bundled UCI digits and MNIST subset, MNIST-style IDX files from a folder, a batching DataLoader."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .tensor import Tensor

_DIGITS = Path(__file__).parent / "_data" / "digits.npz"
_MNIST_SUBSET = Path(__file__).parent / "_data" / "mnist_subset.npz"

# IDX type codes (http://yann.lecun.com/exdb/mnist/ format description) -> big-endian dtypes.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# More classes than this is a damaged label file, not a data set (and would allocate a huge last layer).
_MAX_CLASSES = 65536


def _split(x: np.ndarray, y: np.ndarray, split: str, test_fraction: float, seed: int):
    if split == "all":
        return x, y
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(len(y) * test_fraction))
    idx = order[n_test:] if split == "train" else order[:n_test]
    return x[idx], y[idx]


def load_digits(
    split: str = "train", test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The bundled 8x8 UCI digits as (float32 features in [0, 1] of shape (n, 64), int64 labels).

    The train/test split is a fixed shuffle (``seed``), so both halves never overlap.

    Example:
        >>> import gradcore as gc
        >>> x, y = gc.data.load_digits("test")
        >>> x.shape, int(y.max())
        ((359, 64), 9)
    """
    with np.load(_DIGITS) as d:
        x = d["images"].reshape(-1, 64).astype(np.float32) / 16.0
        y = d["labels"].astype(np.int64)
    return _split(x, y, split, test_fraction, seed)


def load_mnist_subset(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The bundled 5,000 real MNIST digits as (float32 images (n, 1, 28, 28) in [0, 1], int64 labels).

    ``split`` is "train" (4,000 images), "test" (1,000) or "all"; the split is fixed and stratified
    (400 / 100 images of each digit). Source and licence: gradcore/_data/README.md (MNIST, CC BY-SA 3.0).

    Example:
        >>> import gradcore as gc
        >>> x, y = gc.data.load_mnist_subset("test")
        >>> x.shape, x.dtype, y[:3].dtype
        ((1000, 1, 28, 28), dtype('float32'), dtype('int64'))
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    parts = ("train", "test") if split == "all" else (split,)
    with np.load(_MNIST_SUBSET) as d:
        images = np.concatenate([d[f"{p}_images"] for p in parts])
        labels = np.concatenate([d[f"{p}_labels"] for p in parts])
    x = images.reshape(len(images), 1, 28, 28).astype(np.float32)
    x /= 255.0
    return x, labels.astype(np.int64)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads one IDX file (optionally gzipped) into a native-endian array.

    The header is checked before the body is read (magic number, non-negative dims, size), so a
    damaged or hostile file raises ``ValueError`` naming it instead of allocating what it claims.

    Example:
        >>> import gzip, struct, tempfile, os, gradcore as gc
        >>> p = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
        >>> _ = open(p, "wb").write(struct.pack(">BBBBi", 0, 0, 8, 1, 3) + bytes([7, 1, 4]))
        >>> gc.data.read_idx(p).tolist()
        [7, 1, 4]
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
                raise ValueError(f"{path} is not an IDX file (bad magic number)")
            ndim = head[3]
            raw_dims = f.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise ValueError(f"{path} is truncated: its header names {ndim} dims but ends early")
            dims = tuple(int(v) for v in np.frombuffer(raw_dims, ">i4"))
            if any(d < 0 for d in dims):
                raise ValueError(f"{path} is malformed: negative dimension in {dims}")
            dtype = np.dtype(_IDX_TYPES[head[2]])
            header = 4 + 4 * ndim
            expected = header + math.prod(dims) * dtype.itemsize
            size = os.fstat(f.fileno()).st_size if opener is open else None  # unknown when gzipped
            if size is None or size <= expected:
                body = _read_exactly(f, expected - header)
                size = header + len(body) + len(f.read(1))
            if size < expected:
                raise ValueError(f"{path} is truncated: dims {dims} need {expected} bytes, it holds {size}")
            if size > expected:
                raise ValueError(
                    f"{path} is malformed: it holds more than the {expected} bytes dims {dims} need"
                )
    except (OSError, EOFError, zlib.error) as e:  # unreadable, or a damaged / truncated gzip stream
        raise ValueError(f"cannot read IDX file {path}: {e}") from None
    return np.frombuffer(body, dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _read_exactly(f: Any, n: int) -> bytearray:
    """Up to n bytes in 16 MiB chunks, so a header claiming terabytes costs only what the file holds."""
    out = bytearray()
    while len(out) < n:
        chunk = f.read(min(16 << 20, n - len(out)))
        if not chunk:
            break
        out += chunk
    return out


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(
        f"{folder} has no {stem} (or {stem}.gz): expected MNIST / Fashion-MNIST IDX files"
    )


def load_mnist(folder: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST from a folder holding the four IDX files (gzipped or not).

    Returns float32 features of shape (n, pixels) and int64 labels. Byte images (the MNIST files)
    are scaled to [0, 1] by 1/255; float images are taken as stored (already scaled). Files with
    no samples, mismatched counts or labels outside [0, 65536) raise ``ValueError`` naming the file.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"data folder {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"data folder {folder} is a file: give the folder holding the IDX files")
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images_path = _find(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(folder, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim < 2:
        raise ValueError(f"{images_path} holds shape {images.shape}, not (samples, rows, cols)")
    if labels.ndim != 1:
        raise ValueError(f"{labels_path} holds shape {labels.shape}, not (samples,)")
    for path, array in ((images_path, images), (labels_path, labels)):
        if len(array) == 0:
            raise ValueError(f"{path} holds no samples")
    if images[0].size == 0:
        raise ValueError(f"{images_path} holds images of shape {images.shape[1:]} with no pixels")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise ValueError(f"{labels_path} holds non-integer labels")
    low, high = labels.min(), labels.max()
    if not (low >= 0 and high < _MAX_CLASSES):
        raise ValueError(
            f"{labels_path} holds labels from {low} to {high}; class labels must be in [0, {_MAX_CLASSES})"
        )
    x = images.reshape(len(images), -1).astype(np.float32)
    if images.dtype == np.uint8:
        x /= 255.0
    return x, labels.astype(np.int64)


class DataLoader:
    """Batches of (features, labels) tensors over arrays, reshuffled each epoch with a seeded generator.

    Data-parallel training takes one of two forms. ``rank=, world_size=``: every rank draws the same
    global batches of ``batch_size`` (same seed) and keeps its slice of each (sizes differ by at most one),
    so training on N ranks sees the batches one process would. ``sampler=`` (e.g. a
    ``gradcore.distributed.DistributedSampler``, as in torch): batches of ``batch_size`` from the
    sampler's indices, in its order (``shuffle`` must then be False; call ``sampler.set_epoch``).

    Example:
        >>> import numpy as np, gradcore as gc
        >>> loader = gc.data.DataLoader(np.zeros((10, 3), np.float32), np.arange(10), batch_size=4)
        >>> [xb.shape[0] for xb, yb in loader]
        [4, 4, 2]
        >>> shard = gc.data.DataLoader(np.zeros((10, 3)), np.arange(10), batch_size=4, rank=1, world_size=2)
        >>> [yb.tolist() for xb, yb in shard]
        [[2, 3], [6, 7], [9]]
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int = 64,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        device: str = "cpu",
        sampler: Any = None,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        if len(x) != len(y):
            raise ValueError(f"features have {len(x)} rows but labels have {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.x, self.y = np.ascontiguousarray(x), np.ascontiguousarray(y)
        self.batch_size, self.shuffle, self.drop_last, self.device = batch_size, shuffle, drop_last, device
        self.rng = np.random.default_rng(seed)
        self.sampler, self.rank, self.world_size = sampler, rank, world_size
        _check_sharding(self, len(self.y))

    def __len__(self) -> int:
        n = len(self.y) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.y)
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        else:
            order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            if self.world_size is not None:  # this rank's slice of the global batch
                lo, hi = len(idx) * self.rank, len(idx) * (self.rank + 1)
                idx = idx[lo // self.world_size : hi // self.world_size]
            yield Tensor(self.x[idx], device=self.device), Tensor(self.y[idx], device=self.device)


def _check_sharding(loader: DataLoader, n: int) -> None:
    sampler, rank, world_size = loader.sampler, loader.rank, loader.world_size
    if sampler is not None:
        if loader.shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if rank is not None or world_size is not None:
            raise ValueError("pass either sampler= or rank= and world_size=, not both")
        if not hasattr(sampler, "__iter__") or not hasattr(sampler, "__len__"):
            raise TypeError(f"sampler must be iterable and sized, got {type(sampler).__name__}")
        return
    if (rank is None) != (world_size is None):
        raise ValueError("rank and world_size go together: pass both (or neither)")
    if world_size is None:
        return
    if isinstance(world_size, bool) or not isinstance(world_size, (int, np.integer)) or world_size < 1:
        raise ValueError(f"world_size must be a positive integer, got {world_size!r}")
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size - 1}] for world_size {world_size}, got {rank!r}")
