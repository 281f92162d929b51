"""Channel dropout (Dropout1d/2d/3d: one mask entry per (sample, channel)) and alpha dropout (keeps
SELU's zero mean and unit variance), modules and functions, on the Philox ``dropout_mask`` kernel."""

from __future__ import annotations

import math
import warnings

from .. import backend
from ..creation import generator
from ..tensor import Tensor
from .module import Module

_SELU_NEG_SAT = 1.7580993408473766  # -SELU's negative saturation value, alpha * scale (torch's constant)


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _mask(x: Tensor, shape: tuple[int, ...], p: float) -> Tensor:
    """A mask of the given shape on x's device: 0 with probability p, else 1 / (1 - p)."""
    m = backend.get(x.device).empty(shape, x.dtype.np)
    backend.kernel(x.device, "dropout_mask")(m, float(p), int(generator().integers(0, 1 << 63)), 0)
    return Tensor._wrap(m, x.device)


def _feature_shape(x: Tensor, batched_ndim: int, name: str) -> tuple[int, ...]:
    """One entry per (sample, channel): (N, C, 1, ...) for a batched input, (C, 1, ...) for an unbatched."""
    if x.ndim not in (batched_ndim - 1, batched_ndim):
        raise ValueError(
            f"{name}: expected {batched_ndim - 1}-d (unbatched) or {batched_ndim}-d (batched) input, "
            f"got input of shape {tuple(x.shape)}"
        )
    lead = 2 if x.ndim == batched_ndim else 1
    return tuple(x.shape[:lead]) + (1,) * (x.ndim - lead)


def _feature_dropout(
    x: Tensor, p: float, training: bool, batched_ndim: int, name: str, inplace: bool = False
) -> Tensor:
    _check_p(p)
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating:
        raise TypeError(f"{name}: needs a floating-point tensor, got {x.dtype}")
    shape = _feature_shape(x, batched_ndim, name)
    if not training or p == 0.0:
        return x
    mask = _mask(x, shape, p)
    if inplace:
        from .functional import _inplace

        return _inplace(lambda t: t * mask, x, True)
    return x * mask


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes whole channels of an (N, C, L) or (C, L) input with probability p, scaling the rest by
    1 / (1 - p).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> y = F.dropout1d(gc.ones(4, 8, 5), p=0.5)
        >>> all(len(set(row)) == 1 for sample in y.tolist() for row in sample)
        True
    """
    return _feature_dropout(input, p, training, 3, "dropout1d", inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes whole channels of an (N, C, H, W) input with probability p (a 3-d input is taken as
    (N, C, L), torch's current behaviour, with its warning)."""
    if isinstance(input, Tensor) and input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
            "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. Use "
            "dropout1d for 1-d channel dropout.",
            UserWarning,
            stacklevel=2,
        )
        return _feature_dropout(input, p, training, 3, "dropout2d", inplace)
    if isinstance(input, Tensor) and input.ndim != 4:
        raise ValueError(f"dropout2d: expected a 3-d or 4-d input, got input of shape {tuple(input.shape)}")
    return _feature_dropout(input, p, training, 4, "dropout2d", inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes whole channels of an (N, C, D, H, W) or (C, D, H, W) input with probability p."""
    return _feature_dropout(input, p, training, 5, "dropout3d", inplace)


def _alpha(x: Tensor, p: float, training: bool, shape: tuple[int, ...]) -> Tensor:
    _check_p(p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = (_mask(x, shape, p) != 0).to(x.dtype)
    a = 1.0 / math.sqrt((_SELU_NEG_SAT**2 * p + 1) * (1 - p))
    b = (keep - 1.0) * (_SELU_NEG_SAT * a) + _SELU_NEG_SAT * a * p
    return x * (keep * a) + b


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's saturation value and an affine correction keeps
    the mean and variance (torch's formula).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.alpha_dropout(gc.ones(3), 0.5, training=False).tolist()
        [1.0, 1.0, 1.0]
    """
    if inplace and training and p != 0.0:
        from .functional import _inplace

        return _inplace(lambda t: _alpha(t, p, True, tuple(t.shape)), input, True)
    return _alpha(input, p, training, tuple(input.shape))


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout of whole channels (dim 1) of a batched input."""
    if input.ndim < 2:
        raise ValueError(f"feature_alpha_dropout: expected at least 2 dims, got shape {tuple(input.shape)}")
    return _alpha(input, p, training, tuple(input.shape[:2]) + (1,) * (input.ndim - 2))


class _DropoutNd(Module):
    fn = staticmethod(dropout2d)

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return type(self).fn(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Channel dropout for (N, C, L) inputs. Example: ``gc.nn.Dropout1d(0.2)``."""

    fn = staticmethod(dropout1d)


class Dropout2d(_DropoutNd):
    """Channel dropout for (N, C, H, W) inputs. Example: ``gc.nn.Dropout2d(0.25)``."""

    fn = staticmethod(dropout2d)


class Dropout3d(_DropoutNd):
    """Channel dropout for (N, C, D, H, W) inputs."""

    fn = staticmethod(dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout (for SELU networks). Example: ``gc.nn.AlphaDropout(0.1)``."""

    fn = staticmethod(alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    fn = staticmethod(feature_alpha_dropout)


__all__ = [
    "AlphaDropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "FeatureAlphaDropout",
    "alpha_dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
]
