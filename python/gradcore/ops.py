"""The primitives: one Function per op, its forward (native kernels) beside its backward (Tensor ops).

Composite ops (mean, softmax, log_softmax, ...) are plain functions elsewhere built from these,
with no backward of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import autograd as _autograd
from . import backend
from .autograd import Function, is_grad_enabled, is_unit_seed, no_grad
from .dtypes import DType, bool_, finfo

# ---------------------------------------------------------------- helpers shared by the forwards

# backend.kernel's cache, read inline by the elementwise forwards (a function call less per op); a miss
# goes through backend.kernel, which fills it.
_KERNELS = backend._kernel_cache
_BACKENDS = backend._BACKENDS  # likewise backend.get's table (a miss goes through backend.get)


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
    from .ops_index import wrap_dims  # ops_index imports this module

    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = wrap_dims(axes, ndim, "axis")  # a 0-d tensor takes dim 0 or -1, as in torch
    return tuple(sorted(out)) if ndim else ()


# ---------------------------------------------------------------- unary elementwise


class _Unary(Function):
    kernel = ""

    def forward(self, x):
        self.saved = (x,)
        data, device = x._data, x.device
        out = (_BACKENDS.get(device) or backend.get(device)).empty(data.shape, data.dtype)
        name = "unary_" + self.kernel
        (_KERNELS.get((device, name)) or backend.kernel(device, name))(data, out)
        return out


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
        state = _autograd._state
        if state.enabled or state.anomaly or _autograd._autocast_hook is not None:
            return ReluBackward.apply(g, x)  # a graph to record (create_graph), or a mode that sees each op
        # No graph: the kernel straight away, without ReluBackward's Function (once per ReLU per step).
        device, gd = g.device, g._data
        out = (_BACKENDS.get(device) or backend.get(device)).empty(gd.shape, gd.dtype)
        relu_grad = _KERNELS.get((device, "binary_relu_grad")) or backend.kernel(device, "binary_relu_grad")
        relu_grad(gd, x._data, out)
        return _autograd._tensor_type._wrap(out, device)


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
        from .tensor import Tensor

        # Zero, as in PyTorch: a fresh constant, so NaN or inf in g does not leak through g * 0.
        return Tensor._wrap(backend.get(g.device).zeros(g.shape, g.dtype.np), g.device)


class Copy(_Unary):
    """A contiguous copy (the identity for gradients)."""

    kernel = "copy"

    def backward(self, g):
        return g


class Erf(_Unary):
    """The Gauss error function; d erf(x)/dx = 2/sqrt(pi) exp(-x^2)."""

    kernel = "erf"

    def backward(self, g):
        (x,) = self.saved
        return g * (-(x * x)).exp() * 1.1283791670955126


# ---------------------------------------------------------------- binary elementwise


class _Binary(Function):
    kernel = ""

    def forward(self, a, b):
        self.saved = (a, b)
        da, db = a._data, b._data
        shape = da.shape
        if shape != db.shape:  # the op's name is only needed for the error message
            shape = broadcast_shape(shape, db.shape, type(self).__name__.lower())
        device = a.device
        out = (_BACKENDS.get(device) or backend.get(device)).empty(shape, da.dtype)
        name = "binary_" + self.kernel
        (_KERNELS.get((device, name)) or backend.kernel(device, name))(da, db, out)
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
        from .ops_index import where

        a, b = self.saved
        ga = gb = None
        # PyTorch's conventions at 0: d(x**0)/dx = 0 and d(0**y)/dy = 0 for y >= 0 (not 0 * inf = NaN).
        if self.needs_input_grad[0]:
            ga = sum_to(g * where(b == 0, 0.0, b * a ** (b - 1.0)), a.shape)
        if self.needs_input_grad[1]:
            gb = sum_to(g * where((a == 0) & (b >= 0), 0.0, self.output * a.log()), b.shape)
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
    """eq/ne/gt/ge/lt/le of two same-dtype operands: a bool tensor (one native pass); no gradient."""

    def forward(self, a, b, kernel):
        shape = broadcast_shape(a.shape, b.shape, kernel)
        out = _empty(a.device, shape, bool_)
        backend.kernel(a.device, "compare_" + kernel)(a._data, b._data, out)
        return out

    def backward(self, g):
        return None, None


class Bitwise(_Binary):
    """bitwise_and/or/xor of bool or integer tensors (logical for bool); no gradient."""

    def forward(self, a, b, kernel):
        self.kernel = kernel
        return super().forward(a, b)

    def backward(self, g):
        return None, None


class BitwiseNot(_Unary):
    """~x: logical not for bool, bitwise not for integers; no gradient."""

    kernel = "bitwise_not"

    def backward(self, g):
        return None


# ---------------------------------------------------------------- reductions


def _keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    if keepdims:
        return _keepdims_shape(shape, axes)
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Sum(Function):
    """Sum over axes; the kernel accumulates in double (int64 for integers), and `dtype` may widen the
    output (int64 for integer inputs, float64 for float32) without a copy of the input."""

    def forward(self, x, axes, keepdims, dtype=None):
        self.save(x.shape, axes)
        be = backend.get(x.device)
        out = be.empty(_keepdims_shape(x.shape, axes), (dtype or x.dtype).np)
        backend.kernel(x.device, "sum")(x._data, out)
        return be.view_reshape(out, _reduced_shape(x.shape, axes, keepdims))

    def backward(self, g):
        shape, axes = self.saved
        if 0 in shape:  # nothing to spread over: fresh zeros rather than a zero-size broadcast view
            from .tensor import Tensor

            return Tensor._wrap(backend.get(g.device).zeros(shape, g.dtype.np), g.device)
        return g.reshape(_keepdims_shape(shape, axes)).expand(shape)


class Max(Function):
    """amax: the largest value over axes (NaN propagates); the gradient is split between ties."""

    kernel = "max"

    def forward(self, x, axes, keepdims):
        if any(x.shape[a] == 0 for a in axes) or (x.numel() == 0 and not axes):
            raise ValueError(f"{self.kernel}() of an empty tensor (or over an empty dim) has no identity")
        be = backend.get(x.device)
        out = be.empty(_keepdims_shape(x.shape, axes), x.dtype.np)
        if x.numel():
            backend.kernel(x.device, self.kernel)(x._data, out)
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


class Min(Max):
    """amin: the smallest value over axes, reduced directly (never as -max(-x), which breaks int minima)."""

    kernel = "min"


def _dim_to_last(x: Any, dim: int) -> Any:
    """x with `dim` moved last, as contiguous storage (a view when it already is)."""
    if dim != x.ndim - 1:
        x = x.permute(tuple(i for i in range(x.ndim) if i != dim) + (dim,))
    return contiguous_data(x)


def _last_to_dim(data: Any, device: str, ndim: int, dim: int) -> Any:
    """The inverse of _dim_to_last's permutation, applied to storage laid out with `dim` last."""
    if dim == ndim - 1:
        return data
    order = list(range(ndim - 1))
    order.insert(dim, ndim - 1)
    return backend.get(device).permute(data, tuple(order))


class SelectAlong(Function):
    """max(dim)/min(dim)'s values: the extreme along `dim`; the gradient goes to the element at
    `indices` (the first extreme, or the first NaN), not split between ties."""

    def forward(self, x, indices, dim, keepdim, kernel):
        self.save(x.shape, indices, dim, keepdim)
        axes = (dim,)
        be = backend.get(x.device)
        out = be.empty(_keepdims_shape(x.shape, axes), x.dtype.np)
        backend.kernel(x.device, kernel)(x._data, out)
        return be.view_reshape(out, _reduced_shape(x.shape, axes, keepdim))

    def backward(self, g):
        from .tensor import Tensor

        shape, indices, dim, keepdim = self.saved
        kshape = _keepdims_shape(shape, (dim,))
        pos_shape = tuple(n if i == dim else 1 for i, n in enumerate(shape))
        pos = backend.get(g.device).from_numpy(np.arange(shape[dim], dtype=np.int64).reshape(pos_shape))
        mask = (Tensor._wrap(pos, g.device) == indices.reshape(kshape)).to(g.dtype)
        return g.reshape(kshape) * mask, None


class Prod(Function):
    """Product over axes. Backward handles zeros as torch does: with no zero, out / x; with one zero,
    that element gets the product of the others; with two or more, every gradient is 0."""

    def forward(self, x, axes, keepdims):
        self.save(x, axes)
        be = backend.get(x.device)
        out = be.empty(_keepdims_shape(x.shape, axes), x.dtype.np)
        backend.kernel(x.device, "prod")(x._data, out)
        return be.view_reshape(out, _reduced_shape(x.shape, axes, keepdims))

    def backward(self, g):
        x, axes = self.saved
        kshape = _keepdims_shape(x.shape, axes)
        g = g.reshape(kshape)
        zero = (x.detach() == 0).to(x.dtype)
        nz = zero.sum(axis=axes, keepdims=True)
        x_safe = x + zero  # zeros replaced by ones: their product is the product of the non-zeros
        p_safe = Prod.apply(x_safe, axes=axes, keepdims=True)
        no_zero = (nz == 0).to(x.dtype)
        one_zero = (nz == 1).to(x.dtype)
        return g * (no_zero * p_safe / x_safe + one_zero * zero * p_safe)


class Norm2(Function):
    """The 2-norm over axes; the gradient x / norm is 0 where the norm is 0, as in torch."""

    def forward(self, x, axes, keepdims):
        self.save(x, axes, keepdims)
        with no_grad():
            xd = x.detach()
            if xd.numel() == 0:
                return (xd * xd).sum(axis=axes, keepdims=keepdims).sqrt()._data
            # Scaled by the largest |x| so squares neither underflow (tiny x) nor overflow (huge x).
            big = float(finfo(x.dtype).max)
            m = xd.abs().amax(axis=axes, keepdims=True)
            m = m + (m == 0).to(m.dtype)
            m = m.minimum(big)
            s = xd / m
            out = (s * s).sum(axis=axes, keepdims=True).sqrt() * m
            if not keepdims:
                out = out.reshape(_reduced_shape(x.shape, axes, False))
        return out._data

    def backward(self, g):
        x, axes, keepdims = self.saved
        kshape = _keepdims_shape(x.shape, axes)
        out = self.output.reshape(kshape)
        safe = out + (out.detach() == 0).to(out.dtype)
        return x / safe * g.reshape(kshape)  # x / norm first: finite even for denormal x


class CumSum(Function):
    """Running sum along `dim` (accumulated in double for floats, int64 for integers)."""

    def forward(self, x, dim, dtype):
        self.save(dim)
        data = _dim_to_last(x, dim)
        be = backend.get(x.device)
        out = be.empty(_moved_shape(x.shape, dim), dtype.np)
        backend.kernel(x.device, "cumsum")(data, out)
        return _last_to_dim(out, x.device, x.ndim, dim)

    def backward(self, g):
        (dim,) = self.saved
        # The adjoint is a reversed cumsum: flip, cumsum, flip back (views; differentiable).
        flip = (slice(None),) * dim + (slice(None, None, -1),)
        return g[flip].cumsum(dim)[flip]


def _moved_shape(shape: tuple[int, ...], dim: int) -> tuple[int, ...]:
    return tuple(n for i, n in enumerate(shape) if i != dim) + (shape[dim],)


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
        # A trailing Ellipsis makes NumPy return a 0-d view rather than a scalar when every dim is
        # indexed by an int, so x[0] of a 1-d tensor is a 0-d array (and writable for ScatterSlice).
        parts = index if isinstance(index, tuple) else (index,)
        if not any(p is Ellipsis for p in parts):
            index = parts + (Ellipsis,)
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
    """(..., M, K) @ (..., K, N) with equal batch dims (linalg.matmul broadcasts them first, as stride-0
    views, and handles 1-d operands); one native call, batched over the leading dims."""

    def forward(self, a, b):
        self.save(a, b)
        out = _empty(a.device, a.shape[:-1] + b.shape[-1:], a.dtype)
        backend.kernel(a.device, "matmul")(a._data, b._data, out)
        return out

    def backward(self, g):
        a, b = self.saved
        ga = MatMul.apply(g, b.mT) if self.needs_input_grad[0] else None
        gb = MatMul.apply(a.mT, g) if self.needs_input_grad[1] else None
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
    ever made; the bias is added by the GEMM as it stores each tile (kernel ``matmul_bias``)."""

    def forward(self, x, weight, bias=None):
        # The common case is checked on the storages (no property calls: this runs per layer per step);
        # anything else goes through the full checks and their messages.
        xd, wd = x._data, weight._data
        xs, ws, dt = xd.shape, wd.shape, xd.dtype
        if not (len(xs) == 2 and len(ws) == 2 and xs[1] == ws[1] and dt is wd.dtype and dt.kind == "f"):
            check_matmul_operands(x, (weight.shape[1], weight.shape[0]), weight.dtype, "linear")
        if bias is not None and (bias._data.shape != (ws[0],) or bias._data.dtype is not wd.dtype):
            if bias.shape != (weight.shape[0],) or bias.dtype is not weight.dtype:
                raise ValueError(
                    f"linear: bias must have shape ({weight.shape[0]},) and dtype {weight.dtype}"
                )
        self.saved = (x, weight)
        device = x.device
        be = _BACKENDS.get(device) or backend.get(device)
        out = be.empty((xs[0], ws[0]), dt)
        if bias is not None:  # x @ W.T + b in one GEMM: the bias is added in the product's own store
            fused = _KERNELS.get((device, "matmul_bias")) or backend.kernel(device, "matmul_bias")
            fused(xd, be.permute(wd, (1, 0)), bias._data, out)
            return out
        matmul = _KERNELS.get((device, "matmul")) or backend.kernel(device, "matmul")
        matmul(xd, be.permute(wd, (1, 0)), out)
        return out

    def backward(self, g):
        x, weight = self.saved
        need = self.needs_input_grad
        # No create_graph (and no anomaly mode, which names each backward op): straight to the kernels.
        state = _autograd._state
        if not state.enabled and not state.anomaly:
            return self._backward_kernels(g, x, weight, need)
        gx = g @ weight if need[0] else None
        gw = g.T @ x if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (g.sum(axis=0) if need[2] else None)

    @staticmethod
    def _backward_kernels(g, x, weight, need):
        """dx = g @ W, dW = g.T @ x (in W's layout: g read transposed in place), db = g summed over rows,
        with no Tensor-level Permute / MatMul / Sum nodes: 3 Functions' host work saved per layer."""
        wrap = _autograd._tensor_type._wrap  # no import statement on the hot path (~1 us each)
        device = g.device
        be = _BACKENDS.get(device) or backend.get(device)
        gd = g._data
        if not be.is_contiguous(gd):
            gd = contiguous_data(g)
        dtype = gd.dtype
        matmul = _KERNELS.get((device, "matmul")) or backend.kernel(device, "matmul")
        gx = gw = gb = None
        if need[0]:
            xd = x._data
            out = be.empty(xd.shape, dtype)
            matmul(gd, weight._data, out)
            gx = wrap(out, device)
        if need[1]:
            wd = weight._data
            out = be.empty(wd.shape, dtype)
            matmul(be.permute(gd, (1, 0)), x._data, out)
            gw = wrap(out, device)
        if len(need) == 2:
            return gx, gw
        if need[2]:
            rows = be.empty((1, gd.shape[1]), dtype)
            (_KERNELS.get((device, "sum")) or backend.kernel(device, "sum"))(gd, rows)
            gb = wrap(be.view_reshape(rows, (gd.shape[1],)), device)
        return gx, gw, gb


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
    """Softmax cross-entropy of (N, C) logits against int targets, fused: the kernel writes the loss
    ('mean' over the rows whose target is not ignore_index, 'sum', or 'none': one per row) and
    d(loss)/d(logits) in one call, with no host read; backward only scales it."""

    _REDUCTION_CODES = {"none": 0, "mean": 1, "sum": 2}

    def forward(self, logits, targets, ignore_index=-100, reduction="mean"):
        data = contiguous_data(logits)
        be = backend.get(logits.device)
        loss = be.empty((logits.shape[0],) if reduction == "none" else (), logits.dtype.np)
        dlogits = be.empty(logits.shape, logits.dtype.np)
        code = self._REDUCTION_CODES[reduction]
        kernel = backend.kernel(logits.device, "softmax_ce")
        kernel(data, contiguous_data(targets), loss, dlogits, int(ignore_index), code)
        self.save(logits, targets, dlogits, ignore_index, reduction)
        return loss

    def backward(self, g):
        logits, targets, dlogits, ignore_index, reduction = self.saved
        if is_grad_enabled():  # create_graph: the composite form keeps the gradient differentiable
            from .nn.functional import softmax
            from .tensor import Tensor

            classes = logits.shape[1]
            kept = (targets != ignore_index).to(logits.dtype).unsqueeze(1)
            # An ignored target matches no class: its row of the one-hot is zero, as is its kept flag.
            cls = Tensor(np.arange(classes), device=logits.device).to(targets.dtype).reshape((1, classes))
            onehot = (targets.unsqueeze(1) == cls).to(logits.dtype)
            diff = softmax(logits, axis=-1) * kept - onehot
            if reduction == "none":
                return diff * g.unsqueeze(1), None
            return diff * (g / kept.sum() if reduction == "mean" else g), None
        grad = _autograd._tensor_type._wrap(dlogits, logits.device)
        if reduction == "none":
            return grad * g.unsqueeze(1), None
        return (grad if is_unit_seed(g) else grad * g), None


class ToDevice(Function):
    """A copy to another device; the gradient travels back to the source device."""

    def forward(self, x, device):
        self.save(x.device)
        host = backend.get(x.device).to_numpy(x._data)
        return backend.get(device).from_numpy(host)  # each backend makes it contiguous, 0-d kept

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
