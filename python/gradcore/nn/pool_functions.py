"""torch.nn.functional's pooling, upsampling and padding: max/avg_pool1d/2d, adaptive_avg_pool1d/2d,
interpolate (nearest, nearest-exact) and pad, with torch's argument names, output-size rules and errors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..creation import tensor
from ..dtypes import int64
from ..ops_index import _index_select_checked
from ..tensor import Tensor
from .pool_ops import AvgPool2d, ConstantPad, MaxPool2d

IntOrPair = int | Sequence[int]


def _pair(v: Any, name: str, op: str) -> tuple[int, int]:
    vals = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(vals) == 1:
        vals = (vals[0], vals[0])
    if len(vals) != 2 or not all(isinstance(a, (int, np.integer)) for a in vals):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
    return int(vals[0]), int(vals[1])


def _pool_input(x: Tensor, op: str) -> tuple[Tensor, bool]:
    """x as (N, C, H, W) and whether it was unbatched (C, H, W); torch's rank and size checks."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4) or 0 in x.shape[-3:]:
        raise ValueError(
            f"{op}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input with non-zero C, H and W "
            f"(the batch may be 0), got shape {x.shape}"
        )
    if not x.dtype.is_floating:
        raise TypeError(f"{op}: needs a float tensor, got {x.dtype}")
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling_output_shape: the last window must start inside the input or the left padding."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_geometry(
    x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, op: str
) -> tuple[tuple[int, int], tuple[int, ...]]:
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (np.ndim(stride) == 1 and len(stride) == 0) else _pair(stride, "stride", op)
    p, d = _pair(padding, "padding", op), _pair(dilation, "dilation", op)
    if min(k) <= 0:
        raise ValueError(f"{op}: kernel_size must be positive, got {k}")
    if min(s) <= 0:
        raise ValueError(f"{op}: stride must be positive (stride should not be zero), got {s}")
    if min(d) <= 0:
        raise ValueError(f"{op}: dilation must be positive, got {d}")
    if min(p) < 0 or p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(
            f"{op}: padding must be between 0 and half the kernel size, got padding {p}, kernel {k}"
        )
    hw = tuple(_out_size(x.shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2))
    if min(hw) <= 0:
        raise ValueError(
            f"{op}: the kernel {k} (dilation {d}) is larger than the padded input {x.shape[2:]} "
            f"(padding {p}): output size {hw} is too small"
        )
    return hw, (k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1])


def max_pool2d(
    input: Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """2-d max pooling over (N, C, H, W) or (C, H, W) input, as ``torch.nn.functional.max_pool2d``:
    padding counts as -inf, NaN wins its window; ``return_indices`` also gives the flat argmax
    (h * W + w of the input plane, int64).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.max_pool2d(gc.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    x, unbatched = _pool_input(input, "max_pool2d")
    out_hw, params = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    box: list[Tensor] = []
    out = MaxPool2d.apply(x, out_hw=out_hw, params=params, indices_out=box)
    indices = box[0]
    if unbatched:
        out, indices = out.squeeze(0), indices.squeeze(0)
    return (out, indices) if return_indices else out


def avg_pool2d(
    input: Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-d average pooling over (N, C, H, W) or (C, H, W) input, as ``torch.nn.functional.avg_pool2d``
    (zero padding counted in the divisor when ``count_include_pad``; ``divisor_override`` replaces it).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.avg_pool2d(gc.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    x, unbatched = _pool_input(input, "avg_pool2d")
    out_hw, params = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    if divisor_override is not None and int(divisor_override) <= 0:
        raise ValueError(f"avg_pool2d: divisor_override must be positive, got {divisor_override}")
    divisor = 0 if divisor_override is None else int(divisor_override)
    out = AvgPool2d.apply(
        x, out_hw=out_hw, params=params, count_include_pad=bool(count_include_pad), divisor=divisor
    )
    return out.squeeze(0) if unbatched else out


def _adaptive_matrix(n_in: int, n_out: int, like: Tensor) -> Tensor:
    """(n_out, n_in) averaging weights of torch's adaptive windows [floor(i*in/out), ceil((i+1)*in/out))."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)
    j = np.arange(n_in)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return tensor(inside / (end - start)[:, None], dtype=like.dtype, device=like.device)


def adaptive_avg_pool2d(input: Tensor, output_size: IntOrPair | Sequence[int | None]) -> Tensor:
    """Average pooling to a fixed (OH, OW) with torch's adaptive windows; None keeps that input size.
    Windows that tile the input run the avg-pool kernel; others are two small averaging matmuls
    (A_h @ x @ A_w^T), so backward comes from matmul's.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.adaptive_avg_pool2d(gc.arange(16.0).reshape(1, 1, 4, 4), 1).tolist()
        [[[[7.5]]]]
    """
    x, unbatched = _pool_input(input, "adaptive_avg_pool2d")
    sizes = (output_size, output_size) if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
    oh, ow = (x.shape[2 + i] if sizes[i] is None else int(sizes[i]) for i in range(2))
    if oh <= 0 or ow <= 0:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {(oh, ow)}")
    h, w = x.shape[2:]
    if h % oh == 0 and w % ow == 0:  # equal windows that tile the input: torch's windows, the pool kernel
        k = (h // oh, w // ow)
        out = AvgPool2d.apply(
            x, out_hw=(oh, ow), params=(k[0], k[1], k[0], k[1], 0, 0, 1, 1), count_include_pad=True, divisor=0
        )
    else:
        out = _adaptive_matrix(h, oh, x) @ x @ _adaptive_matrix(w, ow, x).transpose(0, 1)
    return out.squeeze(0) if unbatched else out


@lru_cache(maxsize=256)
def _device_index(device: str, make: Any, *args: Any) -> Tensor:
    """The int64 index tensor ``make(*args)`` on ``device``, uploaded once: later calls (a training loop,
    a captured CUDA graph) reuse it. Callers only read it."""
    return tensor(make(*args), dtype=int64, device=device)


def _nearest_index(n_in: int, n_out: int, scale: float | None, exact: bool, shortcuts: bool) -> np.ndarray:
    """torch's nearest source index in float32: floor(dst * s) ('nearest') or floor((dst + 0.5) * s)
    ('nearest-exact'), s = 1/scale_factor when given, else in/out. torch's 2-d 'nearest' kernel alone
    (``shortcuts``) copies a dim whose size is unchanged and maps a doubled one to dst // 2, whatever
    the scale; its 1-d and 3-d kernels do not."""
    if shortcuts and n_out == n_in:
        return np.arange(n_out, dtype=np.int64)
    if shortcuts and n_out == 2 * n_in:
        return np.arange(n_out, dtype=np.int64) >> 1
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(n_in) / np.float32(n_out)
    dst = np.arange(n_out, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    src = np.floor(dst * s).astype(np.int64)
    return np.minimum(src, n_in - 1)


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> Tensor:
    """Resizes the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) input, as
    ``torch.nn.functional.interpolate``; modes 'nearest' (source index floor(dst * in / out), or
    floor(dst / scale_factor) when a scale is given, as torch) and 'nearest-exact' (dst + 0.5).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.interpolate(gc.tensor([[[[1.0, 2.0]]]]), scale_factor=2).tolist()
        [[[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]]]
    """
    from .interpolate_linear import LINEAR_MODES  # the linear modes live in their own file

    if mode not in ("nearest", "nearest-exact") and mode not in LINEAR_MODES:
        raise NotImplementedError(
            f"interpolate: mode {mode!r} is not implemented (only 'nearest', 'nearest-exact', 'linear', "
            "'bilinear', 'bicubic', 'trilinear' and 'area')"
        )
    if align_corners is not None and mode not in LINEAR_MODES:
        raise ValueError("interpolate: align_corners only applies to the linear modes, not 'nearest'")
    if not isinstance(input, Tensor) or input.ndim not in (3, 4, 5):
        shape = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"interpolate: expected a 3-d, 4-d or 5-d (N, C, ...) input, got {shape}")
    k = input.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = input.shape[2:]
    if size is not None:
        out_sizes = (size,) * k if isinstance(size, (int, np.integer)) else tuple(size)
        if len(out_sizes) != k:
            raise ValueError(f"interpolate: size {size} must have {k} entries for a {input.ndim}-d input")
        scales: tuple[float | None, ...] = (None,) * k
    else:
        sf = (scale_factor,) * k if np.ndim(scale_factor) == 0 else tuple(scale_factor)
        if len(sf) != k:
            raise ValueError(f"interpolate: scale_factor {scale_factor} must have {k} entries")
        out_sizes = tuple(math.floor(n * float(f)) for n, f in zip(in_sizes, sf))
        scales = (None,) * k if recompute_scale_factor else tuple(float(f) for f in sf)
    out_sizes = tuple(int(n) for n in out_sizes)
    if min(out_sizes) <= 0:
        raise ValueError(f"interpolate: output size {out_sizes} must be positive (input {input.shape})")
    if 0 in in_sizes:
        raise ValueError(f"interpolate: input spatial size {in_sizes} must be non-zero")
    if mode in LINEAR_MODES:
        from .interpolate_linear import linear_interpolate

        return linear_interpolate(input, out_sizes, scales, mode, align_corners)
    out = input
    for i in range(k):
        shortcuts = mode == "nearest" and k == 2
        src = _nearest_index(in_sizes[i], out_sizes[i], scales[i], mode == "nearest-exact", shortcuts)
        if out_sizes[i] == in_sizes[i] and np.array_equal(src, np.arange(in_sizes[i])):
            continue  # an identity: no copy
        idx = _device_index(
            input.device,
            _nearest_index,
            in_sizes[i],
            out_sizes[i],
            scales[i],
            mode == "nearest-exact",
            shortcuts,
        )
        out = _index_select_checked(out, 2 + i, idx)
    return out if out is not input else input.clone()


def _pad_pairs(pad: Sequence[int], ndim: int) -> list[tuple[int, int]]:
    """torch's last-dim-first pad tuple as (before, after) per dim, first dim first."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > ndim:
        raise ValueError(
            f"pad: the pad tuple {pad} must have an even length of at most 2 * ndim ({2 * ndim})"
        )
    pairs = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        pairs[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return pairs


def _pad_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    j = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        return np.mod(j, n)
    period = 2 * (n - 1)  # reflect: mirror about the edges without repeating them
    j = np.mod(j, period) if period else np.zeros_like(j)
    return np.where(j < n, j, period - j)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pads (negative amounts crop) with torch's pad tuple: (left, right) of the last dim first, then
    the dim before. mode 'constant' (``value``, default 0) works on any dims; 'reflect', 'replicate' and
    'circular' pad trailing dims after the first (batch) dim.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.pad(gc.tensor([[1.0, 2.0]]), (1, 0), value=9.0).tolist()
        [[9.0, 1.0, 2.0]]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: input must be a Tensor, got {type(input).__name__}")
    pairs = _pad_pairs(pad, input.ndim)
    if mode == "constant":
        if any(n + min(b, 0) + min(a, 0) < 0 for n, (b, a) in zip(input.shape, pairs)):
            raise ValueError(f"pad: padding {tuple(pad)} crops more than input {input.shape} has")
        crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(input.shape, pairs))
        x = input[crop] if any(b < 0 or a < 0 for b, a in pairs) else input
        shape = tuple(n + max(b, 0) + max(a, 0) for n, (b, a) in zip(x.shape, pairs))
        index = tuple(slice(max(b, 0), max(b, 0) + n) for n, (b, _) in zip(x.shape, pairs))
        return ConstantPad.apply(x, shape=shape, index=index, value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not implemented")
    if value not in (None, 0):
        raise ValueError(f"pad: value only applies to mode 'constant', not {mode!r}")
    k = len(tuple(pad)) // 2
    if k >= input.ndim:
        raise ValueError(
            f"pad: mode {mode!r} pads at most the last {input.ndim - 1} dims of input {input.shape}"
        )
    out = input
    for d in range(input.ndim - k, input.ndim):
        b, a = pairs[d]
        n = input.shape[d]
        if b < 0 or a < 0:
            raise ValueError(f"pad: mode {mode!r} needs non-negative padding, got {tuple(pad)}")
        if mode == "reflect" and (b >= n or a >= n):
            raise ValueError(f"pad: reflect padding ({b}, {a}) must be less than the dim's size {n}")
        if mode != "reflect" and n == 0 or mode == "circular" and (b > n or a > n):
            raise ValueError(f"pad: {mode} padding ({b}, {a}) does not fit dim {d} of size {n}")
        if b or a:
            idx = _device_index(input.device, _pad_index, n, b, a, mode)
            out = _index_select_checked(out, d, idx)
    return out if out is not input else input.clone()


def _as_2d(input: Tensor, op: str) -> Tensor:
    """(N, C, L) or (C, L) as (N, C, 1, L) or (C, 1, L): the 1-d pools are the 2-d ones over one row."""
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        shape = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"{op}: expected a 2-d (C, L) or 3-d (N, C, L) input, got {shape}")
    return input.unsqueeze(-2)


def _one(v: Any, name: str, op: str) -> int:
    vals = (v,) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(vals) != 1:
        raise TypeError(f"{op}: {name} must be an int or a 1-tuple, got {v!r}")
    return int(vals[0])


def max_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """1-d max pooling over (N, C, L) or (C, L) input, as ``torch.nn.functional.max_pool1d``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.max_pool1d(gc.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
        [[[3.0, 2.0]]]
    """
    op = "max_pool1d"
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or (np.ndim(stride) == 1 and len(stride) == 0) else _one(stride, "stride", op)
    out = max_pool2d(
        _as_2d(input, op),
        (1, k),
        (1, s),
        (0, _one(padding, "padding", op)),
        (1, _one(dilation, "dilation", op)),
        ceil_mode,
        return_indices,
    )
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-d average pooling over (N, C, L) or (C, L) input, as ``torch.nn.functional.avg_pool1d``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.avg_pool1d(gc.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
        [[[2.0, 1.0]]]
    """
    op = "avg_pool1d"
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or (np.ndim(stride) == 1 and len(stride) == 0) else _one(stride, "stride", op)
    out = avg_pool2d(
        _as_2d(input, op), (1, k), (1, s), (0, _one(padding, "padding", op)), ceil_mode, count_include_pad
    )
    return out.squeeze(-2)


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:
    """Average pooling of (N, C, L) or (C, L) input to a fixed length with torch's adaptive windows.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.adaptive_avg_pool1d(gc.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
        [[[2.0, 1.0]]]
    """
    size = _one(output_size, "output_size", "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(_as_2d(input, "adaptive_avg_pool1d"), (1, size)).squeeze(-2)
