"""The tape: Function (one per primitive), grad mode, and the reverse pass over the graph."""

from __future__ import annotations

import functools
import sys
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend

if TYPE_CHECKING:
    from .tensor import Tensor

class _State(threading.local):
    """The thread-local autograd flags. The class attributes are every thread's defaults: a getattr of a
    flag never set on this thread would otherwise raise and catch AttributeError inside (~1.5 us), and
    the grad-mode and anomaly flags are read on every op."""

    enabled = True
    anomaly = False
    unit_seed = None
    backward_of = None


_state = _State()
_tensor_type: Any = None  # gradcore.Tensor, registered by tensor.py (which imports this module)
_autocast_hook: Any = None  # set by autocast.py while a region is open: (cls, inputs) -> inputs


def register_tensor_type(cls: type) -> None:
    global _tensor_type
    _tensor_type = cls
    # The native fast path reads the Tensor's slots and this module's _autocast_hook / _anomaly_scopes.
    backend._C.cpu.register_fast_path(cls, sys.modules[__name__])


def is_grad_enabled() -> bool:
    return _state.enabled


# The seed gradient that backward() made for a scalar output (the implicit 1), while that pass runs.
# Fused primitives whose forward already produced d(out)/d(in) hand it over unscaled for it, saving
# a pass over memory.
def is_unit_seed(t: Tensor) -> bool:
    return t is _state.unit_seed


def is_anomaly_enabled() -> bool:
    return _state.anomaly


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
    """Turns graph recording on or off, as torch's: at once when called (``gc.set_grad_enabled(False)``
    as a plain statement), until the end of a ``with`` block, or around each call when used as a decorator.
    """

    flag, default = "enabled", True

    def __init__(self, mode: bool) -> None:
        super().__init__(bool(mode))
        self._prev: bool | None = getattr(_state, "enabled", True)  # torch sets the mode on construction
        _state.enabled = self.value

    def __enter__(self) -> None:
        # entering right after construction restores what was set before it, not the mode it just set
        self._saved.append(self._prev if self._prev is not None else getattr(_state, "enabled", True))
        self._prev = None
        _state.enabled = self.value

    def __exit__(self, *exc: object) -> None:
        if self._saved:
            _state.enabled = self._saved.pop()
        elif self._prev is not None:  # exited without entering: back to the mode before construction
            _state.enabled, self._prev = self._prev, None

    def __call__(self, fn):
        if self._prev is not None:  # decorating: undo the construction's switch, apply per call
            _state.enabled, self._prev = self._prev, None
        return super().__call__(fn)


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

    # How many enabling scopes are open in any thread: while none is, Function.apply skips reading the
    # thread-local flag (a few hundred instructions per op).
    def __enter__(self) -> None:
        super().__enter__()
        global _anomaly_scopes
        with _anomaly_lock:
            _anomaly_scopes += 1

    def __exit__(self, *exc: object) -> None:
        global _anomaly_scopes
        with _anomaly_lock:
            _anomaly_scopes -= 1
        super().__exit__(*exc)


_anomaly_scopes = 0
_anomaly_lock = threading.Lock()


def _check_finite(t: Tensor, what: str) -> None:
    if not t.dtype.is_floating:
        return
    # From the storage itself: ToDevice's result is checked before apply() gives it its new device.
    host = t._data if isinstance(t._data, np.ndarray) else t._data.numpy()
    if not np.isfinite(host).all():
        raise RuntimeError(f"{what} returned NaN or infinity in its result")


class no_grad(set_grad_enabled):
    """Disables graph recording, like ``torch.no_grad``; usable as ``with gc.no_grad():``, as
    ``@gc.no_grad()`` and as a bare ``@gc.no_grad`` decorator.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([1.0], requires_grad=True)
        >>> with gc.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    def __new__(cls, fn: Any = None):
        self = super().__new__(cls)
        if callable(fn):  # bare @no_grad: decorate at once
            self.__init__()
            return self(fn)
        return self

    def __init__(self, fn: Any = None) -> None:
        super().__init__(False)


class enable_grad(no_grad):
    """Turns graph recording back on inside a ``no_grad`` block, like ``torch.enable_grad``.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([1.0], requires_grad=True)
        >>> with gc.no_grad(), gc.enable_grad():
        ...     (x * 2).requires_grad
        True
    """

    def __init__(self, fn: Any = None) -> None:
        set_grad_enabled.__init__(self, True)


class inference_mode(no_grad):
    """``torch.inference_mode``: here the same as ``no_grad`` (``inference_mode(False)`` records).

    Example:
        >>> import gradcore as gc
        >>> with gc.inference_mode():
        ...     gc.tensor([1.0], requires_grad=True).exp().requires_grad
        False
    """

    def __new__(cls, mode: Any = True):
        return super().__new__(cls, mode if callable(mode) else None)

    def __init__(self, mode: Any = True) -> None:
        set_grad_enabled.__init__(self, False if callable(mode) else not mode)


_MODIFIED = (
    "one of the variables needed for gradient computation has been modified by an inplace operation: "
    "[{dtype} {shape}], saved by {fn}, is at version {now}; expected version {then} instead. "
    "Hint: clone() the tensor before modifying it in place, or do the in-place write before using it."
)


_new_object = object.__new__  # Function.apply makes its output tensor with this


def _version(t: Any) -> int:
    vc = t._vc
    return 0 if vc is None else vc[0]


class Function:
    """A primitive: ``forward`` computes raw storage from Tensors, ``backward`` maps the output
    gradient to input gradients using Tensor ops (so the backward pass is itself differentiable).

    The graph's nodes are these calls: ``parent_fns[i]`` is the Function that had produced input i
    when this call was recorded (None for a leaf), so an in-place op that later gives an input new
    history does not change this call's past. The inputs' versions are recorded; backward raises if a
    saved input (or the output, when read through ``output``) was modified in place since.
    """

    __slots__ = (
        "parents",
        "parent_fns",
        "needs_input_grad",
        "_out_version",
        "_versions",
        "saved",
        "released",
        "_out",
        "__weakref__",
    )
    view = False  # True where the output is a view of inputs[0] (it shares its version counter)
    _hooks: Any = None  # a dict once register_hook is called on the output

    # No Python __init__ (one call less per op): apply() sets `saved` before forward, and `released` and
    # `_out` when it records the call. They are slots, so no instance __dict__ is made per op either.

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Tensor) -> tuple[Tensor | None, ...] | Tensor | None:
        raise NotImplementedError

    def save(self, *items: Any) -> None:
        self.saved = items

    @property
    def output(self) -> Tensor:
        """The tensor this call produced (held weakly, so the graph has no reference cycle)."""
        out = self._out()
        if out is not None and _version(out) != self._out_version:
            raise RuntimeError(
                _MODIFIED.format(
                    dtype=out.dtype, shape=list(out.shape), fn=type(self).__name__,
                    now=_version(out), then=self._out_version,
                )
            )
        return out

    def name(self) -> str:
        """The primitive's name, as ``torch``'s ``grad_fn.name()``."""
        return type(self).__name__ + "Backward0"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """(node, 0) per input: the producing Function, an accumulator for a leaf, or None."""
        out = []
        for p, pf in zip(self.parents, self.parent_fns):
            out.append((pf if pf is not None else (AccumulateGrad(p) if p.requires_grad else None), 0))
        return tuple(out)

    @classmethod
    def apply(cls, *inputs: Tensor, **kwargs: Any) -> Tensor:
        if _autocast_hook is not None:
            inputs = _autocast_hook(cls, inputs)
        fn = cls()
        fn.saved = ()
        # The hot path of every op: slot reads instead of properties, no generator, one thread-local
        # read for the grad mode (each saved step is ~0.05-0.1 us, against a ~2 us op).
        need = False
        for t in inputs:
            if t._requires_grad:
                need = True
                break
        fn.needs_input_grad = tuple([t._requires_grad for t in inputs]) if need else (False,) * len(inputs)
        data = fn.forward(*inputs, **kwargs) if kwargs else fn.forward(*inputs)
        # Tensor._wrap, inlined (one call less per op): keep the two in step.
        out = _new_object(_tensor_type)
        out._data = data
        out.device = inputs[0].device
        out._requires_grad = False
        out._grad = out._ctx = out._vc = out._base = out._hooks = None
        out._retains_grad = False
        if fn.view:  # views (and detach) share the base's version counter, as in PyTorch
            base = inputs[0]
            if base._vc is None:
                base._vc = [0]
            out._vc = base._vc
            if base._base is None:
                out._base, out._view_chain = base, ((cls, kwargs),)
            else:  # a view of a view: replayed from the root base when the view is written in place
                out._base, out._view_chain = base._base, base._view_chain + ((cls, kwargs),)
        if _anomaly_scopes and _state.anomaly:
            inside = _state.backward_of
            _check_finite(
                out, f"Function {cls.__name__}" + (f" (in the backward of {inside})" if inside else "")
            )
        if need and _state.enabled:
            fn.parents = inputs
            # One loop, no comprehension: this runs for every recorded op (the hot path).
            parent_fns, versions = [], []
            for t in inputs:
                parent_fns.append(t._ctx)
                vc = t._vc
                versions.append(0 if vc is None else vc[0])
            fn.parent_fns, fn._versions = parent_fns, versions
            vc = out._vc
            fn._out_version = 0 if vc is None else vc[0]
            if not out.dtype.is_floating:  # the requires_grad setter's check, without its other work
                out.requires_grad = True
            out._requires_grad = True
            out._ctx = fn
            fn.released = False
            fn._out = weakref.ref(out)
        return out

    def check_versions(self) -> None:
        """Raises if a saved input was written in place after this call was recorded."""
        for t, v in zip(self.parents, self._versions):  # the common case first: no input was written
            vc = t._vc
            if vc is not None and vc[0] != v:
                break
        else:
            return
        for t in self.saved:
            if not isinstance(t, _tensor_type):
                continue
            v = None
            for p, pv in zip(self.parents, self._versions):
                if p is t:
                    v = pv
                    break
            if v is None:
                continue  # not an input: its version was not recorded
            if _version(t) != v:
                raise RuntimeError(
                    _MODIFIED.format(
                        dtype=t.dtype, shape=list(t.shape), fn=type(self).__name__, now=_version(t), then=v
                    )
                )

    def release(self) -> None:
        self.saved = ()
        self.released = True


class AccumulateGrad:
    """The node of a leaf in ``next_functions`` (its ``variable`` is the leaf), as in PyTorch."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "AccumulateGrad"


def _children(node: Any) -> list[Any]:
    """The nodes a gradient flows to from node: parent Functions, or leaf tensors that require grad."""
    if isinstance(node, Function):
        return [
            pf if pf is not None else p
            for p, pf, need in zip(node.parents, node.parent_fns, node.needs_input_grad)
            if need and (pf is not None or p.requires_grad)
        ]
    return []


def _topological_order(roots: list[Any]) -> list[Any]:
    """Post-order of the graph below the roots, iteratively (deep graphs hit no recursion limit)."""
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(r, False) for r in reversed(roots)]
    push = stack.append
    # _children inlined, no generators (this runs once per backward() over every node of the graph).
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        key = id(node)
        if key in seen:
            continue
        seen.add(key)
        if not isinstance(node, Function):  # a leaf has no children: it is done at once
            order.append(node)
            continue
        push((node, True))
        # Leaves go on the stack first, so they are visited last: in the reversed order backward runs,
        # a leaf's gradient is then accumulated right after its consumer's backward, not after the whole
        # graph (as torch's engine does; DistributedDataParallel starts its all-reduces from there).
        fns = None
        for p, pf, need in zip(node.parents, node.parent_fns, node.needs_input_grad):
            if not need:
                continue
            if pf is None:
                if p._requires_grad and id(p) not in seen:
                    push((p, False))
            elif id(pf) not in seen:
                if fns is None:
                    fns = [pf]
                else:
                    fns.append(pf)
        if fns is not None:
            for pf in fns:
                push((pf, False))
    return order


def _node(t: Tensor) -> Any:
    return t._ctx if t._ctx is not None else t


def unit_seed_for(t: Tensor) -> Tensor:
    """The implicit gradient of a one-element output: ones of its shape, dtype and device."""
    data = backend.get(t.device).empty(t.shape, t._data.dtype)
    backend.kernel(t.device, "fill")(data, 1.0)  # straight to the kernel: no fill_ / copy_ checks
    return _tensor_type._wrap(data, t.device)


def run_backward(
    root: Tensor, gradient: Tensor, retain_graph: bool, create_graph: bool, unit_seed: bool = False
) -> None:
    """Accumulates d(root)/d(leaf) * gradient into every leaf's ``.grad``."""
    node = _node(root)
    order = _topological_order([node])
    grads: dict[int, Tensor] = {id(node): gradient}
    _state.unit_seed = gradient if unit_seed else None
    try:
        _reverse_pass(order, grads, retain_graph, create_graph)
    finally:
        _state.unit_seed = None


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a tuple, as
    ``torch.autograd.grad``; no ``.grad`` attribute is touched.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([1.0, 2.0], requires_grad=True)
        >>> (g,) = gc.autograd.grad((x * x).sum(), x)
        >>> g.tolist(), x.grad
        ([2.0, 4.0], None)
    """
    outs = [outputs] if isinstance(outputs, _tensor_type) else list(outputs)
    ins = [inputs] if isinstance(inputs, _tensor_type) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, _tensor_type):
        gouts: list[Any] = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    else:
        gouts = list(grad_outputs)
    if len(gouts) != len(outs):
        raise ValueError(f"grad: {len(outs)} outputs but {len(gouts)} grad_outputs")
    for i, t in enumerate(ins):
        if not isinstance(t, _tensor_type):
            raise TypeError(f"grad: inputs must be tensors, got {type(t).__name__} at {i}")
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots, grads = [], {}
    for i, (o, g) in enumerate(zip(outs, gouts)):
        if not o.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if o.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = unit_seed_for(o)
        else:
            g = o._coerce(g).to(o.dtype)
            if g.shape != o.shape:
                raise RuntimeError(f"grad: grad_outputs[{i}] has shape {g.shape}, expected {o.shape}")
        node = _node(o)
        roots.append(node)
        grads[id(node)] = g if id(node) not in grads else grads[id(node)] + g
    if retain_graph is None:
        retain_graph = create_graph
    order = _topological_order(roots)
    wanted = {id(_node(t)): None for t in ins}
    needed: set[int] = set()
    for node in order:  # children come first: prune what cannot reach an input
        if id(node) in wanted or any(id(c) in needed for c in _children(node)):
            needed.add(id(node))
    order = [n for n in order if id(n) in needed]
    captured: dict[int, Tensor] = {}
    _reverse_pass(order, grads, retain_graph, create_graph, capture=wanted, captured=captured)
    result: list[Tensor | None] = []
    for i, t in enumerate(ins):
        g = captured.get(id(_node(t)))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
        result.append(g)
    return tuple(result)


# Post-accumulate-grad hooks by id of their leaf (Tensor has __slots__); an entry dies with its tensor.
_post_accumulate_hooks: dict[int, dict[int, Any]] = {}


def post_accumulate_hooks_for(t: Tensor) -> dict[int, Any]:
    """The hook table of leaf t that ``register_post_accumulate_grad_hook`` adds to."""
    hooks = _post_accumulate_hooks.get(id(t))
    if hooks is None:
        hooks = _post_accumulate_hooks[id(t)] = {}
        weakref.finalize(t, _post_accumulate_hooks.pop, id(t), None)
    return hooks


def _run_post_accumulate_hooks(leaf: Tensor) -> None:
    hooks = _post_accumulate_hooks.get(id(leaf)) if _post_accumulate_hooks else None
    if hooks:
        for hook in list(hooks.values()):
            hook(leaf)


def _run_hooks(hooks: Any, g: Tensor) -> Tensor:
    for hook in list(hooks.values()):
        new = hook(g)
        if new is not None:
            g = new
    return g


def _reverse_pass(
    order: list[Any],
    grads: dict[int, Tensor],
    retain_graph: bool,
    create_graph: bool,
    capture: dict[int, Any] | None = None,
    captured: dict[int, Tensor] | None = None,
) -> None:
    grads_needed = {id(n) for n in order} if capture is not None else set()
    anomaly = _state.anomaly
    with set_grad_enabled(create_graph):
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if not isinstance(node, Function):  # a leaf
                hooks = getattr(node, "_hooks", None)
                if hooks:
                    g = _run_hooks(hooks, g)
                if capture is None:
                    node._accumulate_grad(g if create_graph else g.detach())
                    if _post_accumulate_hooks:
                        _run_post_accumulate_hooks(node)
                elif id(node) in capture:
                    captured[id(node)] = g
                continue
            fn = node
            if fn.released:
                raise RuntimeError(
                    "Trying to backward through the graph a second time; pass retain_graph=True "
                    "to the first backward() if you need to"
                )
            fn.check_versions()
            hooks = getattr(fn, "_hooks", None)
            if hooks:
                g = _run_hooks(hooks, g)
            if capture is not None and id(fn) in capture:
                captured[id(fn)] = g
                if not any(id(c) in capture or id(c) in grads_needed for c in _children(fn)):
                    continue  # nothing below this input was asked for
            if capture is None:
                out = fn._out()
                if out is not None and getattr(out, "_retains_grad", False) and out._ctx is fn:
                    kept = g if create_graph else g.detach()
                    out._grad = kept if out._grad is None else out._grad + kept
            if anomaly:
                _state.backward_of = type(fn).__name__  # named by anomaly mode's messages
                try:
                    in_grads = fn.backward(g)
                finally:
                    _state.backward_of = None
            else:
                in_grads = fn.backward(g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            # Slots and storage shapes read directly: this loop runs for every edge of the graph.
            i = -1
            for parent, pf, pg, need in zip(fn.parents, fn.parent_fns, in_grads, fn.needs_input_grad):
                i += 1
                if pg is None or not need:
                    continue
                if pf is None:
                    if not parent._requires_grad:
                        continue
                    key = id(parent)
                else:
                    key = id(pf)
                if anomaly:
                    _check_finite(pg, f"the backward of {type(fn).__name__} (gradient of input {i})")
                if pg._data.shape != parent._data.shape:
                    raise RuntimeError(
                        f"internal error: {type(fn).__name__}.backward gave a gradient of shape "
                        f"{pg.shape} for an input of shape {parent.shape}"
                    )
                prev = grads.get(key)
                grads[key] = pg if prev is None else prev + pg
            if not retain_graph:
                fn.saved = ()  # release(), inlined
                fn.released = True
