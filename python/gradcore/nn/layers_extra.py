"""Layers added for torch parity: ParameterList / ParameterDict, AdaptiveMaxPool1d/2d, the 1-d and circular
pads, PixelShuffle / PixelUnshuffle, Unfold / Fold (im2col / col2im by index gathers), Bilinear; with
their functional forms. Built from index_select / scatter_add / reshape, so gradients come for free."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..creation import empty
from ..dtypes import DType
from ..tensor import Tensor
from . import init
from .module import Module, Parameter, factory_dtype
from .pool_functions import pad as _pad

# ---------------------------------------------------------------- parameter containers


def _as_parameter(value: Any) -> Any:
    return value if isinstance(value, Parameter) or not isinstance(value, Tensor) else Parameter(value)


class ParameterList(Module):
    """A list of parameters that the parent module registers (tensors are wrapped as Parameters).

    Example:
        >>> import gradcore as gc
        >>> ps = gc.nn.ParameterList([gc.nn.Parameter(gc.zeros(2)) for _ in range(3)])
        >>> len(ps), len(list(ps.parameters()))
        (3, 3)
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return self._size

    def _index(self, idx: int) -> str:
        if not -self._size <= idx < self._size:
            raise IndexError(f"index {idx} is out of range")
        return str(idx % self._size)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(self._size)[idx]])
        return getattr(self, self._index(idx))

    def __setitem__(self, idx: int, param: Any) -> None:
        setattr(self, self._index(idx), _as_parameter(param))

    def __iter__(self) -> Iterator[Any]:
        return iter(self[i] for i in range(self._size))

    def __iadd__(self, parameters: Iterable[Any]) -> ParameterList:
        return self.extend(parameters)

    def append(self, value: Any) -> ParameterList:
        name = str(self._size)
        self._size += 1
        setattr(self, name, _as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError(
                f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}"
            )
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        lines = []
        for i, p in enumerate(self):
            if isinstance(p, Tensor):
                size = "x".join(str(s) for s in p.shape)
                lines.append(f"  ({i}): Parameter containing: [{p.dtype} of size {size}]")
            else:
                lines.append(f"  ({i}): Object of type: {type(p).__name__}")
        return "\n".join(lines)


class ParameterDict(Module):
    """An ordered dict of parameters that the parent module registers.

    Example:
        >>> import gradcore as gc
        >>> pd = gc.nn.ParameterDict({"scale": gc.nn.Parameter(gc.ones(1))})
        >>> list(pd.keys()), [n for n, _ in pd.named_parameters()]
        (['scale'], ['scale'])
    """

    def __init__(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        super().__init__()
        self._keys: dict[str, None] = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict keys must be strings, got {type(key).__name__}")
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> list[str]:
        return list(self._keys)

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self._keys]

    def values(self) -> list[Any]:
        return [self[k] for k in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def pop(self, key: str) -> Any:
        v = self[key]
        del self[key]
        return v

    def clear(self) -> None:
        for k in list(self._keys):
            del self[k]

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        items = parameters.items() if isinstance(parameters, Mapping) else parameters
        for k, v in items:
            self[k] = v

    def extra_repr(self) -> str:
        lines = []
        for k, p in self.items():
            size = "x".join(str(s) for s in p.shape) if isinstance(p, Tensor) else ""
            lines.append(f"  ({k}): Parameter containing: [{getattr(p, 'dtype', '')} of size {size}]")
        return "\n".join(lines)


# ---------------------------------------------------------------- adaptive max pooling


def _adaptive_windows(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, K) input positions of torch's adaptive windows [floor(i n / o), ceil((i + 1) n / o)), the
    shorter ones padded by repeating their last position (which leaves the max unchanged)."""
    starts = (np.arange(n_out) * n_in) // n_out
    ends = -((-(np.arange(n_out) + 1) * n_in) // n_out)
    k = int((ends - starts).max()) if n_out else 0
    pos = starts[:, None] + np.arange(k)[None, :]
    return np.minimum(pos, ends[:, None] - 1)


def _out_sizes(output_size: Any, shape: tuple[int, ...], k: int, name: str) -> tuple[int, ...]:
    sizes = (output_size,) * k if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(sizes) != k:
        raise ValueError(f"{name}: output_size must have {k} entries, got {output_size!r}")
    out = tuple(shape[i] if s is None else int(s) for i, s in enumerate(sizes))
    if any(s <= 0 for s in out):
        raise ValueError(f"{name}: output_size must be positive, got {output_size!r}")
    return out


def _adaptive_max(input: Tensor, output_size: Any, k: int, return_indices: bool, name: str) -> Any:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (k + 1, k + 2):
        raise ValueError(f"{name}: expected a {k + 1}-d or {k + 2}-d input, got shape {tuple(input.shape)}")
    spatial = tuple(input.shape[-k:])
    if min(spatial) <= 0:
        raise ValueError(f"{name}: the input's spatial size {spatial} must be positive")
    out = _out_sizes(output_size, spatial, k, name)
    wins = [_adaptive_windows(n, o) for n, o in zip(spatial, out)]
    if k == 1:
        flat = wins[0]  # (O, K)
    else:  # (OH, OW, KH * KW) flat positions h * W + w
        h, w = wins
        flat = (h[:, None, :, None] * spatial[1] + w[None, :, None, :]).reshape(out[0], out[1], -1)
    lead = tuple(input.shape[:-k])
    rows = input.reshape(lead + (-1,))
    index = Tensor(flat.reshape(-1).astype(np.int64), device=input.device)
    picked = rows.index_select(rows.ndim - 1, index).reshape(lead + out + (flat.shape[-1],))
    values, which = picked.max(dim=-1)
    if not return_indices:
        return values
    table = Tensor(flat.reshape(out + (-1,)).astype(np.int64), device=input.device)
    table = table.reshape((1,) * len(lead) + tuple(table.shape)).expand(*(lead + tuple(table.shape)))
    return values, table.gather(table.ndim - 1, which.unsqueeze(-1)).squeeze(-1)


def adaptive_max_pool1d(input: Tensor, output_size: int | Sequence[int], return_indices: bool = False) -> Any:
    """Max over torch's adaptive windows of the last dim of an (N, C, L) or (C, L) input; with
    ``return_indices`` also the argmax positions.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.adaptive_max_pool1d(gc.tensor([[[1.0, 5.0, 2.0, 0.0]]]), 2).tolist()
        [[[5.0, 2.0]]]
    """
    return _adaptive_max(input, output_size, 1, return_indices, "adaptive_max_pool1d")


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max over torch's adaptive windows of an (N, C, H, W) or (C, H, W) input (None in output_size keeps
    that dim); with ``return_indices`` also the flat h * W + w argmax positions.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.adaptive_max_pool2d(gc.randn(2, 3, 7, 5), (2, 2)).shape
        (2, 3, 2, 2)
    """
    return _adaptive_max(input, output_size, 2, return_indices, "adaptive_max_pool2d")


class AdaptiveMaxPool1d(Module):
    """Adaptive max pooling to ``output_size`` positions. Example: ``gc.nn.AdaptiveMaxPool1d(4)``."""

    def __init__(self, output_size: int | Sequence[int], return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x: Tensor) -> Any:
        return adaptive_max_pool1d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveMaxPool1d):
    """Adaptive max pooling to an (H, W) ``output_size``. Example: ``gc.nn.AdaptiveMaxPool2d((1, 1))``."""

    def forward(self, x: Tensor) -> Any:
        return adaptive_max_pool2d(x, self.output_size, self.return_indices)


# ---------------------------------------------------------------- padding layers


def _padding(padding: int | Sequence[int], n: int, name: str) -> tuple[int, ...]:
    if isinstance(padding, int):
        return (padding,) * n
    padding = tuple(int(p) for p in padding)
    if len(padding) != n:
        raise ValueError(f"{name}: padding must be an int or a {n}-tuple, got {padding!r}")
    return padding


class _PadNd(Module):
    mode, dims = "constant", 1

    def __init__(self, padding: int | Sequence[int], value: float = 0.0) -> None:
        super().__init__()
        self.padding = _padding(padding, 2 * self.dims, type(self).__name__)
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(
                f"{type(self).__name__}: expected a {self.dims + 1}-d or {self.dims + 2}-d input, "
                f"got shape {tuple(x.shape)}"
            )
        if self.mode == "constant":
            return _pad(x, self.padding, "constant", self.value)
        return _pad(x, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}" if self.mode == "constant" else f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pads the last dim with ``value``. Example: ``gc.nn.ConstantPad1d((1, 2), 3.5)``."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(_PadNd):
    """Pads the last dim with zeros."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ModePad(_PadNd):
    """A pad with torch's one-argument constructor (no fill value)."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding)


class ReflectionPad1d(_ModePad):
    """Pads the last dim with its reflection (edge excluded)."""

    mode = "reflect"


class ReplicationPad1d(_ModePad):
    """Pads the last dim by repeating its edge values."""

    mode = "replicate"


class CircularPad1d(_ModePad):
    """Pads the last dim by wrapping around."""

    mode = "circular"


class CircularPad2d(_ModePad):
    """Pads the last two dims by wrapping around. Example: ``gc.nn.CircularPad2d(1)``."""

    mode, dims = "circular", 2


# ---------------------------------------------------------------- pixel shuffle


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r), as ``F.pixel_shuffle``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.pixel_shuffle(gc.zeros(1, 8, 3, 3), 2).shape
        (1, 2, 6, 6)
    """
    r = int(upscale_factor)
    if input.ndim < 3:
        raise ValueError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    if r <= 0 or c % (r * r):
        raise ValueError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W), the inverse of pixel_shuffle."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise ValueError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    if r <= 0 or h % r or w % r:
        raise ValueError(
            f"pixel_unshuffle expects height ({h}) and width ({w}) to be divisible by downscale_factor ({r})"
        )
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


class PixelShuffle(Module):
    """Rearranges channels into space (sub-pixel convolution). Example: ``gc.nn.PixelShuffle(2)``."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x: Tensor) -> Tensor:
        return pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Rearranges space into channels. Example: ``gc.nn.PixelUnshuffle(2)``."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x: Tensor) -> Tensor:
        return pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


# ---------------------------------------------------------------- unfold / fold


def _pair2(v: Any, name: str) -> tuple[int, int]:
    t = (v, v) if isinstance(v, int) else tuple(v)
    if len(t) != 2 or any(not isinstance(i, (int, np.integer)) or isinstance(i, bool) for i in t):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(t[0]), int(t[1])


def _im2col_index(hw: tuple[int, int], k, d, p, s, name: str) -> tuple[np.ndarray, tuple[int, int]]:
    """Flat positions in the padded (H + 2p, W + 2p) image, ordered (ki, kj, oi, oj) as torch's columns."""
    hp, wp = hw[0] + 2 * p[0], hw[1] + 2 * p[1]
    out = tuple((n - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i, n in enumerate((hp, wp)))
    if min(out) <= 0 or min(k) <= 0 or min(s) <= 0 or min(d) <= 0 or min(p) < 0:
        raise ValueError(
            f"{name}: the kernel {k} (dilation {d}, stride {s}, padding {p}) does not fit the input "
            f"of spatial size {hw}"
        )
    rows = (np.arange(out[0]) * s[0])[None, :] + (np.arange(k[0]) * d[0])[:, None]  # (KH, OH)
    cols = (np.arange(out[1]) * s[1])[None, :] + (np.arange(k[1]) * d[1])[:, None]  # (KW, OW)
    flat = rows[:, None, :, None] * wp + cols[None, :, None, :]  # (KH, KW, OH, OW)
    return flat.reshape(-1).astype(np.int64), out


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """im2col: the sliding (kh, kw) blocks of an (N, C, H, W) or (C, H, W) input as columns,
    (N, C * kh * kw, L), as ``F.unfold``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.unfold(gc.zeros(1, 3, 4, 4), 2).shape
        (1, 12, 9)
    """
    if input.ndim not in (3, 4):
        raise ValueError(f"unfold: expected a 3-d or 4-d input, got shape {tuple(input.shape)}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    k, d, p, s = (
        _pair2(v, n)
        for v, n in (
            (kernel_size, "kernel_size"),
            (dilation, "dilation"),
            (padding, "padding"),
            (stride, "stride"),
        )
    )
    flat, out = _im2col_index(tuple(x.shape[2:]), k, d, p, s, "unfold")
    if p != (0, 0):
        x = _pad(x, (p[1], p[1], p[0], p[0]))
    n, c = x.shape[:2]
    cols = x.reshape(n, c, -1).index_select(2, Tensor(flat, device=x.device))
    cols = cols.reshape(n, c * k[0] * k[1], out[0] * out[1])
    return cols.squeeze(0) if unbatched else cols


def fold(
    input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """col2im: sums the (N, C * kh * kw, L) columns back into an (N, C, H, W) image (overlaps add up), the
    adjoint of unfold, as ``F.fold``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.fold(gc.ones(1, 4, 9), (4, 4), 2)[0, 0].tolist()[1]
        [2.0, 4.0, 4.0, 2.0]
    """
    if input.ndim not in (2, 3):
        raise ValueError(f"fold: expected a 2-d or 3-d input, got shape {tuple(input.shape)}")
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    hw = _pair2(output_size, "output_size")
    k, d, p, s = (
        _pair2(v, n)
        for v, n in (
            (kernel_size, "kernel_size"),
            (dilation, "dilation"),
            (padding, "padding"),
            (stride, "stride"),
        )
    )
    flat, out = _im2col_index(hw, k, d, p, s, "fold")
    n, ck, length = x.shape
    kk = k[0] * k[1]
    if ck % kk:
        raise ValueError(
            f"fold: expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={ck} and kernel_size={k}"
        )
    if length != out[0] * out[1]:
        raise ValueError(
            f"fold: expected input's dimension 2 to match the calculated number of sliding blocks "
            f"{out[0]} * {out[1]} = {out[0] * out[1]}, but got input.size(2)={length}"
        )
    c = ck // kk
    hp, wp = hw[0] + 2 * p[0], hw[1] + 2 * p[1]
    src = x.reshape(n, c, kk * length)
    index = Tensor(flat, device=x.device).reshape(1, 1, -1).expand(n, c, kk * length)
    img = x.new_zeros((n, c, hp * wp)).scatter_add(2, index, src).reshape(n, c, hp, wp)
    img = img[:, :, p[0] : p[0] + hw[0], p[1] : p[1] + hw[1]]
    return img.squeeze(0) if unbatched else img


class Unfold(Module):
    """im2col as a module. Example: ``gc.nn.Unfold(kernel_size=3, padding=1)``."""

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, x: Tensor) -> Tensor:
        return unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
            f"stride={self.stride}"
        )


class Fold(Module):
    """col2im as a module. Example: ``gc.nn.Fold(output_size=(4, 5), kernel_size=(2, 2))``."""

    def __init__(
        self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, x: Tensor) -> Tensor:
        return fold(x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


# ---------------------------------------------------------------- bilinear


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o], as ``F.bilinear``.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.bilinear(gc.ones(4, 2), gc.ones(4, 3), gc.ones(5, 2, 3)).shape
        (4, 5)
    """
    if weight.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-d (out, in1, in2), got shape {tuple(weight.shape)}")
    o, i1, i2 = weight.shape
    if (
        input1.shape[-1] != i1
        or input2.shape[-1] != i2
        or tuple(input1.shape[:-1]) != tuple(input2.shape[:-1])
    ):
        raise ValueError(
            f"bilinear: inputs {tuple(input1.shape)} and {tuple(input2.shape)} do not match weight "
            f"{tuple(weight.shape)}"
        )
    lead = tuple(input1.shape[:-1])
    a, b = input1.reshape(-1, i1), input2.reshape(-1, i2)
    t = (a @ weight.permute(1, 0, 2).reshape(i1, o * i2)).reshape(-1, o, i2)
    y = (t * b.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (o,))


class Bilinear(Module):
    """y = x1^T A x2 + b with weight (out_features, in1_features, in2_features), torch's init
    U(-1/sqrt(in1), 1/sqrt(in1)).

    Example:
        >>> import gradcore as gc
        >>> gc.nn.Bilinear(2, 3, 4)(gc.ones(5, 2), gc.ones(5, 3)).shape
        (5, 4)
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        dt = factory_dtype(dtype, "Bilinear")
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(empty((out_features, in1_features, in2_features), dtype=dt))
        self.bias = Parameter(empty((out_features,), dtype=dt)) if bias else None
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


__all__ = [
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "Bilinear",
    "CircularPad1d",
    "CircularPad2d",
    "ConstantPad1d",
    "Fold",
    "ParameterDict",
    "ParameterList",
    "PixelShuffle",
    "PixelUnshuffle",
    "ReflectionPad1d",
    "ReplicationPad1d",
    "Unfold",
    "ZeroPad1d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "bilinear",
    "fold",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
]
