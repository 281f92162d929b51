"""F.interpolate's linear modes ('linear', 'bilinear', 'trilinear': separable two-tap blends), 'bicubic'
(separable four-tap cubic convolution, A = -0.75, edges clamped) and 'area' (adaptive average pooling),
with torch's source-index rule (align_corners, scale_factor); and nn.UpsamplingBilinear2d."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from .module import Module

LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2, "area": None}


def _source(n_in: int, n_out: int, align_corners: bool, scale: float | None, cubic: bool) -> np.ndarray:
    """The source coordinate of each output index (torch's area_pixel_compute_source_index)."""
    j = np.arange(n_out, dtype=np.float64)
    if align_corners:
        return j * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    ratio = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    src = ratio * (j + 0.5) - 0.5
    return src if cubic else np.maximum(src, 0.0)


def cubic_tap_weights(t: Any) -> list[Any]:
    """torch's four cubic-convolution weights (A = -0.75) for the taps at -1, 0, 1, 2 around a fraction t in
    [0, 1): plain arithmetic, so t may be a NumPy array (interpolate's host weights) or a Tensor
    (grid_sample's, differentiable in t)."""
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    """cubic_tap_weights stacked: (4, *t.shape)."""
    return np.stack(cubic_tap_weights(t))


def _taps(n_in: int, n_out: int, align_corners: bool, scale: float | None):
    """Left and right source indices and the right tap's weight for each output index (torch's rule)."""
    src = _source(n_in, n_out, align_corners, scale, False)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, src - i0


def linear_interpolate(
    input: Tensor,
    out_sizes: Sequence[int],
    scales: Sequence[float | None],
    mode: str,
    align_corners: bool | None,
) -> Tensor:
    """Resizes with the linear modes; called by F.interpolate after it has worked out the sizes."""
    if mode == "area":
        from .pool_functions import adaptive_avg_pool1d, adaptive_avg_pool2d
        from .three_d import adaptive_avg_pool3d

        pool = {3: adaptive_avg_pool1d, 4: adaptive_avg_pool2d, 5: adaptive_avg_pool3d}[input.ndim]
        return pool(input, tuple(int(o) for o in out_sizes))
    k = LINEAR_MODES[mode]
    if input.ndim != k + 2:
        raise NotImplementedError(
            f"interpolate: mode {mode!r} needs a {k + 2}-d input, got {input.ndim}-d "
            f"(shape {tuple(input.shape)})"
        )
    align = bool(align_corners)
    out = input
    for i in range(k):
        dim = 2 + i
        n_in, n_out = input.shape[dim], int(out_sizes[i])
        if n_in == n_out and not align and scales[i] is None and mode != "bicubic":
            continue
        shape = [1] * out.ndim
        shape[dim] = n_out
        if mode == "bicubic":
            src = _source(n_in, n_out, align, scales[i], True)
            base = np.floor(src).astype(np.int64)
            weights = _cubic_weights(src - base)
            total = None
            for tap in range(4):
                idx = np.clip(base - 1 + tap, 0, n_in - 1)
                w = Tensor(weights[tap].astype(input.dtype.np).reshape(shape), device=input.device)
                term = out.index_select(dim, Tensor(idx, device=input.device)) * w
                total = term if total is None else total + term
            out = total
            continue
        i0, i1, lam = _taps(n_in, n_out, align, scales[i])
        w = Tensor(lam.astype(input.dtype.np).reshape(shape), device=input.device)
        a = out.index_select(dim, Tensor(i0, device=input.device))
        b = out.index_select(dim, Tensor(i1, device=input.device))
        out = a + (b - a) * w
    return out if out is not input else input.clone()


class UpsamplingBilinear2d(Module):
    """Bilinear upsampling with align_corners=True (torch's deprecated layer, still in tutorials).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.UpsamplingBilinear2d(scale_factor=2)(gc.randn(1, 3, 4, 4)).shape
        (1, 3, 8, 8)
    """

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | None = None) -> None:
        super().__init__()
        self.size, self.scale_factor = size, scale_factor

    def forward(self, x: Tensor) -> Tensor:
        from .pool_functions import interpolate

        return interpolate(x, self.size, self.scale_factor, "bilinear", align_corners=True)

    def extra_repr(self) -> str:
        # torch's Upsample form: the scale as a float, then the mode
        head = f"size={self.size}" if self.size is not None else f"scale_factor={float(self.scale_factor)!r}"
        return f"{head}, mode='bilinear'"


__all__ = ["UpsamplingBilinear2d", "linear_interpolate"]
