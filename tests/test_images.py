"""The dependency-free PNG writer: read back by hand (chunks, CRCs, zlib, filter bytes) and the grid."""

import struct
import zlib

import numpy as np
import pytest

from gradcore import images


def read_png(data: bytes) -> np.ndarray:
    """A minimal reader for what write_png produces: 8-bit grayscale, filter 0 on every line."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color, compression, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, compression, filt, interlace) == (8, 0, 0, 0, 0)
    raw = np.frombuffer(zlib.decompress(chunks[1][1]), np.uint8).reshape(height, width + 1)
    assert (raw[:, 0] == 0).all()  # filter type None on each scanline
    return raw[:, 1:]


def test_uint8_image_round_trips_exactly(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (17, 31)).astype(np.uint8)
    path = tmp_path / "x.png"
    images.write_png(path, pixels)
    np.testing.assert_array_equal(read_png(path.read_bytes()), pixels)


def test_float_image_is_scaled_rounded_and_clipped():
    x = np.array([[0.0, 1.0, 0.5, 2.0, -1.0, 0.2]], np.float32)
    np.testing.assert_array_equal(read_png(images.encode_png(x)), [[0, 255, 128, 255, 0, 51]])


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="2-D image"):
        images.encode_png(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="non-empty"):
        images.encode_png(np.zeros((0, 5)))
    with pytest.raises(ValueError, match="NaN"):
        images.encode_png(np.array([[np.nan]]))
    with pytest.raises(TypeError, match="uint8 or floats"):
        images.encode_png(np.zeros((2, 2), np.int64))


def test_grid_places_each_image_in_its_cell():
    tiles = np.arange(5, dtype=np.float64)[:, None, None, None] * np.ones((5, 1, 3, 4)) / 10
    g = images.grid(tiles, cols=2, pad=1, background=0.9)
    assert g.shape == (3 * 4 + 1, 2 * 5 + 1)
    for i in range(5):
        r, c = divmod(i, 2)
        np.testing.assert_array_equal(g[1 + 4 * r : 4 + 4 * r, 1 + 5 * c : 5 + 5 * c], i / 10)
    assert (g[9:12, 6:10] == 0.9).all()  # the empty sixth cell
    assert (g[0] == 0.9).all() and (g[:, 5] == 0.9).all()  # padding
    with pytest.raises(ValueError, match="cols >= 1"):
        images.grid(tiles, cols=0)
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        images.grid(np.zeros((3, 3)), cols=1)
