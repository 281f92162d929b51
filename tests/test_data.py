"""Bundled digits, the IDX reader (on files the test writes) and the DataLoader."""

import gzip
import struct

import numpy as np
import pytest

import gradcore as gc
from gradcore.data import DataLoader, load_digits, load_mnist, read_idx


def test_bundled_digits_split():
    xtr, ytr = load_digits("train")
    xte, yte = load_digits("test")
    xall, yall = load_digits("all")
    assert xall.shape == (1797, 64) and len(ytr) + len(yte) == 1797
    assert xtr.dtype == np.float32 and 0.0 <= xtr.min() and xtr.max() <= 1.0
    assert set(np.unique(yall)) == set(range(10))
    rows = {r.tobytes() for r in xtr}
    assert sum(r.tobytes() in rows for r in xte) < 5  # the halves hardly overlap (a few duplicate images)


def write_idx(path, array, gz=False):
    codes = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype.type], array.ndim) + struct.pack(
        f">{array.ndim}i", *array.shape
    )
    body = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    (gzip.open if gz else open)(path, "wb").write(body)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_folder(tmp_path, gz):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", 12), ("t10k", 5)):
        write_idx(
            tmp_path / f"{prefix}-images-idx3-ubyte{suffix}",
            rng.integers(0, 256, (n, 28, 28)).astype(np.uint8),
            gz,
        )
        write_idx(
            tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}", rng.integers(0, 10, n).astype(np.uint8), gz
        )
    x, y = load_mnist(tmp_path, "train")
    assert x.shape == (12, 784) and y.shape == (12,) and x.max() <= 1.0
    assert load_mnist(tmp_path, "test")[0].shape == (5, 784)


def test_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(bad)
    short = tmp_path / "short"
    write_idx(short, np.zeros((3, 4), np.uint8))
    short.write_bytes(short.read_bytes()[:-2])
    with pytest.raises(ValueError, match="malformed"):
        read_idx(short)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"junk")
    with pytest.raises(ValueError, match="bad magic"):
        load_mnist(tmp_path)


def test_dataloader_batches_and_seeded_shuffle():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    batches = [yb.tolist() for _, yb in DataLoader(x, y, batch_size=4)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(DataLoader(x, y, batch_size=4, drop_last=True)) == 2
    a = [yb.tolist() for _, yb in DataLoader(x, y, 3, shuffle=True, seed=7)]
    b = [yb.tolist() for _, yb in DataLoader(x, y, 3, shuffle=True, seed=7)]
    assert a == b and sorted(sum(a, [])) == list(range(10)) and sum(a, []) != list(range(10))
    loader = DataLoader(x, y, 10, shuffle=True, seed=7)
    assert next(iter(loader))[1].tolist() != next(iter(loader))[1].tolist()  # new order each epoch
    xb, yb = next(iter(DataLoader(x, y, 2)))
    assert xb.dtype is gc.float32 and yb.dtype is gc.int64
    with pytest.raises(ValueError, match="rows"):
        DataLoader(x, y[:3])
