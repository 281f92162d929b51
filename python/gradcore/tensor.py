"""Tensor: an n-d array on a device that records the ops applied to it for reverse-mode autodiff."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend, linalg, ops, ops_index, reductions
from . import inplace as _inplace
from . import tensor_hooks as _hooks
from .autograd import register_tensor_type, run_backward, unit_seed_for
from .dtypes import (
    DTYPE_OF_NUMPY,
    HALF_TYPES,
    DType,
    as_dtype,
    bool_,
    float32,
    float64,
    from_numpy_dtype,
    get_default_dtype,
    int32,
    int64,
    promote,
)
from .ops_index import wrap_dim
from .ops_index import wrap_dims as _dims_arg
from .tensor_methods import TensorMethods

_BASIC_INDEX = (int, np.integer, slice, type(None), type(Ellipsis))

# One native call for a plain eager op (csrc/fastpath_cpu.cpp): CPU tensors that need no graph, same
# dtype and shape, no autocast or anomaly mode. Anything else returns None: the ordinary path follows.
_cpu = backend._C.cpu
_fast_add, _fast_sub, _fast_mul = _cpu.fast_add, _cpu.fast_sub, _cpu.fast_mul
_fast_neg, _fast_exp, _fast_relu = _cpu.fast_neg, _cpu.fast_exp, _cpu.fast_relu


class Tensor(TensorMethods):
    """An n-d array (float32/float64/int32/int64) on "cpu" or "cuda" with autograd.

    Example:
        >>> import gradcore as gc
        >>> x = gc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad.numpy().tolist()
        [[2.0, 4.0], [6.0, 8.0]]
    """

    # _vc: the version counter, a one-element list shared with views and detach() (None: version 0,
    # not shared yet); _base: the tensor a view was taken from; _hooks/_retains_grad: autograd API.
    __slots__ = (
        "_data", "device", "_requires_grad", "_grad", "_ctx", "_vc", "_base", "_view_chain", "_hooks",
        "_retains_grad", "__weakref__",
    )
    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor.__radd__

    def __init__(
        self,
        data: Any,
        dtype: DType | str | None = None,
        device: str = "cpu",
        requires_grad: bool = False,
    ) -> None:
        _check_constructor_args(data, dtype)
        device = backend.normalize_device(device)
        array = _to_numpy_array(data, dtype)
        self._data = backend.get(device).from_numpy(array)
        self.device = device
        self._requires_grad = False
        self._grad: Tensor | None = None
        self._ctx = None
        self._vc = None
        self._base = None
        self._hooks = None
        self._retains_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, data: Any, device: str) -> Tensor:
        # Function.apply (autograd.py) and the native fast path (csrc/fastpath_cpu.cpp, wrap) inline this
        # body for speed: a slot added here goes there too (tests/test_fastpath.py checks the three agree).
        t = object.__new__(cls)
        t._data = data
        t.device = device
        t._requires_grad = False
        t._grad = None
        t._ctx = None
        t._vc = None
        t._base = None
        # Set, not left unset: reading an unset slot raises inside getattr(t, name, default), ~0.4 us a
        # time, and the reverse pass reads these two for every node.
        t._hooks = None
        t._retains_grad = False
        return t

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape  # a tuple on every storage (NumPy, the CUDA array, the emulator's)

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape as a tuple, or the length of one dim, as ``torch.Tensor.size``.

        Example:
            >>> import gradcore as gc
            >>> gc.zeros(2, 3).size(), gc.zeros(2, 3).size(-1)
            ((2, 3), 3)
        """
        shape = tuple(self._data.shape)
        if dim is None:
            return shape
        if not -len(shape) <= dim < len(shape):
            raise IndexError(f"size(): dim {dim} is out of range for a tensor with {len(shape)} dims")
        return shape[dim]

    def numel(self) -> int:
        """The number of elements."""
        return math.prod(self._data.shape)  # exact Python ints; np.prod costs ~2 us a call

    def dim(self) -> int:
        return self.ndim

    @property
    def dtype(self) -> DType:
        return DTYPE_OF_NUMPY[self._data.dtype]  # storage only ever holds the five dtypes

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and not self.dtype.is_floating:
            raise TypeError(f"only floating point tensors can require gradients, got {self.dtype}")
        if not value and self._ctx is not None:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use detach()")
        self._requires_grad = bool(value)

    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad must be a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape or value.dtype is not self.dtype or value.device != self.device:
                raise ValueError(
                    f"assigned grad has shape {value.shape}, dtype {value.dtype} on {value.device}; "
                    f"expected {self.shape}, {self.dtype} on {self.device}"
                )
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def T(self) -> Tensor:
        return self.permute(tuple(reversed(range(self.ndim))))

    # ------------------------------------------------------------ autograd
    def backward(
        self, gradient: Tensor | None = None, retain_graph: bool = False, create_graph: bool = False
    ) -> None:
        """Accumulates the gradient of this tensor into the ``.grad`` of every leaf it depends on.

        Example:
            >>> import gradcore as gc
            >>> w = gc.tensor([3.0], requires_grad=True)
            >>> (w ** 2).sum().backward()
            >>> w.grad.item()
            6.0
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no graph")
        implicit = gradient is None
        if implicit:
            if self.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this tensor has shape "
                    f"{self.shape}, so pass gradient= of that shape"
                )
            gradient = unit_seed_for(self)
        else:
            gradient = self._coerce(gradient).to(self.dtype)
            if gradient.shape != self.shape:
                raise ValueError(f"backward(): gradient has shape {gradient.shape}, expected {self.shape}")
        # As in PyTorch, create_graph keeps the graph: the new graph refers back into it.
        run_backward(self, gradient, retain_graph or create_graph, create_graph, unit_seed=implicit)

    def _accumulate_grad(self, g: Tensor) -> None:
        if not backend.get(g.device).is_contiguous(g._data):
            g = g.contiguous()
        self._grad = g if self._grad is None else self._grad + g

    def detach(self) -> Tensor:
        """A tensor sharing this one's storage (and version counter), cut off from the graph."""
        t = Tensor._wrap(self._data, self.device)
        if self._vc is None:
            self._vc = [0]
        t._vc = self._vc
        return t

    def requires_grad_(self, value: bool = True) -> Tensor:
        self.requires_grad = value
        return self

    # ------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shares memory on the CPU, copies from the GPU)."""
        return backend.get(self.device).to_numpy(self._data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        a = self.numpy()
        return a.astype(dtype) if dtype is not None else a

    def item(self) -> float | int:
        if self.numel() != 1:
            raise ValueError(f"item(): only one-element tensors can be converted, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __dlpack__(
        self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None, copy: bool | None = None
    ) -> Any:
        """A DLPack capsule sharing this tensor's memory (the Python array API protocol): ``stream`` is
        the consumer's stream (CUDA), ``max_version`` >= (1, 0) asks for a versioned capsule, and a
        ``dl_device`` other than this tensor's or ``copy=True`` raise BufferError."""
        if isinstance(self._data, np.ndarray) and self._data.dtype.kind == "V":  # bfloat16: NumPy cannot
            from .dlpack import bfloat16_capsule

            return bfloat16_capsule(self._data, max_version=max_version, dl_device=dl_device, copy=copy)
        return self._data.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        """The CUDA array interface (v3) of a cuda tensor, so CuPy/Numba/PyTorch share its memory without
        a host round trip; cpu tensors have none (AttributeError), so those libraries fall back."""
        if self.device != "cuda":
            raise AttributeError(
                f"__cuda_array_interface__: the tensor is on {self.device}; only cuda tensors have one"
            )
        return self._data.__cuda_array_interface__

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._data.__dlpack_device__()

    def to(
        self,
        *args: Any,
        dtype: Any = None,
        device: str | None = None,
        non_blocking: bool = False,
        copy: bool = False,
    ) -> Tensor:
        """Converts to a dtype and/or moves to a device, as ``torch.Tensor.to``: ``to(dtype)``,
        ``to(device, dtype)``, ``to(dtype=..., device=...)``, ``to(other)`` (other's dtype and device);
        ``copy=True`` always copies. Differentiable; returns self when nothing changes.

        Example:
            >>> import gradcore as gc
            >>> gc.ones(2).to("cpu", dtype=gc.float64).dtype
            gradcore.float64
        """
        dtype, device, copy = _to_args(args, dtype, device, copy)
        out = self
        if dtype is not None and dtype is not out.dtype:
            out = ops.Cast.apply(out, dtype=dtype)
        if device is not None and device != out.device:
            out = ops.ToDevice.apply(out, device)
        return out.clone() if copy and out is self else out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(float32)

    def double(self) -> Tensor:
        return self.to(float64)

    def half(self) -> Tensor:
        """This tensor as float16 (``to(gc.float16)``)."""
        return self.to("float16")

    def bfloat16(self) -> Tensor:
        """This tensor as bfloat16 (``to(gc.bfloat16)``)."""
        return self.to("bfloat16")

    def long(self) -> Tensor:
        return self.to(int64)

    def contiguous(self) -> Tensor:
        if backend.get(self.device).is_contiguous(self._data):
            return self
        return ops.Copy.apply(self)

    def clone(self) -> Tensor:
        return ops.Copy.apply(self)

    # ------------------------------------------------------------ in-place
    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has had (shared with views and detach())."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    def _bump_version(self) -> None:
        vc = self._vc
        if vc is None:
            self._vc = [1]
        else:
            vc[0] += 1

    _check_inplace = _inplace.check_inplace
    _write = _inplace.write
    _recording = _inplace.recording
    _inplace_source = _inplace.inplace_source
    _take_history = _inplace.take_history
    _inplace_binary = _inplace.inplace_binary

    def _apply_inplace(
        self, result: Tensor | Any, op: str = "in-place op", *, replace: bool = False
    ) -> Tensor:
        """Makes ``result`` this tensor's value, in this tensor's own storage: the one path in-place ops
        take. It checks PyTorch's rules (leaf that requires grad, views of one, expanded or read-only
        memory, result dtype castable to this dtype, result shape broadcastable to this shape), writes
        (through a temporary where the two overlap), bumps the version counter shared with views, and
        while a graph is recorded rebases this tensor's history onto ``result``'s (for a view, its base
        gets a CopySlices node, so the base's gradient is zero where the view was overwritten).

        ``result`` is either the out-of-place result, or a callable ``fn(source) -> result``; give the
        callable when the op saves its input for backward: it then receives a copy of this tensor's old
        value with its history, so the backward sees the values from before the write. One line each:

            def masked_fill_(self, mask, value):
                return self._apply_inplace(lambda t: t.masked_fill(mask, value), "masked_fill_")

        ``replace=True`` says result does not depend on the old value (copy_): the old history then
        stays in the graph with a zero gradient, as PyTorch's.

        Example:
            >>> import gradcore as gc
            >>> x = gc.tensor([1.0, 2.0], requires_grad=True)
            >>> y = x * 2
            >>> y._apply_inplace(lambda t: t + 1) is y
            True
            >>> y.sum().backward(); x.grad.tolist()
            [2.0, 2.0]
        """
        return _inplace.apply_inplace(self, result, op, replace=replace)

    def add_(self, other: Any, *, alpha: float = 1) -> Tensor:
        """In-place ``self += alpha * other``, as ``torch.Tensor.add_``.

        Example:
            >>> import gradcore as gc
            >>> x = gc.tensor([1.0, 2.0]); x.add_(gc.tensor([1.0, 1.0]), alpha=2).tolist()
            [3.0, 4.0]
        """
        other = other if alpha == 1 else self._coerce(other) * alpha
        return self._inplace_binary(other, "add", "__add__", "add_")

    def sub_(self, other: Any, *, alpha: float = 1) -> Tensor:
        """In-place ``self -= alpha * other``, as ``torch.Tensor.sub_``."""
        other = other if alpha == 1 else self._coerce(other) * alpha
        return self._inplace_binary(other, "sub", "__sub__", "sub_")

    def mul_(self, other: Any) -> Tensor:
        """In-place ``self *= other``."""
        return self._inplace_binary(other, "mul", "__mul__", "mul_")

    def div_(self, other: Any) -> Tensor:
        """In-place ``self /= other`` (an integer tensor raises: the result would be float)."""
        return self._inplace_binary(other, "div", "__truediv__", "div_")

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace_binary(other, "add", "__add__", "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace_binary(other, "sub", "__sub__", "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace_binary(other, "mul", "__mul__", "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace_binary(other, "div", "__truediv__", "/=")

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        """In-place ``clamp``, as ``torch.Tensor.clamp_``."""
        if min is None and max is None:
            raise RuntimeError("clamp_: At least one of 'min' or 'max' must not be None")
        if self._recording(min if isinstance(min, Tensor) else max if isinstance(max, Tensor) else None):
            return self._apply_inplace(lambda t: t.clamp(min, max), "clamp_")
        if min is not None:
            self._inplace_binary(min, "maximum", "maximum", "clamp_", bump=False)
        if max is not None:
            self._inplace_binary(max, "minimum", "minimum", "clamp_", bump=False)
        self._bump_version()  # one in-place op, one version, as torch
        return self

    def fill_(self, value: Any) -> Tensor:
        """Sets every element to value (converted to this dtype, as torch)."""
        return self.copy_(value)

    def copy_(self, src: Tensor | np.ndarray | float) -> Tensor:
        """Writes src (broadcast to this shape, converted to this dtype) into this tensor's storage; src may
        overlap this tensor (``a[1:].copy_(a[:-1])``). Differentiable with respect to src.

        Example:
            >>> import gradcore as gc
            >>> a = gc.arange(4)
            >>> _ = a[1:].copy_(a[:-1])
            >>> a.tolist()
            [0, 0, 1, 2]
        """
        src = self._coerce(src)
        if ops.broadcast_shape(src.shape, self.shape, "copy_") != self.shape:
            raise ValueError(f"copy_: a source of shape {src.shape} does not broadcast to {self.shape}")
        if self._recording(src):
            return self._apply_inplace(src, "copy_", replace=True)
        self._check_inplace("copy_")
        self._write(src)
        self._bump_version()
        return self

    def zero_(self) -> Tensor:
        """Sets every element to zero."""
        return self.fill_(0)

    def __setitem__(self, index: Any, value: Any) -> None:
        """Basic-index assignment (ints, slices, None, ...), in place; value is broadcast and converted.
        With autograd, x's gradient is zero where it was overwritten and value's is the gradient there."""
        parts = index if isinstance(index, tuple) else (index,)
        if not all(isinstance(p, _BASIC_INDEX) and not isinstance(p, (bool, np.bool_)) for p in parts):
            # Integer-array / bool-mask assignment: the out-of-place index_put, written in place.
            ops_index.check_index_types(parts)
            self._apply_inplace(lambda t: ops_index.setitem_result(t, index, value), "__setitem__")
            return
        _check_index_bounds(parts, self.shape)
        with _inplace.no_record_unless(self._recording(value if isinstance(value, Tensor) else None)):
            view = ops.GetItem.apply(self, index=index)
        view.copy_(value)

    # ------------------------------------------------------------ autograd API
    @property
    def data(self) -> Tensor:
        """This tensor's storage as a tensor with no history (as torch: changes to it are not tracked)."""
        return Tensor._wrap(self._data, self.device)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        if value.device != self.device:
            raise RuntimeError(f"data: cannot assign a tensor on {value.device} to one on {self.device}")
        self._data = value._data

    @property
    def grad_fn(self) -> Any:
        """The Function that produced this tensor (None for leaves); ``name()`` and ``next_functions``."""
        return self._ctx

    @property
    def retains_grad(self) -> bool:
        return self._ctx is not None and getattr(self, "_retains_grad", False)

    retain_grad = _hooks.retain_grad
    register_hook = _hooks.register_hook
    register_post_accumulate_grad_hook = _hooks.register_post_accumulate_grad_hook

    # ------------------------------------------------------------ elementwise
    def _coerce(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            if other.device != self.device:
                raise RuntimeError(
                    f"expected all tensors on the same device, found {self.device} and {other.device}"
                )
            return other
        if isinstance(other, (bool, np.bool_, numbers.Number)) and not isinstance(other, np.ndarray):
            # PyTorch's rule for Python scalars: the tensor's dtype wins unless the scalar is of a
            # higher kind (bool < int < float), which then gives int64 or float32.
            if isinstance(other, (bool, np.bool_)) or self.dtype.is_floating:
                dtype = self.dtype
            elif isinstance(other, numbers.Integral):
                dtype = int64 if self.dtype is bool_ else self.dtype
            else:
                dtype = get_default_dtype()
            # The scalar reaches the device as a kernel argument (no host upload; capturable in a graph).
            data = backend.get(self.device).empty((), dtype.np)
            backend.kernel(self.device, "fill")(data, float(other) if dtype.is_floating else int(other))
            return Tensor._wrap(data, self.device)
        return Tensor(other, device=self.device)

    def _binary(self, other: Any, fn: type, reverse: bool = False) -> Tensor:
        if type(other) in (float, int) and self.dtype in HALF_TYPES:
            # As torch: x * number and x / number compute in float32 and round once (x / 1e5 must not see
            # inf); number / x is half(1 / x) * number; + and - round the number to the half type first.
            if fn is ops.Mul or (fn is ops.Div and not reverse):
                return self.to(float32)._binary(other, fn, reverse).to(self.dtype)
            if fn is ops.Div:
                return (1.0 / self.to(float32)).to(self.dtype)._binary(other, ops.Mul)
        other = self._coerce(other)
        a, b = (other, self) if reverse else (self, other)
        if fn is ops.Sub and a.dtype is bool_ and b.dtype is bool_:
            raise TypeError("subtraction of two bool tensors is not supported; use ^ or logical_xor")
        da, db = a.dtype, b.dtype
        if da is not db:
            dtype = promote(da, db)
            a, b = a.to(dtype), b.to(dtype)
        return fn.apply(a, b)

    def __add__(self, o: Any) -> Tensor:
        out = _fast_add(self, o)
        if out is not None:
            return out
        # _binary's fast path inlined for the most common op (one Python frame less per call).
        if isinstance(o, Tensor) and o.device == self.device and self._data.dtype is o._data.dtype:
            return ops.Add.apply(self, o)
        return self._binary(o, ops.Add)

    def __radd__(self, o: Any) -> Tensor:
        return self._binary(o, ops.Add, True)

    def __sub__(self, o: Any) -> Tensor:
        out = _fast_sub(self, o)
        if out is not None:
            return out
        # Bool - bool raises in _binary: the fast path takes float tensors only.
        if isinstance(o, Tensor) and o.device == self.device and self._data.dtype is o._data.dtype:
            if self._data.dtype.kind == "f":
                return ops.Sub.apply(self, o)
        return self._binary(o, ops.Sub)

    def __rsub__(self, o: Any) -> Tensor:
        return self._binary(o, ops.Sub, True)

    def __mul__(self, o: Any) -> Tensor:
        out = _fast_mul(self, o)
        if out is not None:
            return out
        if isinstance(o, Tensor) and o.device == self.device and self._data.dtype is o._data.dtype:
            return ops.Mul.apply(self, o)
        return self._binary(o, ops.Mul)

    def __rmul__(self, o: Any) -> Tensor:
        return self._binary(o, ops.Mul, True)

    def __pow__(self, o: Any) -> Tensor:
        return self._pow(o, False)

    def __rpow__(self, o: Any) -> Tensor:
        return self._pow(o, True)

    def _pow(self, o: Any, reverse: bool) -> Tensor:
        """Integer ** integer stays integer (computed exactly in float64), as in PyTorch; a negative
        integer scalar exponent of an integer tensor raises; anything with a float gives a float."""
        other = self._coerce(o)
        base, expo = (other, self) if reverse else (self, other)
        if base.dtype.is_floating or expo.dtype.is_floating:
            return self._float_binary(o, ops.Pow, reverse)
        if isinstance(o, numbers.Integral) and not reverse and o < 0:
            raise ValueError("integers to negative integer powers are not allowed")
        dtype = promote(base.dtype, expo.dtype)
        dtype = int64 if dtype is bool_ else dtype
        return ops.Pow.apply(base.detach().to(float64), expo.detach().to(float64)).to(dtype)

    def __truediv__(self, o: Any) -> Tensor:
        return self._float_binary(o, ops.Div)

    def __rtruediv__(self, o: Any) -> Tensor:
        return self._float_binary(o, ops.Div, True)

    def __neg__(self) -> Tensor:
        out = _fast_neg(self)
        if out is not None:
            return out
        if self.dtype is bool_:
            raise TypeError("negation of a bool tensor is not supported; use ~ or logical_not")
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def _float_binary(self, other: Any, fn: type, reverse: bool = False) -> Tensor:
        # True division and powers of integer tensors give floats, as in PyTorch.
        base = self if self.dtype.is_floating else self.to(get_default_dtype())
        return base._binary(other, fn, reverse)

    def __matmul__(self, o: Any) -> Tensor:
        return linalg.matmul(self, self._coerce(o))

    def __rmatmul__(self, o: Any) -> Tensor:
        return linalg.matmul(self._coerce(o), self)

    def _compare(self, other: Any, kernel: str) -> Tensor:
        """A bool tensor, as in PyTorch."""
        other = self._coerce(other)
        dtype = promote(self.dtype, other.dtype)
        return ops.Compare.apply(self.detach().to(dtype), other.detach().to(dtype), kernel=kernel)

    # ------------------------------------------------------------ logical and bitwise (bool and ints)
    def _bitwise(self, other: Any, name: str, reverse: bool = False) -> Tensor:
        other = self._coerce(other)
        a, b = (other, self) if reverse else (self, other)
        if a.dtype.is_floating or b.dtype.is_floating:
            raise TypeError(f"bitwise_{name} needs bool or integer tensors, got {a.dtype} and {b.dtype}")
        dtype = promote(a.dtype, b.dtype)
        return ops.Bitwise.apply(a.detach().to(dtype), b.detach().to(dtype), kernel="bitwise_" + name)

    def __and__(self, o: Any) -> Tensor:
        return self._bitwise(o, "and")

    def __rand__(self, o: Any) -> Tensor:
        return self._bitwise(o, "and", True)

    def __or__(self, o: Any) -> Tensor:
        return self._bitwise(o, "or")

    def __ror__(self, o: Any) -> Tensor:
        return self._bitwise(o, "or", True)

    def __xor__(self, o: Any) -> Tensor:
        return self._bitwise(o, "xor")

    def __rxor__(self, o: Any) -> Tensor:
        return self._bitwise(o, "xor", True)

    def __invert__(self) -> Tensor:
        """Logical not for bool tensors, bitwise not for integers (as ``torch.bitwise_not``)."""
        if self.dtype.is_floating:
            raise TypeError(f"~ needs a bool or integer tensor, got {self.dtype}")
        return ops.BitwiseNot.apply(self.detach())

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__

    def logical_and(self, o: Any) -> Tensor:
        """Elementwise ``self != 0 and o != 0`` as a bool tensor (any dtype)."""
        return self.to(bool_) & self._coerce(o).to(bool_)

    def logical_or(self, o: Any) -> Tensor:
        return self.to(bool_) | self._coerce(o).to(bool_)

    def logical_xor(self, o: Any) -> Tensor:
        return self.to(bool_) ^ self._coerce(o).to(bool_)

    def logical_not(self) -> Tensor:
        return ~self.to(bool_)

    def bool(self) -> Tensor:
        return self.to(bool_)

    def __eq__(self, o: Any) -> Tensor:
        return self._compare(o, "eq")  # type: ignore[override]

    def __ne__(self, o: Any) -> Tensor:
        return self._compare(o, "ne")  # type: ignore[override]

    def __gt__(self, o: Any) -> Tensor:
        return self._compare(o, "gt")

    def __ge__(self, o: Any) -> Tensor:
        return self._compare(o, "ge")

    def __lt__(self, o: Any) -> Tensor:
        return self._compare(o, "lt")

    def __le__(self, o: Any) -> Tensor:
        return self._compare(o, "le")

    __hash__ = object.__hash__

    def maximum(self, o: Any) -> Tensor:
        return self._binary(o, ops.Maximum)

    def minimum(self, o: Any) -> Tensor:
        return self._binary(o, ops.Minimum)

    def _float_unary(self, fn: type) -> Tensor:
        # Integer and bool tensors promote to float32, as in PyTorch.
        return fn.apply(self if self.dtype.is_floating else self.to(float32))

    def exp(self) -> Tensor:
        out = _fast_exp(self)
        return out if out is not None else self._float_unary(ops.Exp)

    def log(self) -> Tensor:
        return self._float_unary(ops.Log)

    def sigmoid(self) -> Tensor:
        return self._float_unary(ops.Sigmoid)

    def tanh(self) -> Tensor:
        return self._float_unary(ops.Tanh)

    def sqrt(self) -> Tensor:
        return self._float_unary(ops.Sqrt)

    def erf(self) -> Tensor:
        return self._float_unary(ops.Erf)

    def relu(self) -> Tensor:
        out = _fast_relu(self)
        return out if out is not None else ops.Relu.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def sign(self) -> Tensor:
        """-1, 0 or 1 (False/True for bool); its gradient is zero, as in PyTorch."""
        if self.dtype is bool_:
            return self
        return ops.Sign.apply(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """min(max(x, min), max) with a gradient of 1 inside [min, max] including its ends (PyTorch);
        min and max may be numbers or tensors (which get the gradient where they win).

        Example:
            >>> import gradcore as gc
            >>> gc.tensor([-2.0, 0.5, 3.0]).clamp(-1, 1).tolist()
            [-1.0, 0.5, 1.0]
        """
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must not be None")
        out = self
        if min is not None:
            lo = self._coerce(min)
            out = ops_index.where(out < lo, lo, out)
        if max is not None:
            hi = self._coerce(max)
            out = ops_index.where(out > hi, hi, out)
        return out

    clip = clamp

    # ------------------------------------------------------------ reductions (gradcore/reductions.py)
    def sum(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.sum(self, dim, keepdim, **kw)

    def mean(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.mean(self, dim, keepdim, **kw)

    def max(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        return reductions.max(self, dim, keepdim, **kw)

    def min(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        return reductions.min(self, dim, keepdim, **kw)

    def amax(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.amax(self, dim, keepdim, **kw)

    def amin(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.amin(self, dim, keepdim, **kw)

    def argmax(self, dim: int | None = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.argmax(self, dim, keepdim, **kw)

    def argmin(self, dim: int | None = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.argmin(self, dim, keepdim, **kw)

    def prod(self, dim: int | None = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.prod(self, dim, keepdim, **kw)

    def any(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.any(self, dim, keepdim, **kw)

    def all(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.all(self, dim, keepdim, **kw)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.var(self, dim, unbiased, keepdim, **kw)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.std(self, dim, unbiased, keepdim, **kw)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.norm(self, p, dim, keepdim, **kw)

    def logsumexp(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return reductions.logsumexp(self, dim, keepdim, **kw)

    def cumsum(self, dim: int | None = None, **kw: Any) -> Tensor:
        return reductions.cumsum(self, dim, **kw)

    # ------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        shape = _shape_arg(shape)
        resolved = _resolve_shape(shape, self.numel())
        return self if resolved == self.shape else ops.Reshape.apply(self, shape=resolved)

    view = reshape

    def permute(self, *dims: Any) -> Tensor:
        """The dims reordered: ``permute(2, 0, 1)`` (negative dims allowed), as in PyTorch."""
        dims = tuple(wrap_dim(d, self.ndim, "permute") for d in _shape_arg(dims))
        if sorted(dims) != list(range(self.ndim)) or (self.ndim == 0 and dims not in ((), (0,))):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dims")
        return ops.Permute.apply(self, axes=dims) if self.ndim else self

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swaps two dims, as ``torch.transpose``; ``.T`` reverses all dims, ``permute`` takes a full order.

        Example:
            >>> import gradcore as gc
            >>> gc.zeros(2, 3, 4).transpose(0, 2).shape
            (4, 3, 2)
        """
        i, j = wrap_dim(dim0, self.ndim, "transpose"), wrap_dim(dim1, self.ndim, "transpose")
        if i == j or self.ndim < 2:
            return self
        order = list(range(self.ndim))
        order[i], order[j] = order[j], order[i]
        return self.permute(order)

    swapaxes = swapdims = transpose

    def expand(self, *shape: Any) -> Tensor:
        shape = _shape_arg(shape)
        if len(shape) >= self.ndim:  # -1 keeps a dim's size, as in torch
            lead = len(shape) - self.ndim
            shape = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
        if ops.broadcast_shape(self.shape, shape, "expand") != shape:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}")
        return self if tuple(shape) == self.shape else ops.Expand.apply(self, shape=tuple(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merges dims start_dim..end_dim into one, as ``torch.flatten``; a 0-d tensor becomes 1-d."""
        if self.ndim == 0:
            wrap_dim(start_dim, 0, "flatten"), wrap_dim(end_dim, 0, "flatten")
            return self.reshape(1)
        s, e = wrap_dim(start_dim, self.ndim, "flatten"), wrap_dim(end_dim, self.ndim, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(self.shape[:s] + (-1 if self.numel() else _prod(self.shape[s : e + 1]),)
                            + self.shape[e + 1 :])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Splits one dim into ``sizes`` (one entry may be -1), as ``torch.unflatten``."""
        d = wrap_dim(dim, self.ndim, "unflatten")
        if self.ndim == 0:
            raise ValueError("unflatten: a 0-d tensor has no dim to split")
        sizes = tuple(int(n) for n in sizes)
        if not sizes:
            raise ValueError("unflatten: sizes must be non-empty")
        inner = _resolve_shape(sizes, self.shape[d]) if self.shape[d] or -1 not in sizes else sizes
        return self.reshape(self.shape[:d] + inner + self.shape[d + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        dim = wrap_dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """Drops size-1 dims: all of them, or only those named by dim (an int or a tuple), as in PyTorch."""
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        drop = {wrap_dim(d, self.ndim, "squeeze") for d in dims}
        if self.ndim == 0:
            return self
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in drop and n == 1)))

    def __getitem__(self, index: Any) -> Tensor:
        parts = index if isinstance(index, tuple) else (index,)
        if not all(isinstance(p, _BASIC_INDEX) and not isinstance(p, (bool, np.bool_)) for p in parts):
            ops_index.check_index_types(parts)
            return ops_index.advanced_getitem(self, index)
        _check_index_bounds(parts, self.shape)
        return ops.GetItem.apply(self, index=index)

    # ------------------------------------------------------------ indexing ops (see ops_index.py)
    def gather(self, dim: int, index: Any) -> Tensor:
        return ops_index.gather(self, dim, index)

    def scatter_add(self, dim: int, index: Any, src: Tensor) -> Tensor:
        return ops_index.scatter_add(self, dim, index, src)

    def scatter(self, dim: int, index: Any, src: Any) -> Tensor:
        return ops_index.scatter(self, dim, index, src)

    def index_select(self, dim: int, index: Any) -> Tensor:
        return ops_index.index_select(self, dim, index)

    def index_put(self, indices: Sequence[Any], values: Any, accumulate: bool = False) -> Tensor:
        return ops_index.index_put(self, indices, values, accumulate)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        return ops_index.masked_fill(self, mask, value)

    def nonzero(self, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
        return ops_index.nonzero(self, as_tuple)

    def masked_select(self, mask: Tensor) -> Tensor:
        return ops_index.masked_select(self, mask)

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        return self._apply_inplace(lambda t: t.masked_fill(mask, value), "masked_fill_")

    def index_put_(self, indices: Sequence[Any], values: Any, accumulate: bool = False) -> Tensor:
        return self._apply_inplace(lambda t: t.index_put(indices, values, accumulate), "index_put_")

    def scatter_add_(self, dim: int, index: Any, src: Tensor) -> Tensor:
        return self._apply_inplace(lambda t: t.scatter_add(dim, index, src), "scatter_add_")

    def where(self, condition: Tensor, other: Any) -> Tensor:
        """``self`` where condition holds, else other (``torch.Tensor.where``)."""
        return ops_index.where(condition, self, other)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        return ops_index.split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return ops_index.chunk(self, chunks, dim)

    def __len__(self) -> int:
        if not self.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.numel()} elements is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        values = self.numpy()
        if values.dtype.kind not in "fiub":  # ml_dtypes' bfloat16 prints as integers in array2string
            values = values.astype(np.float32)
        body = np.array2string(values, separator=", ", prefix="tensor(")
        # torch's rule: the dtype is shown unless it is the default float dtype, int64 or bool
        implied = self.dtype is get_default_dtype() or self.dtype.np in (np.int64, np.bool_)
        extra = "" if implied else f", dtype={self.dtype}"
        extra += "" if self.device == "cpu" else f", device='{self.device}'"
        extra += ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{extra})"

    # ------------------------------------------------------------ pickling and copying
    def __reduce_ex__(self, protocol: Any) -> tuple:
        """Pickles the values (a host copy), the device, the class and requires_grad, never the graph:
        as in PyTorch, an unpickled non-leaf is a leaf holding the same values."""
        return (_rebuild_tensor, (type(self), self.numpy(), self.device, self.requires_grad))

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A leaf with its own copy of the values (and of ``.grad``), as ``torch.Tensor.__deepcopy__``."""
        if not self.is_leaf:
            raise RuntimeError(
                "only leaf tensors (created by the user, not by an op) support deepcopy, as in PyTorch; "
                "use t.detach().clone() for a copy of a computed tensor"
            )
        import copy

        new = _rebuild_tensor(type(self), np.array(self.numpy(), copy=True), self.device, self.requires_grad)
        memo[id(self)] = new
        if self._grad is not None:
            new._grad = copy.deepcopy(self._grad, memo)
        return new

    # ------------------------------------------------------------ torch-compatible methods
    # Methods a PyTorch user reaches for, with torch's names, argument spellings and edge cases.
    def matmul(self, other: Tensor) -> Tensor:
        """``self @ other`` with torch.matmul's rules (see ``gradcore.matmul``)."""
        return linalg.matmul(self, self._coerce(other))

    def mm(self, other: Tensor) -> Tensor:
        """Product of two matrices (2-d only), as ``torch.Tensor.mm``."""
        return linalg.mm(self, self._coerce(other))

    def bmm(self, other: Tensor) -> Tensor:
        """Product of two (B, M, K) and (B, K, N) batches (3-d only), as ``torch.Tensor.bmm``."""
        return linalg.bmm(self, self._coerce(other))

    def t(self) -> Tensor:
        """The transpose of a matrix; 0-d and 1-d tensors come back as they are (as a view).

        Example:
            >>> import gradcore as gc
            >>> gc.zeros(2, 3).t().shape
            (3, 2)
        """
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dims, but it has {self.ndim} (use mT)")
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a batch of transposed matrices), as a view."""
        if self.ndim < 2:
            raise ValueError(f"mT needs a matrix or a batch of matrices, got a {self.ndim}-d tensor")
        return self.permute(tuple(range(self.ndim - 2)) + (self.ndim - 1, self.ndim - 2))

    def repeat(self, *sizes: Any) -> Tensor:
        """Tiles the tensor ``sizes[i]`` times along dim i (a copy), as ``torch.Tensor.repeat``;
        extra leading sizes add dims.

        Example:
            >>> import gradcore as gc
            >>> gc.tensor([1, 2]).repeat(2, 2).tolist()
            [[1, 2, 1, 2], [1, 2, 1, 2]]
        """
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise ValueError(
                f"repeat: {len(sizes)} repeat sizes {sizes} for a tensor with {self.ndim} dims; "
                "give at least one per dim"
            )
        if any(r < 0 for r in sizes):
            raise ValueError(f"repeat: sizes must be non-negative, got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        if all(r == 1 for r in sizes):
            return self.reshape(shape).clone()
        # A size-1 axis before each repeated dim, broadcast to the repeat count and merged into it:
        # (s0, 1, s1) -> (s0, r1, s1) -> (s0, r1 * s1), one strided copy (a dim of size 1 just
        # broadcasts). The kernels take 8 dims: past that, one dim at a time through a 4-d view.
        out = self.reshape(shape)
        split = [i for i, (r, n) in enumerate(zip(sizes, shape)) if r != 1 and n != 1]
        steps = [range(len(shape))] if len(shape) + len(split) <= 8 else [[i] for i in range(len(shape))]
        for dims in steps:
            inter, wide, merged = [], [], []
            for i, n in enumerate(out.shape):
                r = sizes[i] if i in dims else 1
                if r != 1 and n != 1:
                    inter.append(1)
                    wide.append(r)
                inter.append(n)
                wide.append(n if n != 1 else r)
                merged.append(r * n)
            if len(inter) > 8:  # view this one dim as (before, n, after) so the copy stays 4-d
                (d,) = dims
                lead, n, tail = math.prod(out.shape[:d]), out.shape[d], math.prod(out.shape[d + 1 :])
                flat = out.reshape(lead, 1, n, tail).expand(lead, sizes[d], n, tail)
                out = flat.reshape(tuple(merged))
            elif tuple(wide) != out.shape:
                out = out.reshape(tuple(inter)).expand(tuple(wide)).reshape(tuple(merged))
        return out

    def tile(self, *dims: Any) -> Tensor:
        """``repeat`` that pads missing leading repeat counts with 1, as ``torch.tile``.

        Example:
            >>> import gradcore as gc
            >>> gc.ones(2, 3).tile(2).shape
            (2, 6)
        """
        dims = _shape_arg(dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def flip(self, *dims: Any) -> Tensor:
        """Reverses the order of elements along ``dims`` (a copy), as ``torch.flip``.

        Example:
            >>> import gradcore as gc
            >>> gc.tensor([1, 2, 3]).flip(0).tolist()
            [3, 2, 1]
        """
        axes = _dims_arg(_shape_arg(dims), self.ndim, "flip")
        if not axes:
            return ops.Copy.apply(self)
        index = tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(self.ndim))
        return ops.Copy.apply(ops.GetItem.apply(self, index=index))

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """Shifts elements along ``dims`` cyclically (of the flattened tensor when ``dims`` is None),
        as ``torch.roll``.

        Example:
            >>> import gradcore as gc
            >>> gc.tensor([1, 2, 3, 4]).roll(1).tolist()
            [4, 1, 2, 3]
        """
        shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
        if dims is None:
            if len(shifts) != 1:
                raise ValueError(f"roll: {len(shifts)} shifts need as many dims, got dims=None")
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if len(shifts) != len(dims):
            raise ValueError(f"roll: shifts {shifts} and dims {dims} differ in length")
        out = self
        for shift, d in zip(shifts, dims):
            (d,) = _dims_arg((d,), self.ndim, "roll")
            n = self.shape[d] if self.ndim else 1
            if n == 0 or int(shift) % n == 0:
                continue
            s = int(shift) % n
            # The tensor twice along d, then the window that starts n - s in: a cyclic shift by s.
            twice = out.repeat(tuple(2 if i == d else 1 for i in range(self.ndim)))
            out = twice[(slice(None),) * d + (slice(n - s, 2 * n - s),)].contiguous()
        return self.clone() if out is self else out

    def expand_as(self, other: Tensor) -> Tensor:
        """``expand(other.shape)``: a broadcast view."""
        return self.expand(other.shape)

    def view_as(self, other: Tensor) -> Tensor:
        """``view(other.shape)``."""
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        """``reshape(other.shape)``."""
        return self.reshape(other.shape)

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor converted to ``other``'s dtype."""
        return self.to(other.dtype)

    def type(self, dtype: DType | str | None = None) -> str | Tensor:
        """Without an argument the type name (``"gradcore.FloatTensor"``); with a dtype (or a type name
        such as ``"gradcore.DoubleTensor"``) this tensor converted to it, as ``torch.Tensor.type``.

        Example:
            >>> import gradcore as gc
            >>> gc.ones(1).type(), gc.ones(1).type(gc.int64).dtype
            ('gradcore.FloatTensor', gradcore.int64)
        """
        if dtype is None:
            prefix = "gradcore.cuda." if self.device == "cuda" else "gradcore."
            return prefix + _TYPE_NAMES.get(self.dtype.name, self.dtype.name + "Tensor")
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            by_name = {v: k for k, v in _TYPE_NAMES.items()}
            name = dtype.rsplit(".", 1)[-1]
            if name not in by_name:
                raise TypeError(f"type(): unknown tensor type {dtype!r}")
            dtype = by_name[name]
        return self.to(as_dtype(dtype))

    def int(self) -> Tensor:
        """This tensor as int32."""
        return self.to(int32)

    def is_contiguous(self) -> bool:
        """Whether the elements are laid out densely in row-major order."""
        return bool(backend.get(self.device).is_contiguous(self._data))

    @property
    def is_cuda(self) -> bool:
        return self.device == "cuda"

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating

    def element_size(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes the elements take (numel * itemsize)."""
        return self.numel() * self.dtype.itemsize

    def __format__(self, spec: str) -> str:
        # As torch for 0-d tensors: format the Python number; a spec is accepted on any one-element
        # tensor too (torch refuses it unless 0-d), while f"{t}" of a 1-d tensor stays str(t) as in torch.
        if self.ndim == 0 or (spec and self.numel() == 1):
            return format(self.item(), spec)
        if spec:
            raise TypeError(
                f"unsupported format string {spec!r} passed to Tensor.__format__ for a tensor of shape "
                f"{self.shape}; only one-element tensors take a format spec"
            )
        return str(self)

    def new_tensor(
        self,
        data: Any,
        dtype: DType | str | None = None,
        device: str | None = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """A copy of ``data`` with this tensor's dtype and device unless given."""
        return Tensor(
            data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad
        )

    def new_full(
        self,
        size: Sequence[int],
        fill_value: float,
        dtype: DType | str | None = None,
        device: str | None = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """``fill_value`` in a new tensor of ``size``, with this tensor's dtype and device unless given."""
        from . import creation

        like = creation._like(self, dtype, device, requires_grad)  # the *_like functions' rule
        return creation.full(size, fill_value, **like)

    def new_zeros(
        self,
        *size: Any,
        dtype: DType | str | None = None,
        device: str | None = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """Zeros of ``size`` with this tensor's dtype and device unless given.

        Example:
            >>> import gradcore as gc
            >>> gc.ones(2, dtype=gc.float64).new_zeros(3).dtype
            gradcore.float64
        """
        return self.new_full(_shape_arg(size), 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(
        self,
        *size: Any,
        dtype: DType | str | None = None,
        device: str | None = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """An uninitialised tensor of ``size`` with this tensor's dtype and device unless given."""
        from . import creation

        like = creation._like(self, dtype, device, requires_grad)  # the *_like functions' rule
        return creation.empty(_shape_arg(size), **like)

    def new_ones(
        self,
        *size: Any,
        dtype: DType | str | None = None,
        device: str | None = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """Ones of ``size`` with this tensor's dtype and device unless given."""
        return self.new_full(_shape_arg(size), 1, dtype=dtype, device=device, requires_grad=requires_grad)


register_tensor_type(Tensor)


def _rebuild_tensor(cls: type, array: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    """Unpickling and deepcopy: a fresh leaf of class cls (Tensor or Parameter) on device."""
    if not (array.flags.c_contiguous and array.flags.writeable):
        array = np.array(array, order="C", copy=True)
    t = cls._wrap(backend.get(device).from_numpy(array), device)
    t.requires_grad = requires_grad
    return t


def _prod(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


# Type names of Tensor.type(), as torch's ("torch.FloatTensor").
_TYPE_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "int32": "IntTensor",
    "int64": "LongTensor",
    "bool": "BoolTensor",
    "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor",
}


def _check_constructor_args(data: Any, dtype: Any) -> None:
    # torch.Tensor(2, 3) and torch.Tensor(5) make uninitialised tensors of that size; gradcore's
    # constructor has torch.tensor's meaning only, so those spellings get an error, not a 0-d tensor.
    if (isinstance(dtype, (int, np.integer)) and not isinstance(dtype, bool)) or (
        type(data) is int and dtype is None
    ):
        raise TypeError(
            "Tensor(data) copies data as gradcore.tensor(data) does; it does not take sizes. For a new "
            "tensor of a given shape use gradcore.empty(2, 3) or gradcore.zeros(2, 3)"
        )


def _is_dtype_name(name: str) -> bool:
    try:
        as_dtype(name)
    except TypeError:
        return False
    return True


def _to_args(
    args: tuple, dtype: Any, device: str | None, copy: bool
) -> tuple[DType | None, str | None, bool]:
    """Sorts Tensor.to's positional forms (dtype / device / other tensor, then non_blocking, copy);
    non_blocking means nothing here: copies are ordered on the current stream either way."""
    flags = []
    for arg in args:
        if isinstance(arg, Tensor):
            dtype, device = dtype or arg.dtype, device or arg.device
        elif isinstance(arg, bool):
            flags.append(arg)
        elif isinstance(arg, str) and not _is_dtype_name(arg):
            device = arg
        elif arg is None:
            continue
        else:
            dtype = arg
    if len(flags) > 1:
        copy = flags[1]
    return (
        None if dtype is None else as_dtype(dtype),
        None if device is None else backend.normalize_device(device),
        bool(copy),
    )


def _shape_arg(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _resolve_shape(shape: tuple[int, ...], size: int) -> tuple[int, ...]:
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {shape}")
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if -1 in shape:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape {size} elements into {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if any(s < 0 for s in shape) or int(np.prod(shape, dtype=np.int64)) != size:
        raise ValueError(f"reshape: cannot reshape {size} elements into shape {shape}")
    return shape


def _check_index_bounds(parts: tuple, shape: tuple[int, ...]) -> None:
    dim = 0
    for p in parts:
        if p is Ellipsis:
            dim = len(shape) - sum(1 for q in parts if q is not None and q is not Ellipsis) + dim
            continue
        if p is None:
            continue
        if dim >= len(shape):
            raise IndexError(f"too many indices for a tensor of shape {shape}")
        if isinstance(p, (int, np.integer)) and not -shape[dim] <= p < shape[dim]:
            raise IndexError(f"index {p} is out of bounds for dim {dim} of size {shape[dim]}")
        dim += 1


def _to_numpy_array(data: Any, dtype: DType | str | None) -> np.ndarray:
    """A fresh C-contiguous array: Python floats give float32, ints int64, bools bool; NumPy arrays and
    NumPy scalars keep their dtype (narrow ints widen to int32)."""
    if isinstance(data, Tensor):
        array = data.numpy()
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        array = np.asarray(data)
        if dtype is None:
            if array.dtype.kind in "iu":
                array = array.astype(np.int64)
            elif array.dtype.kind == "f":
                array = array.astype(get_default_dtype().np)
    if dtype is not None:
        target = as_dtype(dtype).np
    elif array.dtype.kind in "iu" and array.dtype.itemsize < 4:
        target = np.dtype(np.int32)
    else:
        target = array.dtype
        from_numpy_dtype(target)  # raises for dtypes gradcore does not hold
    if target.itemsize == 2 and target.kind != "i" and array.dtype.itemsize > 4:
        array = array.astype(np.float32)  # to a half type through float32, as torch rounds
    return np.array(array, dtype=target, order="C", copy=True)
