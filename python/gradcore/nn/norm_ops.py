"""Primitives over the last dim of (R, D) rows with native kernels on both devices: the layer-norm core
(x - mean) / sqrt(var + eps) and log-softmax. Backward runs the native kernel too; under create_graph
it is written in Tensor ops instead, so double backward works."""

from __future__ import annotations

from .. import backend
from ..autograd import Function, is_grad_enabled
from ..ops import _empty, contiguous_data


class LayerNormRows(Function):
    """xhat = (x - mean) * rstd per row of a 2-d x, rstd = 1 / sqrt(biased var + eps)."""

    def forward(self, x, eps):
        be = backend.get(x.device)
        out = _empty(x.device, x.shape, x.dtype)
        rstd = be.empty((x.shape[0],), x.dtype.np)
        backend.kernel(x.device, "layernorm_fwd")(contiguous_data(x), out, rstd, float(eps))
        self.save(x, out, rstd, float(eps))
        return out

    def backward(self, g):
        x, out, rstd, eps = self.saved
        if is_grad_enabled():  # create_graph: recompute from x so the gradient stays differentiable
            centered = x - x.mean(axis=-1, keepdims=True)
            r = 1.0 / ((centered * centered).mean(axis=-1, keepdims=True) + eps).sqrt()
            xhat = centered * r
            return r * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))
        from ..tensor import Tensor

        dx = _empty(g.device, g.shape, g.dtype)
        backend.kernel(g.device, "layernorm_bwd")(contiguous_data(g), out, rstd, dx)
        return Tensor._wrap(dx, g.device)


class LogSoftmaxRows(Function):
    """x - logsumexp(x) per row of a 2-d x; d/dx: g - exp(out) * sum(g)."""

    def forward(self, x):
        out = _empty(x.device, x.shape, x.dtype)
        backend.kernel(x.device, "log_softmax_fwd")(contiguous_data(x), out)
        self.save(out)
        return out

    def backward(self, g):
        if is_grad_enabled():  # create_graph: the output tensor carries the graph
            return g - self.output.exp() * g.sum(axis=-1, keepdims=True)
        from ..tensor import Tensor

        (out,) = self.saved
        dx = _empty(g.device, g.shape, g.dtype)
        backend.kernel(g.device, "log_softmax_bwd")(contiguous_data(g), out, dx)
        return Tensor._wrap(dx, g.device)
