"""nn.utils.weight_norm / remove_weight_norm (torch's hook form): the weight re-parameterised as
g * v / ||v|| (norm over every dim but ``dim``), recomputed by a forward pre-hook, with torch's
parameter names (weight_g, weight_v) and order."""

from __future__ import annotations

from typing import Any

from .module import Module, Parameter


def _norm_except_dim(v: Any, dim: int) -> Any:
    """torch's norm_except_dim(v, 2, dim): dim -1 is the norm of the whole tensor (torch's convention
    here), otherwise the norm over every other dim, keeping dims."""
    if dim == -1:
        return v.norm()
    others = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(2, others, True) if others else v.abs()


class _WeightNorm:
    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def compute_weight(self, module: Module) -> Any:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module: Module, inputs: Any) -> None:
        object.__setattr__(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Re-parameterises ``module.<name>`` as ``<name>_g * <name>_v / ||<name>_v||`` (the norm over every
    dim but ``dim``; ``dim=None`` the whole tensor), recomputed before each forward, as
    torch.nn.utils.weight_norm.

    Example:
        >>> import gradcore as gc
        >>> m = gc.nn.utils.weight_norm(gc.nn.Linear(3, 2))
        >>> [n for n, _ in m.named_parameters()]
        ['bias', 'weight_g', 'weight_v']
    """
    if dim is None:
        dim = -1
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, _WeightNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    weight = getattr(module, name)
    if not isinstance(weight, Parameter):
        raise TypeError(f"weight_norm: module.{name} must be a Parameter, got {type(weight).__name__}")
    d = dim % weight.ndim if dim != -1 else -1
    fn = _WeightNorm(name, d)
    w = weight.detach()
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(_norm_except_dim(w, d).detach().clone()))
    module.register_parameter(name + "_v", Parameter(w.clone()))
    object.__setattr__(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Folds the weight_norm re-parameterisation back into a plain ``<name>`` Parameter, as torch's.

    Example:
        >>> import gradcore as gc
        >>> m = gc.nn.utils.remove_weight_norm(gc.nn.utils.weight_norm(gc.nn.Linear(3, 2)))
        >>> [n for n, _ in m.named_parameters()]
        ['bias', 'weight']
    """
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, _WeightNorm) and hook.name == name:
            weight = hook.compute_weight(module).detach()
            del module._forward_pre_hooks[key]
            delattr(module, name + "_g")
            delattr(module, name + "_v")
            if name in module.__dict__:
                object.__delattr__(module, name)
            setattr(module, name, Parameter(weight.clone()))
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")


__all__ = ["remove_weight_norm", "weight_norm"]
