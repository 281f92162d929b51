"""The primitives: one Function per op, its forward (native kernels) beside its backward (Tensor ops).

Composite ops (mean, softmax, log_softmax, ...) are plain functions elsewhere built from these,
with no backward of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .autograd import Function, is_grad_enabled, is_unit_seed, no_grad
from .dtypes import DType

# ---------------------------------------------------------------- helpers shared by the forwards


def _empty(like_device: str, shape: tuple[int, ...], dtype: DType) -> Any:
    return backend.get(like_device).empty(shape, dtype.np)


def _run_unary(name: str, x: Any, device: str, shape: tuple[int, ...], dtype: DType) -> Any:
    out = _empty(device, shape, dtype)
    backend.kernel(device, "unary_" + name)(x, out)
    return out


def contiguous_data(t: Any) -> Any:
    """t's storage, copied into a fresh contiguous buffer when it is a strided view."""
    be = backend.get(t.device)
    if be.is_contiguous(t._data):
        return t._data
    return _run_unary("copy", t._data, t.device, t.shape, t.dtype)


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...], op: str) -> tuple[int, ...]:
    """NumPy's broadcast of two shapes, computed here: np.broadcast_shapes costs microseconds per op."""
    if a == b:
        return a
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(pa, pb):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"{op}: shapes {a} and {b} cannot be broadcast together")
        out.append(y if x == 1 else x)
    return tuple(out)


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Sums a broadcast gradient back down to an input's shape."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def normalize_axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dims")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()


# ---------------------------------------------------------------- unary elementwise


class _Unary(Function):
    kernel = ""

    def forward(self, x):
        self.save(x)
        return _run_unary(self.kernel, x._data, x.device, x.shape, x.dtype)


class Neg(_Unary):
    kernel = "neg"

    def backward(self, g):
        return -g


class Exp(_Unary):
    kernel = "exp"

    def backward(self, g):
        return g * self.output


class Log(_Unary):
    kernel = "log"

    def backward(self, g):
        (x,) = self.saved
        return g / x


class Relu(_Unary):
    kernel = "relu"

    def backward(self, g):
        (x,) = self.saved
        return ReluBackward.apply(g, x)


class ReluBackward(Function):
    """g where x > 0, else 0. Linear in g, flat in x, so its own backward is itself."""

    def forward(self, g, x):
        self.save(x)
        out = _empty(g.device, g.shape, g.dtype)
        backend.kernel(g.device, "binary_relu_grad")(g._data, x._data, out)
        return out

    def backward(self, gg):
        (x,) = self.saved
        return ReluBackward.apply(gg, x), None


class Sigmoid(_Unary):
    kernel = "sigmoid"

    def backward(self, g):
        s = self.output
        return g * s * (1.0 - s)


class Tanh(_Unary):
    kernel = "tanh"

    def backward(self, g):
        t = self.output
        return g * (1.0 - t * t)


class Sqrt(_Unary):
    kernel = "sqrt"

    def backward(self, g):
        return g * 0.5 / self.output


class Abs(_Unary):
    kernel = "abs"

    def backward(self, g):
        (x,) = self.saved
        return g * x.sign()


class Sign(_Unary):
    kernel = "sign"

    def backward(self, g):
        return None


class Copy(_Unary):
    """A contiguous copy (the identity for gradients)."""

    kernel = "copy"

    def backward(self, g):
        return g


# ---------------------------------------------------------------- binary elementwise


class _Binary(Function):
    kernel = ""

    def forward(self, a, b):
        self.save(a, b)
        shape = broadcast_shape(a.shape, b.shape, type(self).__name__.lower())
        out = _empty(a.device, shape, a.dtype)
        backend.kernel(a.device, "binary_" + self.kernel)(a._data, b._data, out)
        return out


class Add(_Binary):
    kernel = "add"

    def backward(self, g):
        a, b = self.saved
        return sum_to(g, a.shape), sum_to(g, b.shape)


class Sub(_Binary):
    kernel = "sub"

    def backward(self, g):
        a, b = self.saved
        return sum_to(g, a.shape), sum_to(-g, b.shape) if self.needs_input_grad[1] else None


class Mul(_Binary):
    kernel = "mul"

    def backward(self, g):
        a, b = self.saved
        ga = sum_to(g * b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(g * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(_Binary):
    kernel = "div"

    def backward(self, g):
        a, b = self.saved
        ga = sum_to(g / b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-g * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(_Binary):
    kernel = "pow"

    def backward(self, g):
        a, b = self.saved
        ga = sum_to(g * b * a ** (b - 1.0), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(g * self.output * a.log(), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Maximum(_Binary):
    kernel = "maximum"

    def backward(self, g):
        a, b = self.saved
        # Ties share the gradient equally, as in PyTorch.
        wa = (a > b) + (a == b) * 0.5
        return sum_to(g * wa, a.shape), sum_to(g * (1.0 - wa), b.shape)


class Minimum(_Binary):
    kernel = "minimum"

    def backward(self, g):
        a, b = self.saved
        wa = (a < b) + (a == b) * 0.5
        return sum_to(g * wa, a.shape), sum_to(g * (1.0 - wa), b.shape)


class Compare(_Binary):
    """eq/ne/gt/ge/lt/le: 1 where true, 0 elsewhere, in the operands' dtype; no gradient."""

    def forward(self, a, b, kernel):
        self.kernel = kernel
        return super().forward(a, b)

    def backward(self, g):
        return None, None


# ---------------------------------------------------------------- reductions


def _keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    if keepdims:
        return _keepdims_shape(shape, axes)
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Sum(Function):
    def forward(self, x, axes, keepdims):
        self.save(x.shape, axes)
        be = backend.get(x.device)
        out = be.empty(_keepdims_shape(x.shape, axes), x.dtype.np)
        backend.kernel(x.device, "sum")(x._data, out)
        return be.view_reshape(out, _reduced_shape(x.shape, axes, keepdims))

    def backward(self, g):
        shape, axes = self.saved
        return g.reshape(_keepdims_shape(shape, axes)).expand(shape)


class Max(Function):
    def forward(self, x, axes, keepdims):
        if x.numel() == 0:
            raise ValueError("max() of an empty tensor")
        be = backend.get(x.device)
        out = be.empty(_keepdims_shape(x.shape, axes), x.dtype.np)
        backend.kernel(x.device, "max")(x._data, out)
        self.save(x, axes, out)
        return be.view_reshape(out, _reduced_shape(x.shape, axes, keepdims))

    def backward(self, g):
        from .tensor import Tensor

        x, axes, out = self.saved
        kshape = _keepdims_shape(x.shape, axes)
        # Gradient goes to every maximal element, split evenly between ties (like torch.amax).
        mask = x.detach() == Tensor._wrap(out, x.device)
        share = g.reshape(kshape) / mask.sum(axis=axes, keepdims=True)
        return mask * share


# ---------------------------------------------------------------- shape and dtype


class Reshape(Function):
    def forward(self, x, shape):
        self.save(x.shape)
        self.view = backend.get(x.device).is_contiguous(x._data)  # else the reshape copies
        return backend.get(x.device).view_reshape(contiguous_data(x), shape)

    def backward(self, g):
        (shape,) = self.saved
        return g.reshape(shape)


class Permute(Function):
    view = True

    def forward(self, x, axes):
        self.save(axes)
        return backend.get(x.device).permute(x._data, axes)

    def backward(self, g):
        (axes,) = self.saved
        return g.permute(tuple(int(i) for i in np.argsort(axes)))


class Expand(Function):
    """A broadcast view (stride 0 on new axes); no memory is copied."""

    view = True

    def forward(self, x, shape):
        self.save(x.shape)
        return backend.get(x.device).expand(x._data, shape)

    def backward(self, g):
        (shape,) = self.saved
        return sum_to(g, shape)


class Cast(Function):
    def forward(self, x, dtype):
        self.save(x.dtype)
        out = _empty(x.device, x.shape, dtype)
        backend.kernel(x.device, "cast")(x._data, out)
        return out

    def backward(self, g):
        (dtype,) = self.saved
        return g.to(dtype) if dtype.is_floating else None


class GetItem(Function):
    """Basic indexing (ints, slices, None, Ellipsis): a strided view of the input."""

    view = True

    def forward(self, x, index):
        self.save(x.shape, x.dtype, index)
        return backend.get(x.device).getitem(x._data, index)

    def backward(self, g):
        shape, dtype, index = self.saved
        return ScatterSlice.apply(g, shape=shape, index=index)


class ScatterSlice(Function):
    """Zeros of `shape` with g written into `index`: the adjoint of GetItem."""

    def forward(self, g, shape, index):
        self.save(index)
        be = backend.get(g.device)
        out = be.zeros(shape, g.dtype.np)
        backend.kernel(g.device, "unary_copy")(g._data, be.getitem(out, index))
        return out

    def backward(self, gg):
        (index,) = self.saved
        return gg[index]


# ---------------------------------------------------------------- matmul and fused kernels


class MatMul(Function):
    def forward(self, a, b):
        check_matmul_operands(a, b.shape, b.dtype, "matmul")
        self.save(a, b)
        out = _empty(a.device, (a.shape[0], b.shape[1]), a.dtype)
        backend.kernel(a.device, "matmul")(a._data, b._data, out)
        return out

    def backward(self, g):
        a, b = self.saved
        ga = g @ b.T if self.needs_input_grad[0] else None
        gb = a.T @ g if self.needs_input_grad[1] else None
        return ga, gb


def check_matmul_operands(a: Any, b_shape: tuple[int, ...], b_dtype: DType, what: str) -> None:
    if a.ndim != 2 or len(b_shape) != 2:
        raise ValueError(f"{what}: operands must be 2-d, got shapes {a.shape} and {b_shape}")
    if a.shape[1] != b_shape[0]:
        raise ValueError(
            f"{what}: shapes {a.shape} and {b_shape} are not aligned "
            f"({a.shape[1]} (dim 1) != {b_shape[0]} (dim 0))"
        )
    if a.dtype is not b_dtype or not a.dtype.is_floating:
        raise TypeError(f"{what}: expected two float tensors of one dtype, got {a.dtype} and {b_dtype}")


class Linear(Function):
    """x @ W.T + b as one primitive (W is (out, in), as in PyTorch). The weight is read transposed in
    place, and its gradient g.T @ x comes out contiguous in W's own layout, so no transposed copy is
    ever made; the bias is added into the matmul's output buffer."""

    def forward(self, x, weight, bias=None):
        check_matmul_operands(x, (weight.shape[1], weight.shape[0]), weight.dtype, "linear")
        if bias is not None and (bias.shape != (weight.shape[0],) or bias.dtype is not weight.dtype):
            raise ValueError(f"linear: bias must have shape ({weight.shape[0]},) and dtype {weight.dtype}")
        self.save(x, weight)
        be = backend.get(x.device)
        out = be.empty((x.shape[0], weight.shape[0]), x.dtype.np)
        backend.kernel(x.device, "matmul")(x._data, be.permute(weight._data, (1, 0)), out)
        if bias is not None:
            backend.kernel(x.device, "binary_add")(out, bias._data, out)
        return out

    def backward(self, g):
        x, weight = self.saved
        gx = g @ weight if self.needs_input_grad[0] else None
        gw = g.T @ x if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 2:
            return gx, gw
        return gx, gw, (g.sum(axis=0) if self.needs_input_grad[2] else None)


class BinaryCrossEntropy(Function):
    """Mean binary cross-entropy of probabilities p against targets y, with PyTorch's guards: each log
    is clamped at -100 and the gradient (p - y) / max(p (1 - p), 1e-12) stays finite at p = 0 or 1,
    where the composite formula would give inf * 0 = NaN."""

    def forward(self, p, y):
        self.save(p, y)
        with no_grad():
            p, y = p.detach(), y.detach()
            loss = -(y * p.log().maximum(-100.0) + (1.0 - y) * (1.0 - p).log().maximum(-100.0)).mean()
        return loss._data

    def backward(self, g):
        p, y = self.saved
        scale = g / p.numel()
        gp = (p - y) / (p * (1.0 - p)).maximum(1e-12) * scale if self.needs_input_grad[0] else None
        gy = None
        if self.needs_input_grad[1]:
            gy = ((1.0 - p).log().maximum(-100.0) - p.log().maximum(-100.0)) * scale
        return gp, gy


class SoftmaxCrossEntropy(Function):
    """Mean softmax cross-entropy of (N, C) logits against int targets, fused: the kernel
    writes the loss and d(loss)/d(logits) in one call, and backward only scales it."""

    def forward(self, logits, targets):
        data = contiguous_data(logits)
        be = backend.get(logits.device)
        loss = be.empty((), logits.dtype.np)
        dlogits = be.empty(logits.shape, logits.dtype.np)
        backend.kernel(logits.device, "softmax_ce")(data, contiguous_data(targets), loss, dlogits)
        self.save(logits, targets, dlogits)
        return loss

    def backward(self, g):
        from .tensor import Tensor

        logits, targets, dlogits = self.saved
        if is_grad_enabled():  # create_graph: the composite form keeps the gradient differentiable
            from .nn.functional import one_hot, softmax

            n = logits.shape[0]
            return (softmax(logits, axis=-1) - one_hot(targets, logits.shape[1], logits.dtype)) * (
                g / n
            ), None
        grad = Tensor._wrap(dlogits, logits.device)
        return (grad if is_unit_seed(g) else grad * g), None


class ToDevice(Function):
    """A copy to another device; the gradient travels back to the source device."""

    def forward(self, x, device):
        self.save(x.device)
        host = backend.get(x.device).to_numpy(x._data)
        return backend.get(device).from_numpy(np.ascontiguousarray(host))

    def backward(self, g):
        (device,) = self.saved
        return g.to(device)

    @classmethod
    def apply(cls, x, device):  # the output lives on the target device, not the input's
        out = super().apply(x, device=device)
        out.device = device
        return out


class CopySlices(Function):
    """``base`` with ``value`` written (broadcast) into the view ``chain`` selects, in base's own storage:
    the history an in-place write into a view (or a constant write) gives the base, as PyTorch's node of
    that name. ``chain`` is the ((Function, kwargs), ...) that made the view from base; its gradient is
    zero for base where the view was overwritten, and the view of the gradient for value."""

    def forward(self, base, value, chain):
        from .tensor import Tensor

        self.save(base.shape, value.shape, value.dtype, chain)
        with no_grad():
            view = Tensor._wrap(base._data, base.device)
            for cls, kwargs in chain:
                view = cls.apply(view, **kwargs)
            view._write(value)
        return base._data

    def backward(self, g):
        from .tensor import Tensor

        shape, vshape, vdtype, chain = self.saved
        gb = gv = None
        if self.needs_input_grad[0]:
            be = backend.get(g.device)
            with no_grad():
                mask = Tensor._wrap(be.empty(shape, g.dtype.np), g.device)
                mask._write(Tensor._wrap(be.from_numpy(np.ones((), g.dtype.np)), g.device))
                view = mask
                for cls, kwargs in chain:
                    view = cls.apply(view, **kwargs)
                view._write(Tensor._wrap(be.from_numpy(np.zeros((), g.dtype.np)), g.device))
            gb = g * mask
        if self.needs_input_grad[1]:
            gv = g
            for cls, kwargs in chain:
                gv = cls.apply(gv, **kwargs)
            gv = sum_to(gv, vshape)
            gv = gv.to(vdtype) if gv.dtype is not vdtype else gv
        return gb, gv
