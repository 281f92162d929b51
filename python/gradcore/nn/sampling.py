"""Spatial sampling: F.affine_grid and F.grid_sample (bilinear, nearest or bicubic; zeros, border or
reflection padding; align_corners), as composites of gathers and arithmetic so gradients reach both the
input and the grid (the Spatial Transformer Network's pair)."""

from __future__ import annotations

import numpy as np

from ..ops_index import where
from ..tensor import Tensor
from .interpolate_linear import cubic_tap_weights


def _linspace(n: int, align_corners: bool) -> np.ndarray:
    """Normalized pixel centres in [-1, 1] (corners at +-1 with align_corners)."""
    if n == 1:
        return np.zeros(1)
    # torch.linspace's symmetric form (from the start for the first half, from the end for the rest)
    step = 2.0 / (n - 1)
    i = np.arange(n)
    base = np.where(i < n // 2, -1.0 + i * step, 1.0 - (n - 1 - i) * step)
    return base if align_corners else base * (n - 1) / n


def affine_grid(
    theta: Tensor, size: list[int] | tuple[int, ...], align_corners: bool | None = None
) -> Tensor:
    """The (N, H, W, 2) sampling grid of the 2-d affine maps ``theta`` (N, 2, 3) for an output of
    ``size`` (N, C, H, W), as ``F.affine_grid`` (align_corners defaults to False).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> theta = gc.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
        >>> F.affine_grid(theta, (1, 1, 2, 2), align_corners=True).reshape(-1).tolist()
        [-1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0]
    """
    align = bool(align_corners)
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise NotImplementedError(f"affine_grid only supports 4D sizes (2-d affine maps), got size {size}")
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (2, 3):
        raise ValueError(
            f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. "
            f"Got {tuple(theta.shape)}."
        )
    if theta.shape[0] != size[0]:
        raise ValueError(f"affine_grid: theta has {theta.shape[0]} matrices but size asks for {size[0]}")
    n, _, h, w = size
    xs, ys = _linspace(w, align), _linspace(h, align)
    base = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None], np.ones((h, w))), -1)  # (H, W, 3): x, y, 1
    base_t = Tensor(base.reshape(1, h * w, 3).astype(theta.dtype.np), device=theta.device)
    return (base_t @ theta.transpose(1, 2)).reshape(n, h, w, 2)


def _unnormalize(coord: Tensor, n: int, align_corners: bool) -> Tensor:
    # torch's exact expressions: a sample that lands on a pixel boundary must floor the same way
    if align_corners:
        return ((coord + 1.0) / 2.0) * (n - 1)
    return ((coord + 1.0) * n - 1.0) / 2.0


def _reflect_np(x: np.ndarray, twice_low: int, twice_high: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's reflect_coordinates on host values: the reflected coordinates and the sign of d(out)/d(x)."""
    if twice_low == twice_high:
        return np.zeros_like(x), np.zeros_like(x)
    lo, span = twice_low / 2.0, (twice_high - twice_low) / 2.0
    d = x - lo
    sign = np.where(d < 0, -1.0, 1.0)
    a = np.abs(d)
    flips = np.floor(a / span)
    extra = np.fmod(a, span)
    even = np.fmod(flips, 2) == 0
    return np.where(even, extra + lo, span - extra + lo), np.where(even, sign, -sign)


def _pad_coords(coord: Tensor, n: int, padding_mode: str, align: bool) -> Tensor:
    """torch's compute_coordinates: the source coordinate after border / reflection padding, with the
    gradient torch gives it (the reflection's +-1, zero where the final clip holds it at an edge)."""
    if padding_mode == "zeros":
        return coord
    if padding_mode == "reflection":
        c = coord.detach().cpu().numpy()
        refl, sign = _reflect_np(c, 0, 2 * (n - 1)) if align else _reflect_np(c, -1, 2 * n - 1)
        # refl as a value, sign * coord as the gradient path: refl = sign * coord + (refl - sign * coord)
        sign_t = Tensor(sign.astype(coord.dtype.np), device=coord.device)
        shift = Tensor((refl - sign * c).astype(coord.dtype.np), device=coord.device)
        coord = sign_t * coord + shift
    c = coord.detach().cpu().numpy()
    inside = Tensor(((c > 0) & (c < n - 1)).astype(coord.dtype.np), device=coord.device)
    clipped = Tensor(np.clip(c, 0, n - 1).astype(coord.dtype.np), device=coord.device)
    return clipped + inside * (coord - coord.detach())  # torch's clip: gradient 0 at or past an edge


def _pad_taps_np(ix: np.ndarray, n: int, padding_mode: str, align: bool) -> np.ndarray:
    """Integer tap positions after padding (bicubic's get_value_bounded), as int64 (outside: zeros mode)."""
    if padding_mode == "zeros":
        return ix
    f = ix.astype(np.float64)
    if padding_mode == "reflection":
        f = (_reflect_np(f, 0, 2 * (n - 1)) if align else _reflect_np(f, -1, 2 * n - 1))[0]
    return np.clip(f, 0, n - 1).astype(np.int64)


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Samples the (N, C, H, W) input at the (N, Ho, Wo, 2) normalized (x, y) grid locations, as
    ``F.grid_sample``: mode 'bilinear', 'nearest' or 'bicubic' (torch's A = -0.75 kernel), padding_mode
    'zeros', 'border' or 'reflection'; gradients reach both the input and the grid.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> img = gc.arange(4.0).reshape(1, 1, 2, 2)
        >>> F.grid_sample(img, gc.zeros(1, 1, 1, 2), align_corners=True).item()
        1.5
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
            f"but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', "
            f"but got: '{padding_mode}'"
        )
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise ValueError(
            f"grid_sample: expected a 4-d input (N, C, H, W) and a grid (N, Ho, Wo, 2), got "
            f"{tuple(input.shape)} and {tuple(grid.shape)}"
        )
    align = bool(align_corners)
    n, c, h, w = input.shape
    _, ho, wo, _ = grid.shape
    x = _unnormalize(grid[..., 0], w, align)  # (N, Ho, Wo)
    y = _unnormalize(grid[..., 1], h, align)
    if mode != "bicubic":  # bicubic pads each tap instead
        x, y = _pad_coords(x, w, padding_mode, align), _pad_coords(y, h, padding_mode, align)
    flat = input.reshape(n, c, h * w)

    def tap(ix: np.ndarray, iy: np.ndarray) -> tuple[Tensor, Tensor]:
        """The input at integer places (N, Ho, Wo) as (N, C, Ho, Wo), and where they are inside."""
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        idx = np.where(inside, np.clip(iy, 0, h - 1) * w + np.clip(ix, 0, w - 1), 0).astype(np.int64)
        index = Tensor(idx.reshape(n, 1, ho * wo), device=input.device).expand(n, c, ho * wo)
        vals = flat.gather(2, index).reshape(n, c, ho, wo)
        return vals, Tensor(inside.reshape(n, 1, ho, wo), device=input.device)

    xd, yd = x.detach().cpu().numpy(), y.detach().cpu().numpy()
    if mode == "nearest":
        vals, inside = tap(np.rint(xd).astype(np.int64), np.rint(yd).astype(np.int64))
        return where(inside, vals, 0.0)
    x0, y0 = np.floor(xd).astype(np.int64), np.floor(yd).astype(np.int64)
    fx = x - Tensor(x0.astype(x.dtype.np), device=x.device)  # in [0, 1), carries the grid's gradient
    fy = y - Tensor(y0.astype(y.dtype.np), device=y.device)
    fx, fy = fx.unsqueeze(1), fy.unsqueeze(1)
    out = None
    if mode == "bicubic":
        wx, wy = cubic_tap_weights(fx), cubic_tap_weights(fy)
        for j in range(4):
            row = None
            iy = _pad_taps_np(y0 - 1 + j, h, padding_mode, align)
            for i in range(4):
                vals, inside = tap(_pad_taps_np(x0 - 1 + i, w, padding_mode, align), iy)
                term = where(inside, vals * wx[i], 0.0)
                row = term if row is None else row + term
            out = row * wy[j] if out is None else out + row * wy[j]
        return out
    for dx, dy, weight in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        vals, inside = tap(x0 + dx, y0 + dy)
        term = where(inside, vals * weight, 0.0)
        out = term if out is None else out + term
    return out


__all__ = ["affine_grid", "grid_sample"]
