"""Module and Parameter: the containers that hold a network's weights."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..dtypes import DType, as_dtype, float32, float64, get_default_dtype
from ..tensor import Tensor


def factory_dtype(dtype: DType | str | None, what: str) -> DType:
    """A layer's parameter dtype: the given one, else gradcore.get_default_dtype() (torch's rule);
    floating only, since weights are trained."""
    dt = get_default_dtype() if dtype is None else as_dtype(dtype)
    if not dt.is_floating:
        raise TypeError(f"{what}: parameters need a floating dtype, got {dt}")
    return dt


class IncompatibleKeys(NamedTuple):
    """What ``Module.load_state_dict`` returns: the keys it did not find and the ones it did not use."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"


class Parameter(Tensor):
    """A tensor that a Module registers as a weight (requires_grad on by default)."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            super().__init__(data.numpy(), dtype=data.dtype, device=data.device, requires_grad=requires_grad)
        else:
            super().__init__(data, requires_grad=requires_grad)


class Module:
    """Base class of layers and models, shaped like ``torch.nn.Module``.

    Example:
        >>> import gradcore as gc
        >>> net = gc.nn.Sequential(gc.nn.Linear(2, 3), gc.nn.ReLU(), gc.nn.Linear(3, 1))
        >>> [name for name, _ in net.named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError("call Module.__init__() before assigning attributes")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} to buffer {name!r} (a Tensor or None)")
            buffers[name] = value
        elif isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_modules", "_buffers"):
            self.__dict__[registry].pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        object.__delattr__(self, name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(module, args)`` runs before forward; a non-None result replaces the args.

        Example:
            >>> import gradcore as gc
            >>> net = gc.nn.Identity()
            >>> h = net.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
            >>> net(gc.tensor([1.0])).tolist(), h.remove()
            ([2.0], None)
        """
        return RemovableHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(module, args, output)`` runs after forward; a non-None result replaces the output."""
        return RemovableHandle(self._forward_hooks, hook)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Registers a non-trainable tensor (e.g. running statistics) that ``.to()`` moves and, when
        persistent, ``state_dict`` saves.

        Example:
            >>> import gradcore as gc
            >>> m = gc.nn.Module()
            >>> m.register_buffer("count", gc.zeros(1))
            >>> [name for name, _ in m.named_buffers()]
            ['count']
        """
        if "." in name or not name:
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"buffer {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"attribute {name!r} already exists")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Registers ``param`` under ``name`` (None unregisters), as ``setattr`` does for Parameters."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign {type(param).__name__} as parameter {name!r} (a Parameter or None)"
            )
        if "." in name or not name:
            raise KeyError(f"parameter name must be a non-empty string without '.', got {name!r}")
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Registers a child module under ``name``, as ``setattr`` does."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if "." in name or not name:
            raise KeyError(f"module name must be a non-empty string without '.', got {name!r}")
        setattr(self, name, module)

    def get_submodule(self, target: str) -> Module:
        """The module at a dotted path, e.g. ``net.get_submodule("encoder.0")``."""
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (in {target!r})")
            module = module._modules[part]
        return module

    def named_buffers(self, prefix: str = "", persistent_only: bool = False) -> Iterator[tuple[str, Tensor]]:
        for mod_prefix, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None and not (persistent_only and name in module._non_persistent_buffers_set):
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    def buffers(self) -> Iterator[Tensor]:
        for _, b in self.named_buffers():
            yield b

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Calls ``fn`` on every submodule (children first) and then on self, as torch does.

        Example:
            >>> import gradcore as gc
            >>> net = gc.nn.Sequential(gc.nn.Linear(2, 2))
            >>> _ = net.apply(lambda m: gc.nn.init.zeros_(m.bias) if isinstance(m, gc.nn.Linear) else None)
            >>> net[0].bias.tolist()
            [0.0, 0.0]
        """
        for child in self._modules.values():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_prefix, module in modules:
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_modules(self, prefix: str = "", _seen: set[int] | None = None) -> Iterator[tuple[str, Module]]:
        """Every module in the tree once (a module shared by two parents is listed at its first place)."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drops every parameter's gradient (or zeroes it in place with ``set_to_none=False``)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                with no_grad():
                    p.grad.zero_()

    def to(self, *args: Any, device: str | None = None, dtype: DType | None = None) -> Module:
        """Moves every parameter and buffer to a device and/or casts the floating ones to a dtype, in
        place, keeping the Parameter objects: ``to("cuda")``, ``to(gc.float64)``, ``to("cpu", gc.float32)``.
        """
        for a in args:
            if isinstance(a, str) or (not isinstance(a, DType) and "Device" in type(a).__name__):
                device = str(a)
            else:
                dtype = as_dtype(a)
        if dtype is not None and not dtype.is_floating:
            raise TypeError(f"Module.to only accepts floating dtypes, got {dtype}")
        device = backend.normalize_device(device) if device is not None else None
        for module in self.modules():
            for name, b in list(module._buffers.items()):
                if b is not None:
                    module._buffers[name] = _moved(b, device, dtype)
                    object.__setattr__(module, name, module._buffers[name])
        for p in self.parameters():
            moved = _moved(p.detach(), device, dtype)
            if moved.device != p.device or moved.dtype is not p.dtype:
                p._data, p.device, p._grad = moved._data, moved.device, None
        return self

    def double(self) -> Module:
        return self.to(dtype=float64)

    def float(self) -> Module:
        return self.to(dtype=float32)

    def half(self) -> Module:
        """Casts the floating parameters and buffers to float16 (``to(gc.float16)``)."""
        from ..dtypes import float16

        return self.to(dtype=float16)

    def bfloat16(self) -> Module:
        """Casts the floating parameters and buffers to bfloat16 (``to(gc.bfloat16)``)."""
        from ..dtypes import bfloat16

        return self.to(dtype=bfloat16)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(name, tensor) of every parameter and persistent buffer, tied ones under each name (as torch)."""
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        skip = getattr(self, "_non_persistent_buffers_set", ())
        for name, b in getattr(self, "_buffers", {}).items():
            if b is not None and name not in skip:
                yield prefix + name, b
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_entries(f"{prefix}{name}.")

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameter and buffer name -> a host copy of its values (NumPy arrays).

        Example:
            >>> import gradcore as gc
            >>> list(gc.nn.Linear(2, 3).state_dict())
            ['weight', 'bias']
        """
        return OrderedDict((name, np.array(t.numpy(), copy=True)) for name, t in self._state_entries())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copies values (arrays, tensors or nested lists) into the parameters and buffers, as torch.

        Entries whose shape differs from the parameter's raise ``RuntimeError`` always; with
        ``strict=True`` (the default) missing and unexpected keys raise too, all listed in one message.
        Nothing is copied when an error is raised. Returns ``(missing_keys, unexpected_keys)``.

        Example:
            >>> import gradcore as gc
            >>> a, b = gc.nn.Linear(2, 3), gc.nn.Linear(2, 3)
            >>> b.load_state_dict(a.state_dict())
            <All keys matched successfully>
            >>> b.load_state_dict({"weight": a.weight}, strict=False).missing_keys
            ['bias']
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"expected state_dict to be dict-like, got {type(state_dict).__name__}")
        own = dict(self._state_entries())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors: list[str] = []
        if strict:
            if missing:
                errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                errors.append(
                    "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + "."
                )
        arrays: list[tuple[Tensor, np.ndarray]] = []
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            try:
                array = np.asarray(value.numpy() if isinstance(value, Tensor) else value)
                if array.dtype.hasobject or array.dtype.kind in "USMm":
                    raise TypeError(f"dtype {array.dtype}")
                if array.shape == target.shape:
                    array = array.astype(target.dtype.np, copy=False)
            except (TypeError, ValueError) as e:
                kind = type(value).__name__
                errors.append(f"cannot load {name}: a {kind} is not an array of numbers ({e}).")
                continue
            if array.shape != target.shape:
                errors.append(
                    f"size mismatch for {name}: copying a param with shape {array.shape} from checkpoint, "
                    f"the shape in current model is {target.shape}."
                )
                continue
            arrays.append((target, array))
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors)
            )
        with no_grad():
            for target, array in arrays:
                target.copy_(Tensor(array, dtype=target.dtype, device=target.device))
        return IncompatibleKeys(missing, unexpected)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        # torch's layout: one line without children, else one line per extra-repr line and child,
        # indented, with the closing parenthesis on its own line
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({k}): " + repr(child).replace("\n", "\n  ") for k, child in self._modules.items()]
        if not child_lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(extra_lines + child_lines) + "\n)"


def _moved(t: Tensor, device: str | None, dtype: DType | None) -> Tensor:
    """t on device with dtype (None: unchanged); integer tensors keep their dtype, as in torch."""
    if device is not None and t.device != device:
        t = t.to(device)
    if dtype is not None and t.dtype.is_floating and t.dtype is not dtype:
        t = t.to(dtype)
    return t


class RemovableHandle:
    """Returned by the hook registrations; ``remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: OrderedDict[int, Any], hook: Callable[..., Any]) -> None:
        self._hooks, self.id = hooks, next(RemovableHandle._ids)
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
