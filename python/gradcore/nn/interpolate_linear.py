"""F.interpolate's linear modes ('linear', 'bilinear', 'trilinear'): separable two-tap blends along each
spatial dim with torch's source-index rule (align_corners, scale_factor), and nn.UpsamplingBilinear2d."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..tensor import Tensor
from .module import Module

LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _taps(n_in: int, n_out: int, align_corners: bool, scale: float | None):
    """Left and right source indices and the right tap's weight for each output index (torch's rule)."""
    j = np.arange(n_out, dtype=np.float64)
    if align_corners:
        ratio = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = j * ratio
    else:
        ratio = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        src = np.maximum(ratio * (j + 0.5) - 0.5, 0.0)
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
        if n_in == n_out and not align and scales[i] is None:
            continue
        i0, i1, lam = _taps(n_in, n_out, align, scales[i])
        shape = [1] * out.ndim
        shape[dim] = n_out
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
