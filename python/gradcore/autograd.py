"""The tape: Function (one per primitive), grad mode, and the reverse pass over the graph."""

from __future__ import annotations

import functools
import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor

_state = threading.local()
_tensor_type: Any = None  # gradcore.Tensor, registered by tensor.py (which imports this module)


def register_tensor_type(cls: type) -> None:
    global _tensor_type
    _tensor_type = cls


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


# The seed gradient that backward() made for a scalar output (the implicit 1), while that pass runs.
# Fused primitives whose forward already produced d(out)/d(in) hand it over unscaled for it, saving
# a pass over memory.
def is_unit_seed(t: Tensor) -> bool:
    return t is getattr(_state, "unit_seed", None)


def is_anomaly_enabled() -> bool:
    return getattr(_state, "anomaly", False)


class _FlagScope:
    """Sets one thread-local autograd flag for a `with` block (re-entrant) or a decorated function."""

    flag = ""

    def __init__(self, value: bool) -> None:
        self.value = value
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(getattr(_state, self.flag, self.default))
        setattr(_state, self.flag, self.value)

    def __exit__(self, *exc: object) -> None:
        setattr(_state, self.flag, self._saved.pop())

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_FlagScope):
    """Context manager (and decorator) that turns graph recording on or off."""

    flag, default = "enabled", True


class detect_anomaly(_FlagScope):
    """Context manager (and decorator) that checks every op's output and every gradient for NaN or
    infinity and raises a RuntimeError naming the op, like ``torch.autograd.detect_anomaly``.
    It copies each result to the host to look at it, so it is for debugging, not for speed.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([-1.0], requires_grad=True)
        >>> with gc.detect_anomaly():
        ...     try:
        ...         x.log()
        ...     except RuntimeError as e:
        ...         print(str(e)[:40])
        Function Log returned NaN or infinity in
    """

    flag, default = "anomaly", False

    def __init__(self, enabled: bool = True) -> None:
        super().__init__(enabled)


def _check_finite(t: Tensor, what: str) -> None:
    if t.dtype.is_floating and not np.isfinite(t.numpy()).all():
        raise RuntimeError(f"{what} returned NaN or infinity in its result")


class no_grad(set_grad_enabled):
    """Disables graph recording, like ``torch.no_grad``.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([1.0], requires_grad=True)
        >>> with gc.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    def __init__(self) -> None:
        super().__init__(False)


class Function:
    """A primitive: ``forward`` computes raw storage from Tensors, ``backward`` maps the output
    gradient to input gradients using Tensor ops (so the backward pass is itself differentiable)."""

    __slots__ = ("parents", "needs_input_grad", "saved", "released", "_out", "__weakref__")

    def __init__(self) -> None:
        self.saved: tuple = ()
        self.released = False
        self._out: Any = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Tensor) -> tuple[Tensor | None, ...] | Tensor | None:
        raise NotImplementedError

    def save(self, *items: Any) -> None:
        self.saved = items

    @property
    def output(self) -> Tensor:
        """The tensor this call produced (held weakly, so the graph has no reference cycle)."""
        return self._out()

    @classmethod
    def apply(cls, *inputs: Tensor, **kwargs: Any) -> Tensor:
        fn = cls()
        fn.needs_input_grad = tuple(t.requires_grad for t in inputs)
        data = fn.forward(*inputs, **kwargs)
        out = _tensor_type._wrap(data, inputs[0].device)
        if getattr(_state, "anomaly", False):
            inside = getattr(_state, "backward_of", None)
            _check_finite(
                out, f"Function {cls.__name__}" + (f" (in the backward of {inside})" if inside else "")
            )
        if is_grad_enabled() and any(fn.needs_input_grad):
            fn.parents = inputs
            out.requires_grad = True
            out._ctx = fn
            fn._out = weakref.ref(out)
        return out

    def release(self) -> None:
        self.saved = ()
        self.released = True


def _topological_order(root: Tensor) -> list[Tensor]:
    """Post-order of the graph below root, iteratively (deep graphs hit no recursion limit)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            for parent in node._ctx.parents:
                if parent.requires_grad and id(parent) not in seen:
                    stack.append((parent, False))
    return order


def run_backward(
    root: Tensor, gradient: Tensor, retain_graph: bool, create_graph: bool, unit_seed: bool = False
) -> None:
    """Accumulates d(root)/d(leaf) * gradient into every leaf's ``.grad``."""
    order = _topological_order(root)
    grads: dict[int, Tensor] = {id(root): gradient}
    _state.unit_seed = gradient if unit_seed else None
    try:
        _reverse_pass(order, grads, retain_graph, create_graph)
    finally:
        _state.unit_seed = None


def _reverse_pass(
    order: list[Tensor], grads: dict[int, Tensor], retain_graph: bool, create_graph: bool
) -> None:
    with set_grad_enabled(create_graph):
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            fn = node._ctx
            if fn is None:
                node._accumulate_grad(g if create_graph else g.detach())
                continue
            if fn.released:
                raise RuntimeError(
                    "Trying to backward through the graph a second time; pass retain_graph=True "
                    "to the first backward() if you need to"
                )
            _state.backward_of = type(fn).__name__  # named by anomaly mode's messages
            try:
                in_grads = fn.backward(g)
            finally:
                _state.backward_of = None
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for i, (parent, pg) in enumerate(zip(fn.parents, in_grads)):
                if pg is None or not parent.requires_grad:
                    continue
                if getattr(_state, "anomaly", False):
                    _check_finite(pg, f"the backward of {type(fn).__name__} (gradient of input {i})")
                if pg.shape != parent.shape:
                    raise RuntimeError(
                        f"internal error: {type(fn).__name__}.backward gave a gradient of shape "
                        f"{pg.shape} for an input of shape {parent.shape}"
                    )
                prev = grads.get(id(parent))
                grads[id(parent)] = pg if prev is None else prev + pg
            if not retain_graph:
                fn.release()
