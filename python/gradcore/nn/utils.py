"""nn.utils: gradient clipping by total norm or by value; parameters <-> one flat vector."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..autograd import no_grad
from ..tensor import Tensor


def _grads(parameters: Iterable[Tensor] | Tensor) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


@no_grad()
def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,  # torch's kernel choice; one path here
) -> Tensor:
    """Scales all gradients in place so their joint ``norm_type`` norm is at most ``max_norm``;
    returns the total norm before clipping (a 0-d tensor), as torch.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([3.0, 4.0], requires_grad=True)
        >>> (w * w).sum().backward()  # grad (6, 8), norm 10
        >>> total = gc.nn.utils.clip_grad_norm_([w], 5.0)
        >>> total.item(), [round(v, 4) for v in w.grad.tolist()]
        (10.0, [3.0, 4.0])
    """
    grads = _grads(parameters)
    if not grads:
        return Tensor(0.0)
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        norms = [g.abs().max().to(grads[0].dtype) for g in grads]
        total = norms[0]
        for n in norms[1:]:
            total = total.maximum(n.to(total.device))
    else:
        total = None
        for g in grads:
            part = (g.abs() ** norm_type).sum()
            part = part if total is None else part.to(total.device)
            total = part if total is None else total + part
        total = total ** (1.0 / norm_type)
    value = float(total.item())
    if error_if_nonfinite and not math.isfinite(value):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot "
            "be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    coef = float(max_norm) / (value + 1e-6)
    if not coef >= 1.0:  # a NaN norm scales by NaN, as torch does
        for g in grads:
            g.copy_(g * coef)
    return total


@no_grad()
def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clamps every gradient in place to [-clip_value, clip_value]."""
    c = float(clip_value)
    for g in _grads(parameters):
        g.copy_(g.clamp(-c, c))


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated into one 1-d tensor (in the graph, as torch's).

    Example:
        >>> import gradcore as gc
        >>> net = gc.nn.Linear(3, 2)
        >>> gc.nn.utils.parameters_to_vector(net.parameters()).shape
        (8,)
    """
    from ..ops_index import cat

    if isinstance(parameters, Tensor):
        parameters = [parameters]
    flat, device = [], None
    for p in parameters:
        if device is not None and p.device != device:
            raise TypeError(f"Found two parameters on different devices, this is currently not supported "
                            f"({device} and {p.device})")
        device = p.device
        flat.append(p.reshape(-1))
    if not flat:
        raise ValueError("parameters_to_vector: got no parameters")
    return cat(flat)


@no_grad()
def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copies consecutive slices of the 1-d ``vec`` into the parameters (in place, outside the graph).

    Example:
        >>> import gradcore as gc
        >>> net = gc.nn.Linear(3, 2)
        >>> gc.nn.utils.vector_to_parameters(gc.zeros(8), net.parameters())
        >>> net.weight.abs().sum().item()
        0.0
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-d, got shape {tuple(vec.shape)}")
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if total != vec.shape[0]:
        raise ValueError(f"vector_to_parameters: vec has {vec.shape[0]} elements, the parameters {total}")
    start = 0
    for p in params:
        if p.device != vec.device:
            raise TypeError(f"Found two parameters on different devices ({vec.device} and {p.device})")
        n = p.numel()
        p.copy_(vec[start: start + n].reshape(p.shape).to(p.dtype))
        start += n


def get_total_norm(
    tensors: Iterable[Tensor] | Tensor,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The ``norm_type`` norm of all the tensors together (the norm of their norms), as torch's.

    Example:
        >>> import gradcore as gc
        >>> gc.nn.utils.get_total_norm([gc.tensor([3.0]), gc.tensor([4.0])]).item()
        5.0
    """
    ts = [tensors] if isinstance(tensors, Tensor) else [t for t in tensors if t is not None]
    if not ts:
        return Tensor(0.0)
    from ..ops_index import stack

    norm_type = float(norm_type)
    norms = [t.norm(norm_type).to(ts[0].device) for t in ts]
    total = stack(norms).norm(norm_type)
    if error_if_nonfinite and not math.isfinite(float(total.item())):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, "
            "set `error_if_nonfinite=False`"
        )
    return total


@no_grad()
def clip_grads_with_norm_(
    parameters: Iterable[Tensor] | Tensor,
    max_norm: float,
    total_norm: Tensor | float,
    foreach: bool | None = None,
) -> None:
    """Scales the gradients in place by max_norm / (total_norm + 1e-6) when that is below 1 (the second
    half of clip_grad_norm_, for a total norm computed elsewhere), as torch's.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([3.0, 4.0], requires_grad=True)
        >>> w.grad = gc.tensor([6.0, 8.0])
        >>> gc.nn.utils.clip_grads_with_norm_([w], 5.0, gc.nn.utils.get_total_norm([w.grad]))
        >>> [round(v, 4) for v in w.grad.tolist()]
        [3.0, 4.0]
    """
    total = float(total_norm.item() if isinstance(total_norm, Tensor) else total_norm)
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        for g in _grads(parameters):
            g.copy_(g * coef)


# nn.utils.rnn (torch's name) for pad_sequence; importable as gradcore.nn.utils.rnn too
import sys as _sys  # noqa: E402

from . import rnn_utils as rnn  # noqa: E402

_sys.modules[__name__ + ".rnn"] = rnn

from .weight_norm import remove_weight_norm, weight_norm  # noqa: E402, F401
