"""Primitive Functions behind the losses that need guarded gradients (elementwise binary cross-entropy)."""

from __future__ import annotations

from ..autograd import Function, no_grad


class BinaryCrossEntropyElementwise(Function):
    """-(y log p + (1-y) log(1-p)) per element, with PyTorch's guards: each log is clamped at -100 and
    the gradient (p - y) / max(p (1 - p), 1e-12) stays finite at p = 0 or 1, where the composite
    formula would give inf * 0 = NaN. Reduction and weights are applied by the caller in Tensor ops."""

    def forward(self, p, y):
        self.save(p, y)
        with no_grad():
            p, y = p.detach(), y.detach()
            loss = -(y * p.log().maximum(-100.0) + (1.0 - y) * (1.0 - p).log().maximum(-100.0))
        return loss._data

    def backward(self, g):
        p, y = self.saved
        gp = g * (p - y) / (p * (1.0 - p)).maximum(1e-12) if self.needs_input_grad[0] else None
        gy = None
        if self.needs_input_grad[1]:
            gy = g * ((1.0 - p).log().maximum(-100.0) - p.log().maximum(-100.0))
        return gp, gy
