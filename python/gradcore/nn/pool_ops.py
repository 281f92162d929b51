"""Pooling and padding primitives over native kernels (csrc/pool_*.{cpp,cu}): max-pool with argmax indices
and its scatter-add adjoint, average pool and its gather-form adjoint, constant padding. Each backward is
itself a primitive with a backward (max-pool's adjoint: a gather at the saved indices; average pool's:
average pool), so double backward works."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function
from ..dtypes import int64
from ..ops import _empty, contiguous_data
from ..ops_index import Gather

# (kh, kw, sh, sw, ph, pw, dh, dw): the kernels' parameter list.
PoolParams = tuple[int, int, int, int, int, int, int, int]


def _tensor(data: Any, device: str) -> Any:
    from ..tensor import Tensor

    return Tensor._wrap(data, device)


class MaxPool2d(Function):
    """Window maxima of a contiguous (N, C, H, W) input to (N, C, OH, OW); the flat argmax indices
    (h * W + w of the input plane) are appended to ``indices_out`` as an int64 tensor."""

    def forward(self, x, out_hw, params, indices_out):
        n, c, h, w = x.shape
        out = _empty(x.device, (n, c) + out_hw, x.dtype)
        idx = _empty(x.device, (n, c) + out_hw, int64)
        backend.kernel(x.device, "max_pool2d_fwd")(contiguous_data(x), out, idx, params)
        indices = _tensor(idx, x.device)
        indices_out.append(indices)
        self.save(x.shape, indices, params)
        return out

    def backward(self, g):
        shape, indices, params = self.saved
        return MaxPool2dBackward.apply(g, indices=indices, in_shape=shape, params=params)


class MaxPool2dBackward(Function):
    """Max-pool's gradient: zeros of the input's shape with each output's g added at its argmax (a
    scatter-add, per plane in the native kernel). Linear in g; its backward gathers at the indices."""

    def forward(self, g, indices, in_shape, params):
        out = _empty(g.device, in_shape, g.dtype)
        backend.kernel(g.device, "max_pool2d_bwd")(contiguous_data(g), indices._data, out, params)
        self.save(indices)
        return out

    def backward(self, gg):
        (indices,) = self.saved
        n, c, oh, ow = indices.shape
        flat = gg.reshape(n * c, gg.shape[2] * gg.shape[3])
        return Gather.apply(flat, index=indices.reshape(n * c, oh * ow), dim=1).reshape(indices.shape)


class AvgPool2d(Function):
    """Window means of a contiguous (N, C, H, W) input, torch's divisor rules (count_include_pad,
    divisor_override given as a positive int or 0 for none)."""

    def forward(self, x, out_hw, params, count_include_pad, divisor):
        n, c = x.shape[:2]
        out = _empty(x.device, (n, c) + out_hw, x.dtype)
        backend.kernel(x.device, "avg_pool2d_fwd")(
            contiguous_data(x), out, params, count_include_pad, divisor
        )
        self.save(x.shape, params, count_include_pad, divisor)
        return out

    def backward(self, g):
        shape, params, count_include_pad, divisor = self.saved
        return AvgPool2dBackward.apply(
            g, in_shape=shape, params=params, count_include_pad=count_include_pad, divisor=divisor
        )


class AvgPool2dBackward(Function):
    """The adjoint of AvgPool2d: each input element sums g / divisor over the windows covering it.
    Linear in g, so its own backward is AvgPool2d of the incoming gradient."""

    def forward(self, g, in_shape, params, count_include_pad, divisor):
        out = _empty(g.device, in_shape, g.dtype)
        backend.kernel(g.device, "avg_pool2d_bwd")(
            contiguous_data(g), out, params, count_include_pad, divisor
        )
        self.save(g.shape[2:], params, count_include_pad, divisor)
        return out

    def backward(self, gg):
        out_hw, params, count_include_pad, divisor = self.saved
        return AvgPool2d.apply(
            gg, out_hw=out_hw, params=params, count_include_pad=count_include_pad, divisor=divisor
        )


class ConstantPad(Function):
    """x written into ``index`` (a tuple of slices) of a new ``shape`` filled with ``value``."""

    def forward(self, x, shape, index, value):
        be = backend.get(x.device)
        out = _empty(x.device, shape, x.dtype)
        backend.kernel(x.device, "fill")(out, value)
        if x.numel():
            backend.kernel(x.device, "unary_copy")(x._data, be.getitem(out, index))
        self.save(index)
        return out

    def backward(self, g):
        (index,) = self.saved
        return g[index]
