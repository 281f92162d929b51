"""Data: the bundled UCI digits, MNIST-style IDX files from a folder, and a batching DataLoader."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .tensor import Tensor

_DIGITS = Path(__file__).parent / "_data" / "digits.npz"

# IDX type codes (http://yann.lecun.com/exdb/mnist/ format description) -> big-endian dtypes.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


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


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads one IDX file (optionally gzipped), checking its header against its size."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"cannot read IDX file {path}: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: header needs {header} bytes")
    dims = tuple(int(v) for v in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path} is malformed: dims {dims} need {expected} bytes, file has {len(raw)}")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(
        f"{folder} has no {stem} (or {stem}.gz): expected MNIST / Fashion-MNIST IDX files"
    )


def load_mnist(folder: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST from a folder holding the four IDX files (gzipped or not).

    Returns float32 features in [0, 1] of shape (n, 784) and int64 labels.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist")
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)


class DataLoader:
    """Batches of (features, labels) tensors over arrays, reshuffled each epoch with a seeded generator.

    Example:
        >>> import numpy as np, gradcore as gc
        >>> loader = gc.data.DataLoader(np.zeros((10, 3), np.float32), np.arange(10), batch_size=4)
        >>> [xb.shape[0] for xb, yb in loader]
        [4, 4, 2]
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
    ) -> None:
        if len(x) != len(y):
            raise ValueError(f"features have {len(x)} rows but labels have {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.x, self.y = np.ascontiguousarray(x), np.ascontiguousarray(y)
        self.batch_size, self.shuffle, self.drop_last, self.device = batch_size, shuffle, drop_last, device
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.y)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield Tensor(self.x[idx], device=self.device), Tensor(self.y[idx], device=self.device)
