"""Optimizers. Each step is one fused native call per device that updates every parameter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from . import backend
from .autograd import no_grad
from .tensor import Tensor


class Optimizer:
    """Holds the parameters and their per-parameter state buffers."""

    _buffers: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for p in self.params:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError("optimizer parameters must be tensors with requires_grad=True")
        if lr < 0:
            raise ValueError(f"invalid learning rate {lr}")
        self.lr = float(lr)
        self.step_count = 0
        self.state: list[dict[str, Tensor]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _groups(self) -> dict[str, list[int]]:
        """Indices of parameters that have a gradient, grouped by device (one fused call each)."""
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(self.params):
            if p.grad is not None:
                groups.setdefault(p.device, []).append(i)
        return groups

    def _state(self, i: int, name: str) -> Tensor:
        buf = self.state[i].get(name)
        p = self.params[i]
        if buf is None or buf.device != p.device:
            buf = Tensor._wrap(backend.get(p.device).zeros(p.shape, p.dtype.np), p.device)
            self.state[i][name] = buf
        return buf

    def _lists(self, idx: list[int]) -> list[list[Any]]:
        for i in idx:  # the step writes these parameters in place: saved copies of them go stale
            self.params[i]._bump_version()
        return [
            [self.params[i]._data for i in idx],
            [self.params[i].grad.contiguous()._data for i in idx],
            *[[self._state(i, name)._data for i in idx] for name in self._buffers],
        ]

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr}

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, the step count and host copies of every state buffer."""
        return {
            "type": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "step_count": self.step_count,
            "state": [{k: np.array(v.numpy(), copy=True) for k, v in s.items()} for s in self.state],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("type") != type(self).__name__:
            raise ValueError(f"optimizer state is for {state.get('type')}, not {type(self).__name__}")
        if len(state["state"]) != len(self.params):
            raise ValueError(
                f"optimizer state has {len(state['state'])} parameters, this optimizer has {len(self.params)}"
            )
        for p, s in zip(self.params, state["state"]):
            for k, v in s.items():
                if tuple(np.shape(v)) != p.shape:
                    raise ValueError(
                        f"optimizer state {k!r} has shape {np.shape(v)}, parameter has {p.shape}"
                    )
        for k, v in state["hyperparameters"].items():
            setattr(self, k, tuple(v) if isinstance(v, list) else v)
        self.step_count = int(state["step_count"])
        self.state = [
            {k: Tensor(np.asarray(v, p.dtype.np), device=p.device) for k, v in s.items()}
            for p, s in zip(self.params, state["state"])
        ]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay (PyTorch semantics).

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.SGD([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 6)
        0.8
    """

    _buffers = ("momentum_buffer",)

    def __init__(
        self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr)
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}

    @no_grad()
    def step(self) -> None:
        self.step_count += 1
        for device, idx in self._groups().items():
            ps, gs, bufs = self._lists(idx)
            backend.kernel(device, "sgd_step")(ps, gs, bufs, self.lr, self.momentum, self.weight_decay)


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba); L2 weight decay added to the gradient.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.Adam([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    _buffers = ("exp_avg", "exp_avg_sq")
    decoupled = False

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"invalid betas {betas}: each must be in [0, 1)")
        self.betas, self.eps, self.weight_decay = (
            (float(betas[0]), float(betas[1])),
            float(eps),
            float(weight_decay),
        )

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps, "weight_decay": self.weight_decay}

    @no_grad()
    def step(self) -> None:
        self.step_count += 1
        for device, idx in self._groups().items():
            ps, gs, ms, vs = self._lists(idx)
            backend.kernel(device, "adam_step")(
                ps,
                gs,
                ms,
                vs,
                self.lr,
                self.betas[0],
                self.betas[1],
                self.eps,
                self.weight_decay,
                self.step_count,
                self.decoupled,
            )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p -= lr * wd * p before the step."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
