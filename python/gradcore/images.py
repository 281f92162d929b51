"""Grayscale PNG output with no dependency beyond zlib, and tiling images into one grid picture."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 pixels from uint8 (kept) or floats in [0, 1] (scaled by 255 and rounded, clipped)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind not in "fb":
        raise TypeError(f"PNG pixels must be uint8 or floats in [0, 1], got dtype {image.dtype}")
    if image.dtype.kind == "f" and not np.all(np.isfinite(image)):
        raise ValueError("PNG pixels must be finite: the image holds NaN or infinity")
    return np.round(np.clip(image.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    """The bytes of an 8-bit grayscale PNG of a 2-D image (uint8, or floats in [0, 1]).

    Example:
        >>> import numpy as np
        >>> from gradcore import images
        >>> images.encode_png(np.zeros((2, 3), np.uint8))[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """
    pixels = to_uint8(image)
    if pixels.ndim != 2 or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ValueError(f"a grayscale PNG needs a non-empty 2-D image (height, width), got {pixels.shape}")
    height, width = pixels.shape
    # Each scanline starts with its filter type; 0 (None) keeps the writer trivial and zlib does the rest.
    raw = np.concatenate([np.zeros((height, 1), np.uint8), pixels], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit, grayscale, no interlace
    return (
        _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")
    )


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Writes a 2-D image (uint8, or floats in [0, 1]) as an 8-bit grayscale PNG.

    Example:
        >>> import numpy as np, os, tempfile
        >>> from gradcore import images
        >>> path = os.path.join(tempfile.mkdtemp(), "ramp.png")
        >>> images.write_png(path, np.linspace(0, 1, 28 * 28).reshape(28, 28))
        >>> open(path, "rb").read(4)
        b'\\x89PNG'
    """
    data = encode_png(image)
    with open(path, "wb") as f:
        f.write(data)


def grid(images: np.ndarray, cols: int, pad: int = 2, background: float = 0.5) -> np.ndarray:
    """Tiles images (n, h, w) or (n, 1, h, w) row by row into one (rows*(h+pad)+pad, ...) float image.

    Unfilled cells of the last row and the ``pad``-pixel gaps take the ``background`` value.

    Example:
        >>> import numpy as np
        >>> from gradcore import images
        >>> images.grid(np.zeros((5, 1, 28, 28)), cols=4).shape
        (62, 122)
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(
            f"grid needs images of shape (n, h, w) or (n, 1, h, w) with n >= 1, got {images.shape}"
        )
    if cols < 1 or pad < 0:
        raise ValueError(f"grid needs cols >= 1 and pad >= 0, got cols={cols}, pad={pad}")
    n, h, w = images.shape
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), background, dtype=np.float64)
    for i in range(n):  # one copy per picture (a handful), not per pixel
        r, c = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        out[top : top + h, left : left + w] = images[i]
    return out
