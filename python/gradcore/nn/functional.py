"""Stateless neural-network functions: activations, softmax, linear, dropout, norms and the losses."""

from __future__ import annotations

from collections.abc import Callable

from .. import backend, ops
from ..creation import arange, generator
from ..dtypes import DType, int64
from ..ops_index import index_bounds, where
from ..tensor import Tensor
from .inplace_ops import Snapshot
from .norm_ops import LogSoftmaxRows


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0). Example: ``F.relu(gc.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]``."""
    return _inplace(Tensor.relu, x, inplace)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with the exact erf form, or PyTorch's tanh approximation (``approximate='tanh'``).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.gelu(gc.tensor([1.0])).item(), 4)
        0.8413
    """
    if approximate == "none":
        return x * 0.5 * (1.0 + (x * 0.7071067811865476).erf())
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * 0.7978845608028654
        return x * 0.5 * (1.0 + inner.tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _inplace(fn: Callable[[Tensor], Tensor], x: Tensor, inplace: bool) -> Tensor:
    """fn(x), or with ``inplace=True`` fn(x) written into x and x returned (differentiably, as torch's
    x.relu_()). The composites save x for their backward, so with autograd they read a snapshot of it."""
    if not inplace:
        return fn(x)
    return x.copy_(fn(Snapshot.apply(x) if x.requires_grad else x))


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, negative_slope * x elsewhere."""
    return _inplace(lambda t: t.relu() - (-t).relu() * negative_slope, x, inplace)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere (exp only sees non-positive values)."""
    return _inplace(lambda t: t.relu() + ((t.minimum(0.0)).exp() - 1.0) * alpha, x, inplace)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return _inplace(lambda t: t * t.sigmoid(), x, inplace)


def softmax(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: DType | str | None = None, *,
            axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (``axis`` accepted as a NumPy alias; default the last dim),
    shifted by the max for stability; ``dtype`` casts the input first, as torch.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> round(F.softmax(gc.tensor([0.0, 0.0]), dim=0).numpy()[0].item(), 3)
        0.5
    """
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return softmax(x.reshape(1), 0).reshape(())
    return log_softmax(x, dim, axis=axis).exp()  # exp(x - logsumexp): the native row kernel, then exp


def log_softmax(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: DType | str | None = None, *,
                axis: int | None = None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (``axis`` accepted as a NumPy alias; default the last dim);
    ``dtype`` casts the input first, as torch."""
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return log_softmax(x.reshape(1), 0).reshape(())
    d = _dim_arg(dim, axis)
    if not x.dtype.is_floating:
        raise TypeError(f"log_softmax needs a float tensor, got {x.dtype}")
    if x.numel() == 0:  # nothing to normalize: an empty result of the same shape
        return x * 1.0
    d = d % x.ndim
    if d != x.ndim - 1:  # the kernel works on the last dim: swap dim there and back
        order = list(range(x.ndim))
        order[d], order[-1] = order[-1], order[d]
        return log_softmax(x.permute(order), -1).permute(order)
    rows = LogSoftmaxRows.apply(x.reshape(-1, x.shape[-1]))
    return rows.reshape(x.shape)


def _dim_arg(dim: int | None, axis: int | None) -> int:
    if dim is not None and axis is not None:
        raise TypeError("pass dim or axis, not both")
    return -1 if dim is None and axis is None else (dim if dim is not None else axis)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out, in) as in PyTorch; x may have any leading dims.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.linear(gc.ones(2, 3), gc.ones(4, 3), gc.zeros(4)).tolist()[0]
        [3.0, 3.0, 3.0, 3.0]
    """
    for t in (weight, bias):
        if t is not None and t.device != x.device:
            raise RuntimeError(f"linear: input on {x.device} but parameters on {t.device}")
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
    args = (flat, weight) if bias is None else (flat, weight, bias)
    out = ops.Linear.apply(*args)
    return out.reshape(*lead, weight.shape[0]) if x.ndim != 2 else out


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes each element with probability p and scales the rest by 1/(1-p) while training.

    The mask is drawn on x's device by the counter-based Philox4x32-10 kernel ``dropout_mask`` (the same
    mask on CPU and CUDA for the same seed); each call takes a fresh seed from the generator that
    ``gradcore.manual_seed`` seeds, so successive calls differ and a seed reproduces them. The gradient is
    mask * grad. p=1 zeroes everything, as in PyTorch. ``inplace=True`` multiplies x by the mask in place
    and returns x.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> y = F.dropout(gc.ones(1000), p=0.5)
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if not x.dtype.is_floating:
        raise TypeError(f"dropout needs a floating-point tensor, got {x.dtype}")
    mask = backend.get(x.device).empty(x.shape, x.dtype.np)
    seed = int(generator().integers(0, 1 << 63))
    backend.kernel(x.device, "dropout_mask")(mask, float(p), seed, 0)
    if inplace:
        return x.mul_(Tensor._wrap(mask, x.device))
    return x * Tensor._wrap(mask, x.device)


def one_hot(targets: Tensor, num_classes: int = -1, dtype: DType = int64) -> Tensor:
    """Targets of any shape -> shape + (num_classes,) with a 1 at each target, as ``F.one_hot``
    (int64 by default, like PyTorch; num_classes=-1 takes max + 1).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.one_hot(gc.tensor([[0, 2], [1, 0]]), 3).shape
        (2, 2, 3)
    """
    _check_targets_dtype(targets)
    if num_classes == -1:
        num_classes = int(targets.max().item()) + 1 if targets.numel() else 0
    if targets.numel():
        lo, hi = index_bounds(targets.detach())
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got {bad}")
    classes = arange(num_classes, device=targets.device).to(targets.dtype)
    return (targets.unsqueeze(-1) == classes).to(dtype)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the int tensor ``input``: shape input.shape + (dim,), as
    ``F.embedding``; the row at padding_idx gets no gradient. ``max_norm`` first rescales, in place, every
    picked row whose ``norm_type``-norm exceeds it to that norm (as torch); ``scale_grad_by_freq`` divides
    each row's gradient by how often it is picked in this call.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> F.embedding(gc.tensor([[0, 1]]), gc.ones(4, 3)).shape
        (1, 2, 3)
    """
    _check_targets_dtype(input)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-d (num_embeddings, dim), got shape {weight.shape}")
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported (use sparse=False)")
    ids = input.reshape(-1)
    if max_norm is not None and ids.numel():
        from ..autograd import no_grad

        with no_grad():  # torch's embedding_renorm_: a picked twice row gets the same value twice
            picked = weight.index_select(0, ids)
            norms = picked.norm(norm_type, dim=1, keepdim=True)
            over = (norms > max_norm).to(weight.dtype)
            weight.index_put_((ids,), picked * (1.0 + over * (max_norm / (norms + 1e-7) - 1.0)))
    rows = weight.index_select(0, ids)
    if scale_grad_by_freq and ids.numel():
        counts = weight.new_zeros((weight.shape[0],)).index_put((ids,), weight.new_ones(ids.shape), True)
        detached = rows.detach()  # forward value unchanged; the gradient divided by the row's count
        rows = detached + (rows - detached) / counts.index_select(0, ids).reshape(-1, 1)
    if padding_idx is not None:
        pad = padding_idx % weight.shape[0] if -weight.shape[0] <= padding_idx < weight.shape[0] else None
        if pad is None:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range ({weight.shape[0]} rows)")
        rows = where((input.reshape(-1, 1) == pad), rows.detach(), rows)
    return rows.reshape(input.shape + (weight.shape[1],))


def _check_targets_dtype(targets: Tensor) -> None:
    if not isinstance(targets, Tensor):
        raise TypeError(f"targets must be a Tensor, got {type(targets).__name__}")
    if targets.dtype.is_floating:
        raise TypeError(f"class targets must be an int64 or int32 tensor, got {targets.dtype}")


# The losses and norms live in their own files; re-exported here as torch.nn.functional has them.
from .conv_ops import conv2d, conv_transpose2d  # noqa: E402
from .loss_functions import (  # noqa: E402
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from .normalization import batch_norm, layer_norm  # noqa: E402
from .pool_functions import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    interpolate,
    max_pool1d,
    max_pool2d,
    pad,
)

__all__ = [
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "elu",
    "gelu",
    "huber_loss",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "tanh",
]
__all__ += [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "interpolate",
    "max_pool1d",
    "max_pool2d",
    "pad",
]

# Added for torch parity: the functions behind the added modules (their own files).
from .activation_functions import (  # noqa: E402
    celu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    prelu,
    relu6,
    selu,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)
from .conv1d import conv1d, conv_transpose1d  # noqa: E402
from .distance import cosine_similarity, normalize, pairwise_distance  # noqa: E402
from .dropout import alpha_dropout, dropout1d, dropout2d, dropout3d, feature_alpha_dropout  # noqa: E402
from .layers_extra import (  # noqa: E402
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    bilinear,
    fold,
    pixel_shuffle,
    pixel_unshuffle,
    unfold,
)
from .loss_functions_extra import (  # noqa: E402
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    kl_div,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from .normalization_extra import group_norm, instance_norm, rms_norm  # noqa: E402

__all__ += [
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "alpha_dropout",
    "bilinear",
    "celu",
    "conv1d",
    "conv_transpose1d",
    "cosine_embedding_loss",
    "cosine_similarity",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
    "fold",
    "gaussian_nll_loss",
    "glu",
    "group_norm",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hinge_embedding_loss",
    "instance_norm",
    "kl_div",
    "logsigmoid",
    "margin_ranking_loss",
    "mish",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "normalize",
    "pairwise_distance",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "prelu",
    "relu6",
    "rms_norm",
    "selu",
    "soft_margin_loss",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
    "triplet_margin_loss",
    "unfold",
]

from .layers_more import (  # noqa: E402
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d_with_indices,
    channel_shuffle,
    gumbel_softmax,
    local_response_norm,
    lp_pool1d,
    lp_pool2d,
    max_pool1d_with_indices,
    max_pool2d_with_indices,
    max_unpool1d,
    max_unpool2d,
    pdist,
    rrelu,
)
from .loss_functions_extra import multilabel_margin_loss, triplet_margin_with_distance_loss  # noqa: E402

__all__ += [
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "channel_shuffle",
    "gumbel_softmax",
    "local_response_norm",
    "lp_pool1d",
    "lp_pool2d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "multilabel_margin_loss",
    "pdist",
    "rrelu",
    "triplet_margin_with_distance_loss",
]

from .attention import scaled_dot_product_attention  # noqa: E402

__all__ += ["scaled_dot_product_attention"]

from .embedding_bag import embedding_bag  # noqa: E402

__all__ += ["embedding_bag"]

from .sampling import affine_grid, grid_sample  # noqa: E402

__all__ += ["affine_grid", "grid_sample"]

from .three_d import adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, conv3d, max_pool3d  # noqa: E402

__all__ += ["adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "conv3d", "max_pool3d"]

from .ctc import ctc_loss  # noqa: E402

__all__ += ["ctc_loss"]

from .layers_more import max_unpool3d  # noqa: E402
from .three_d import max_pool3d_with_indices  # noqa: E402

__all__ += ["max_pool3d_with_indices", "max_unpool3d"]
