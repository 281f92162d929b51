"""Spatial sampling: F.affine_grid and F.grid_sample (bilinear or nearest, zeros or border padding,
align_corners), as composites of gathers and arithmetic so gradients reach both the input and the grid
(the Spatial Transformer Network's pair)."""

from __future__ import annotations

import numpy as np

from ..ops_index import where
from ..tensor import Tensor


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


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Samples the (N, C, H, W) input at the (N, Ho, Wo, 2) normalized (x, y) grid locations, as
    ``F.grid_sample``: mode 'bilinear' or 'nearest', padding_mode 'zeros' or 'border'.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> img = gc.arange(4.0).reshape(1, 1, 2, 2)
        >>> F.grid_sample(img, gc.zeros(1, 1, 1, 2), align_corners=True).item()
        1.5
    """
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(
            f"grid_sample: mode {mode!r} is not supported (use 'bilinear' or 'nearest')"
        )
    if padding_mode not in ("zeros", "border"):
        raise NotImplementedError(
            f"grid_sample: padding_mode {padding_mode!r} is not supported (use 'zeros' or 'border')"
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
    if padding_mode == "border":
        x, y = x.clamp(0, w - 1), y.clamp(0, h - 1)
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
