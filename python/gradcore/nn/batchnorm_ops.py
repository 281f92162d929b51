"""Batch-norm primitives with native per-channel kernels on both devices: BatchNormTrain (batch
statistics, closed-form backward in one kernel; under create_graph the same formula in Tensor ops, so
double backward works) and BatchNormEval (running statistics; backward in Tensor ops)."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function, is_grad_enabled
from ..ops import _empty, contiguous_data
from ..tensor import Tensor


def _as3d(x: Tensor) -> tuple[int, int, int]:
    """(N, C, S): the kernels' view of (N, C, ...) input, S the product of the trailing dims."""
    s = 1
    for d in x.shape[2:]:
        s *= d
    return x.shape[0], x.shape[1], s


def _bshape(x: Tensor) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _axes(x: Tensor) -> tuple[int, ...]:
    return (0,) + tuple(range(2, x.ndim))


class BatchNormTrain(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, with per-channel (dim 1) batch statistics over
    every other dim (biased variance). The raw (C,) mean and variance are appended to ``stats_out`` for
    the caller's running-stat update."""

    def forward(self, x, weight, bias, eps: float, stats_out: list[Any]):
        be, shape3 = backend.get(x.device), _as3d(x)
        xd = be.view_reshape(contiguous_data(x), shape3)
        out = _empty(x.device, shape3, x.dtype)
        mean, var = be.empty((shape3[1],), x.dtype.np), be.empty((shape3[1],), x.dtype.np)
        backend.kernel(x.device, "batchnorm_fwd_train")(
            xd, contiguous_data(weight), contiguous_data(bias), out, mean, var, eps
        )
        stats_out.extend((mean, var))
        self.save(x, weight, xd, mean, var, eps)
        return be.view_reshape(out, x.shape)

    def backward(self, g):
        x, weight, xd, mean, var, eps = self.saved
        if is_grad_enabled():  # create_graph: recompute the statistics from x so the gradient has a graph
            axes, bshape = _axes(x), _bshape(x)
            centered = x - x.mean(axis=axes, keepdims=True)
            rstd = 1.0 / ((centered * centered).mean(axis=axes, keepdims=True) + eps).sqrt()
            xhat = centered * rstd
            gxhat = (g * xhat).mean(axis=axes, keepdims=True)
            gx = weight.reshape(bshape) * rstd * (g - g.mean(axis=axes, keepdims=True) - xhat * gxhat)
            return gx, (g * xhat).sum(axis=axes), g.sum(axis=axes)
        be, dev, c = backend.get(g.device), g.device, x.shape[1]
        gx = _empty(dev, xd.shape, g.dtype)
        gw, gb = be.empty((c,), g.dtype.np), be.empty((c,), g.dtype.np)
        gd = be.view_reshape(contiguous_data(g), xd.shape)
        backend.kernel(dev, "batchnorm_bwd")(gd, xd, contiguous_data(weight), mean, var, gx, gw, gb, eps)
        return (
            Tensor._wrap(be.view_reshape(gx, x.shape), dev),
            Tensor._wrap(gw, dev),
            Tensor._wrap(gb, dev),
        )


class BatchNormEval(Function):
    """y = (x - running_mean) / sqrt(running_var + eps) * weight + bias per channel (dim 1); the running
    statistics are constants (keyword arguments, not inputs), as in torch."""

    def forward(self, x, weight, bias, running_mean: Tensor, running_var: Tensor, eps: float):
        be, shape3 = backend.get(x.device), _as3d(x)
        out = _empty(x.device, shape3, x.dtype)
        backend.kernel(x.device, "batchnorm_fwd_eval")(
            be.view_reshape(contiguous_data(x), shape3),
            contiguous_data(weight),
            contiguous_data(bias),
            contiguous_data(running_mean),
            contiguous_data(running_var),
            out,
            eps,
        )
        self.save(x, weight, running_mean.detach(), running_var.detach(), eps)
        return be.view_reshape(out, x.shape)

    def backward(self, g):
        x, weight, rm, rv, eps = self.saved
        axes, bshape = _axes(x), _bshape(x)
        rstd = (1.0 / (rv + eps).sqrt()).reshape(bshape)
        xhat = (x - rm.reshape(bshape)) * rstd
        return g * (weight.reshape(bshape) * rstd), (g * xhat).sum(axis=axes), g.sum(axis=axes)
