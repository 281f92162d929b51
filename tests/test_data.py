"""Bundled digits and MNIST subset, the IDX reader (on files the test writes) and the DataLoader."""

import gzip
import struct

import numpy as np
import pytest
from helpers import write_idx

import gradcore as gc
from gradcore.data import DataLoader, load_digits, load_mnist, load_mnist_subset, read_idx


def test_bundled_digits_split():
    xtr, ytr = load_digits("train")
    xte, yte = load_digits("test")
    xall, yall = load_digits("all")
    assert xall.shape == (1797, 64) and len(ytr) + len(yte) == 1797
    assert xtr.dtype == np.float32 and 0.0 <= xtr.min() and xtr.max() <= 1.0
    assert set(np.unique(yall)) == set(range(10))
    rows = {r.tobytes() for r in xtr}
    assert sum(r.tobytes() in rows for r in xte) < 5  # the halves hardly overlap (a few duplicate images)


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
    with pytest.raises(ValueError, match="truncated"):
        read_idx(short)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"junk")
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
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


def _mnist_folder(path, images, labels, gz=False, test=True):
    suffix = ".gz" if gz else ""
    write_idx(path / f"train-images-idx3-ubyte{suffix}", images, gz)
    write_idx(path / f"train-labels-idx1-ubyte{suffix}", labels, gz)
    if test:
        write_idx(path / f"t10k-images-idx3-ubyte{suffix}", images, gz)
        write_idx(path / f"t10k-labels-idx1-ubyte{suffix}", labels, gz)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_images_are_taken_as_stored(tmp_path, dtype):
    images = np.random.default_rng(0).uniform(0, 1, (4, 3, 3)).astype(dtype)
    _mnist_folder(tmp_path, images, np.arange(4, dtype=np.uint8))
    x, _ = load_mnist(tmp_path)
    np.testing.assert_allclose(x, images.reshape(4, 9), rtol=1e-6)  # not divided by 255 (twice)


def test_byte_images_are_scaled_by_255(tmp_path):
    images = np.array([[[0, 51], [255, 102]]], np.uint8)
    _mnist_folder(tmp_path, images, np.array([3], np.uint8))
    x, y = load_mnist(tmp_path)
    np.testing.assert_allclose(x, [[0.0, 0.2, 1.0, 0.4]], rtol=1e-6)
    assert y.tolist() == [3] and y.dtype == np.int64


@pytest.mark.parametrize(
    "images, labels, problem",
    [
        (np.zeros((0, 2, 2), np.uint8), np.zeros(0, np.uint8), "images-idx3-ubyte holds no samples"),
        (np.zeros((3, 2, 2), np.uint8), np.array([0, -1, 2], np.int8), "labels from -1 to 2"),
        (np.zeros((2, 2, 2), np.uint8), np.array([1, 10**9], np.int32), "labels from 1 to 1000000000"),
        (np.zeros((2, 2, 2), np.uint8), np.array([0.5, 1.0], np.float32), "non-integer labels"),
        (np.zeros((3, 2, 2), np.uint8), np.zeros(2, np.uint8), "has 3 images but .* has 2 labels"),
        (np.zeros((2, 0, 2), np.uint8), np.zeros(2, np.uint8), "no pixels"),
        (np.zeros(4, np.uint8), np.zeros(4, np.uint8), r"holds shape \(4,\), not \(samples"),
    ],
)
def test_bad_data_sets_are_refused_naming_the_file(tmp_path, images, labels, problem):
    _mnist_folder(tmp_path, images, labels)
    with pytest.raises(ValueError, match=problem) as info:
        load_mnist(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("gz", [False, True])
def test_damaged_idx_files(tmp_path, gz):
    opener = gzip.open if gz else open
    path = tmp_path / ("f.gz" if gz else "f")

    def write(body):
        with opener(path, "wb") as f:
            f.write(body)

    write(struct.pack(">BBBBii", 0, 0, 8, 2, 3, -4) + bytes(12))
    with pytest.raises(ValueError, match=r"negative dimension in \(3, -4\)"):
        read_idx(path)
    write(struct.pack(">BBBB", 0, 0, 8, 3) + struct.pack(">i", 5))
    with pytest.raises(ValueError, match="header names 3 dims but ends early"):
        read_idx(path)
    write(struct.pack(">BBBBi", 0, 0, 8, 1, 4) + bytes(3))
    with pytest.raises(ValueError, match=r"truncated: dims \(4,\) need 12 bytes, it holds 11"):
        read_idx(path)
    write(struct.pack(">BBBBi", 0, 0, 8, 1, 4) + bytes(5))
    with pytest.raises(ValueError, match="holds more than the 12 bytes"):
        read_idx(path)
    # A header claiming 8 GiB over a few bytes of body: refused without allocating the claim.
    write(struct.pack(">BBBBiii", 0, 0, 0x0E, 3, 1 << 30, 1, 1) + bytes(16))
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)
    if gz:
        path.write_bytes(path.read_bytes()[:-12])  # a gzip stream cut short
        with pytest.raises(ValueError, match="f.gz"):
            read_idx(path)


def test_data_folder_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        load_mnist(tmp_path / "file")


# ------------------------------------------------------------------ bundled MNIST subset
def test_mnist_subset_shapes_ranges_and_split_sizes():
    xtr, ytr = load_mnist_subset("train")
    xte, yte = load_mnist_subset("test")
    assert xtr.shape == (4000, 1, 28, 28) and xte.shape == (1000, 1, 28, 28)
    assert xtr.dtype == np.float32 and ytr.dtype == np.int64 and yte.shape == (1000,)
    for x in (xtr, xte):
        assert x.min() == 0.0 and x.max() == 1.0
        assert 0.08 < x.mean() < 0.2  # mostly background, as MNIST is (mean ~0.13)
        assert len(np.unique(x)) > 200  # grey levels kept, not binarized
    xall, yall = load_mnist_subset("all")
    np.testing.assert_array_equal(xall, np.concatenate([xtr, xte]))
    np.testing.assert_array_equal(yall, np.concatenate([ytr, yte]))
    with pytest.raises(ValueError, match="split must be 'train', 'test' or 'all'"):
        load_mnist_subset("valid")


def test_mnist_subset_classes_are_balanced_and_halves_disjoint():
    xtr, ytr = load_mnist_subset("train")
    xte, yte = load_mnist_subset("test")
    assert np.bincount(ytr).tolist() == [400] * 10
    assert np.bincount(yte).tolist() == [100] * 10
    train_rows = {r.tobytes() for r in xtr}
    assert not any(r.tobytes() in train_rows for r in xte)
    assert not (ytr[:100] == np.sort(ytr[:100])).all()  # shuffled, not sorted by class


def test_mnist_subset_digits_look_like_themselves():
    x, y = load_mnist_subset("train")
    means = np.stack([x[y == c, 0].mean(0) for c in range(10)])
    ink = means.sum((1, 2))
    assert ink.argmin() == 1 and ink.argmax() == 0  # a 1 is the thinnest stroke, a 0 the longest
    cols, rows = means[1].sum(0), means[1].sum(1)
    assert (cols > 0.25 * cols.max()).sum() <= 9 < (rows > 0.25 * rows.max()).sum()  # tall and thin
    zero = means[0]
    assert zero[12:16, 12:16].mean() < 0.3 * zero[4:8, 10:18].mean()  # a 0 has a hole in the middle
    # The labels belong to the images in both halves: nearest class mean gets most test digits right.
    xte, yte = load_mnist_subset("test")
    dist = ((xte[:, 0, None] - means[None]) ** 2).sum((2, 3))
    assert (dist.argmin(1) == yte).mean() > 0.75
