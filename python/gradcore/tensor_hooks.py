"""Tensor's gradient hooks: retain_grad, register_hook and register_post_accumulate_grad_hook (moved out of
tensor.py, whose class binds them as methods)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .autograd import post_accumulate_hooks_for

if TYPE_CHECKING:
    from .tensor import Tensor


def retain_grad(self: Tensor) -> None:
    """Keeps ``.grad`` for this non-leaf tensor in the next backward passes (a no-op on leaves)."""
    if not self.requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if self._ctx is not None:
        self._retains_grad = True


def register_hook(self: Tensor, hook: Any) -> _HookHandle:
    """Calls ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces the
    gradient. Returns a handle whose ``remove()`` unregisters it.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> x.sum().backward(); x.grad.tolist()
        [10.0, 10.0]
    """
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    owner = self._ctx if self._ctx is not None else self
    if getattr(owner, "_hooks", None) is None:
        owner._hooks = {}
    return _HookHandle(owner._hooks, hook)

def register_post_accumulate_grad_hook(self: Tensor, hook: Any) -> _HookHandle:
    """Calls ``hook(tensor)`` on this leaf after backward has accumulated its gradient into ``.grad``
    (torch's hook of that name; DistributedDataParallel starts its bucket reductions from it).
    Returns a handle whose ``remove()`` unregisters it.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0, 2.0], requires_grad=True)
        >>> h = w.register_post_accumulate_grad_hook(lambda p: print(p.grad.tolist()))
        >>> (w * 3).sum().backward()
        [3.0, 3.0]
    """
    if self._ctx is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    return _HookHandle(post_accumulate_hooks_for(self), hook)


class _HookHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook."""

    _next = 0

    def __init__(self, hooks: dict, hook: Any) -> None:
        _HookHandle._next += 1
        self.id, self.hooks = _HookHandle._next, hooks
        hooks[self.id] = hook

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
