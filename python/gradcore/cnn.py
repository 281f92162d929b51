"""The LeNet-style CNN of `gradcore train --model cnn`: two conv-ReLU-pool stages, then two Linear layers."""

from __future__ import annotations

import math

import numpy as np

from . import nn


def build_cnn(classes: int, side: int = 28, dropout: float = 0.5, channels: int = 1) -> nn.Sequential:
    """conv32-pool-conv64-pool-fc128-dropout-fc for (n, channels, side, side) images (3x3 convs, padding 1).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.cnn import build_cnn
        >>> build_cnn(10)(gc.zeros(2, 1, 28, 28)).shape
        (2, 10)
    """
    if side < 4:
        raise ValueError(f"the CNN's two 2x2 poolings need images of at least 4x4 pixels, got {side}x{side}")
    flat = 64 * (side // 2 // 2) ** 2
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(flat, 128),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(128, classes),
    )


def as_images(x: np.ndarray, where: str) -> np.ndarray:
    """Flat rows of square grayscale images (n, side*side) as (n, 1, side, side); 4-d input is kept."""
    if x.ndim == 4:
        return x
    side = math.isqrt(x.shape[1])
    if side * side != x.shape[1]:
        raise ValueError(f"{where}: the CNN needs square images, got {x.shape[1]} pixels per sample")
    return x.reshape(len(x), 1, side, side)
