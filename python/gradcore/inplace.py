"""The in-place machinery behind Tensor's in-place methods: PyTorch's checks, overlap-safe writes, the
version bump and the history rebase (bound as private Tensor methods; ``Tensor._apply_inplace`` is the
entry point for new in-place ops)."""

from __future__ import annotations

import weakref
from typing import Any

from . import backend, ops
from .autograd import is_grad_enabled, set_grad_enabled
from .dtypes import DType, float32, promote

# PyTorch's dtype names, for its in-place casting message; kinds order bool < integer < float.
_TORCH_NAME = {"float32": "Float", "float64": "Double", "int32": "Int", "int64": "Long", "bool": "Bool"}


def _kind(dtype: DType) -> int:
    return 2 if dtype.is_floating else 0 if dtype.name == "bool" else 1


def check_cast(result: DType, out: DType) -> None:
    if _kind(result) > _kind(out):
        raise RuntimeError(
            f"result type {_TORCH_NAME.get(result.name, result.name)} can't be cast to the desired output "
            f"type {_TORCH_NAME.get(out.name, out.name)}"
        )


def _writeable(be: Any, data: Any) -> bool:
    check = getattr(be, "is_writeable", None)  # a backend without the notion writes anywhere
    return True if check is None else check(data)


def _may_overlap(be: Any, a: Any, b: Any) -> bool:
    check = getattr(be, "may_overlap", None)  # a backend that cannot tell: assume overlap, copy once more
    return True if check is None else check(a, b)


def run_copy(t: Any) -> Any:
    """A fresh contiguous copy of t's storage."""
    out = backend.get(t.device).empty(t.shape, t.dtype.np)
    backend.kernel(t.device, "unary_copy")(t._data, out)
    return out


class no_record_unless:
    """Grad mode as it is when ``record``, off otherwise (a view made only to be written into)."""

    def __init__(self, record: bool) -> None:
        self.scope = None if record else set_grad_enabled(False)

    def __enter__(self) -> None:
        if self.scope is not None:
            self.scope.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.scope is not None:
            self.scope.__exit__(*exc)


def check_inplace(self, op: str, result_dtype: DType | None = None) -> None:
    """Raises where PyTorch refuses an in-place write, and before any write through read-only memory."""
    if is_grad_enabled():
        if self.requires_grad and self._ctx is None:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place operation."
            )
        base = self._base
        if base is not None and base.requires_grad and base._ctx is None:
            raise RuntimeError(
                f"{op}: a view of a leaf Variable that requires grad is being used in an in-place operation."
            )
    if result_dtype is not None and result_dtype is not self.dtype:
        check_cast(result_dtype, self.dtype)
    data = self._data
    if 0 not in data.shape and any(st == 0 and n > 1 for n, st in zip(data.shape, data.strides)):
        raise RuntimeError(
            f"{op}: unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() before performing the operation."
        )
    if not _writeable(backend.get(self.device), data):
        raise ValueError(
            f"{op}: this tensor's memory is read-only (from_numpy of a read-only array, such as "
            "np.load(mmap_mode='r'), np.frombuffer of bytes or np.broadcast_to); clone() it first"
        )


def write(self, src: Any) -> None:
    """Copies src (broadcast, cast to this dtype) into this storage, through a temporary where the
    two overlap (a[1:].copy_(a[:-1]), m.copy_(m.T)); no checks, no version bump."""
    be = backend.get(self.device)
    data = src._data
    if src.dtype is not self.dtype:
        tmp = be.empty(src.shape, self.dtype.np)
        backend.kernel(self.device, "cast")(data, tmp)
        data = tmp
    elif _may_overlap(be, data, self._data):
        tmp = be.empty(src.shape, self.dtype.np)
        backend.kernel(self.device, "unary_copy")(data, tmp)
        data = tmp
    backend.kernel(self.device, "unary_copy")(data, self._data)


def recording(self, other: Any | None = None) -> bool:
    """Whether an in-place write on self (with operand other) is recorded in the graph."""
    if not is_grad_enabled():
        return False
    base = self._base
    return (
        self.requires_grad
        or (other is not None and other.requires_grad)
        or (base is not None and base.requires_grad)
    )


def inplace_source(self) -> Any:
    """This tensor's current value and history, kept apart from the storage about to be overwritten:
    the operand an in-place op computes its out-of-place result from while a graph is recorded."""
    old = type(self)._wrap(run_copy(self), self.device)
    old._ctx = self._ctx
    old._requires_grad = self._requires_grad
    return old


def apply_inplace(self, result: Any, op: str = "in-place op", *, replace: bool = False) -> Any:
    """Tensor._apply_inplace: see its docstring."""
    self._check_inplace(op)
    if callable(result) and not isinstance(result, type(self)):
        result = result(self._inplace_source() if self._recording() else self)
    result = self._coerce(result)
    if result.dtype is not self.dtype:
        check_cast(result.dtype, self.dtype)
    if result.shape != self.shape and ops.broadcast_shape(result.shape, self.shape, op) != self.shape:
        raise RuntimeError(
            f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape "
            f"{list(ops.broadcast_shape(result.shape, self.shape, op))}"
        )
    if not self._recording(result):
        self._write(result)
        self._bump_version()
        return self
    if result.dtype is not self.dtype:  # the history's gradients must come in this dtype
        result = result.to(self.dtype)
    if self._base is None and result.requires_grad and result.shape == self.shape and not replace:
        self._write(result)
        self._bump_version()
        fn = result._ctx if result._ctx is not None else ops.Copy.apply(result)._ctx
        self._take_history(fn)
        return self
    # A view (or a value with no history of its own): the base becomes CopySlices(old base, value).
    base = self._base if self._base is not None else self
    chain = self._view_chain if self._base is not None else ()
    old = type(self)._wrap(base._data, base.device)
    old._ctx, old._requires_grad = base._ctx, base._requires_grad
    out = ops.CopySlices.apply(old, result, chain=chain)  # writes into base's storage
    base._bump_version()
    base._take_history(out._ctx)
    if self is not base:
        view = base
        for cls, kwargs in chain:
            view = cls.apply(view, **kwargs)
        self._take_history(view._ctx)
    return self


def take_history(self, fn: Any) -> None:
    self._ctx = fn
    self._requires_grad = True
    fn._out = weakref.ref(self)
    fn._out_version = self._version


def inplace_binary(self, other: Any, kernel: str, method: str, op: str, bump: bool = True) -> Any:
    fresh = not isinstance(other, type(self))  # made here from a number or array: cannot overlap self
    other = self._coerce(other)
    if self._recording(other):
        return self._apply_inplace(lambda t: getattr(t, method)(other), op)
    dtype = promote(self.dtype, other.dtype)
    if kernel == "div" and not dtype.is_floating:
        dtype = float32
    self._check_inplace(op, dtype)
    ops.broadcast_shape(self.shape, other.shape, op)
    if ops.broadcast_shape(self.shape, other.shape, op) != self.shape:
        raise RuntimeError(
            f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape "
            f"{list(ops.broadcast_shape(self.shape, other.shape, op))}"
        )
    data = other._data
    if other.dtype is not self.dtype:
        data = other.to(self.dtype)._data
    elif not fresh and other is not self and _may_overlap(backend.get(self.device), data, self._data):
        data = run_copy(other)
    backend.kernel(self.device, "binary_" + kernel)(self._data, data, self._data)
    if bump:
        self._bump_version()
    return self
