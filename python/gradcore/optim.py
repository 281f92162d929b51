"""Optimizers with torch's param groups. SGD (all options) and Adam/AdamW run one fused native call per
(group, device) updating every parameter; the rarer amsgrad and RMSprop use Tensor ops."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import backend
from .autograd import no_grad, set_grad_enabled
from .tensor import Tensor


class Optimizer:
    """Holds ``param_groups`` (dicts with "params" and per-group hyperparameters, editable so that
    schedulers work) and ``state`` (per-parameter buffers, keyed by the parameter)."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts"
            )
        if defaults.get("lr", 0.0) < 0:
            raise ValueError(f"invalid learning rate {defaults['lr']}")
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.step_count = 0
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a group of parameters with its own hyperparameters (missing ones take the defaults).

        Example:
            >>> import gradcore as gc
            >>> a, b = gc.zeros(2, requires_grad=True), gc.zeros(2, requires_grad=True)
            >>> opt = gc.optim.SGD([a], lr=0.1)
            >>> opt.add_param_group({"params": [b], "lr": 0.01})
            >>> [g["lr"] for g in opt.param_groups]
            [0.1, 0.01]
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, not a set")
        params = list(params) if params is not None else []
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
            if not p.requires_grad:
                raise TypeError("optimizer parameters must be tensors with requires_grad=True")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        unique = list({id(p): p for p in params}.values())
        if len(unique) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; each is updated once",
                UserWarning,
                stacklevel=3,
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in unique):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = unique
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        if group["lr"] < 0:
            raise ValueError(f"invalid learning rate {group['lr']}")
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validates one group's hyperparameters (subclasses)."""

    def __repr__(self) -> str:
        """torch's form: the class name, then each group's hyperparameters in sorted order."""
        out = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        return out + ")"

    @property
    def params(self) -> list[Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    @property
    def lr(self) -> float:
        """The first group's learning rate; assigning sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for g in self.param_groups:
            g["lr"] = float(value)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                with no_grad():
                    p.grad.zero_()

    def _buffer(self, p: Tensor, name: str) -> Tensor:
        """The state buffer ``name`` of p, zeros on p's device the first time."""
        state = self.state.setdefault(p, {})
        buf = state.get(name)
        if buf is None or buf.device != p.device or buf.shape != p.shape:
            buf = Tensor._wrap(backend.get(p.device).zeros(p.shape, p.dtype.np), p.device)
            state[name] = buf
        return buf

    def _next_step(self, p: Tensor) -> int:
        """Counts one more step for p (the per-parameter ``step`` in its state, as torch's) and returns it."""
        state = self.state.setdefault(p, {})
        state["step"] = state.get("step", 0) + 1
        return state["step"]

    @staticmethod
    def _grad(p: Tensor, group: dict[str, Any]) -> Tensor:
        """p's gradient, contiguous, negated for a group with torch's ``maximize``."""
        g = p.grad.contiguous()
        return -g if group.get("maximize", False) else g

    @staticmethod
    def _ema_(buf: Tensor, value: Tensor, decay: float) -> Tensor:
        """buf <- decay * buf + (1 - decay) * value, in place: the running averages of Adam and RMSprop."""
        return buf.copy_(buf * decay + value * (1.0 - decay))

    @staticmethod
    def _check_nonnegative(**hyperparameters: float) -> None:
        for name, value in hyperparameters.items():
            if value < 0:
                raise ValueError(f"invalid {name} value {value}")

    def _by_device(self, group: dict[str, Any]) -> dict[Any, list[Tensor]]:
        """Parameters of a group that have a gradient, by device (one fused call each)."""
        out: dict[Any, list[Tensor]] = {}
        for p in group["params"]:
            if p.grad is not None:
                out.setdefault(p.device, []).append(p)
        return out

    @staticmethod
    def _written(ps: list[Tensor]) -> list[Any]:
        """The storages of ps for a fused kernel that writes them in place; their version counters are
        bumped so tensors saved for backward from them read as stale."""
        for p in ps:
            p._bump_version()
        return [p._data for p in ps]

    def hyperparameters(self) -> dict[str, Any]:
        return {k: v for k, v in self.param_groups[0].items() if k != "params"}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        raise NotImplementedError

    @staticmethod
    def _run_closure(closure: Callable[[], Any] | None) -> Any:
        """torch's step(closure): re-evaluates the loss (with gradients on) before the update."""
        if closure is None:
            return None
        with set_grad_enabled(True):
            return closure()

    def state_dict(self) -> dict[str, Any]:
        """As torch's: "state" (per-parameter buffers, host copies, indexed by the parameter's position
        across groups; a list so gradcore.save can write it) and "param_groups" (hyperparameters with
        "params" as positions)."""
        index = {id(p): i for i, p in enumerate(self.params)}
        groups = []
        for g in self.param_groups:
            d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items() if k != "params"}
            d["params"] = [index[id(p)] for p in g["params"]]
            groups.append(d)
        state = [
            {
                k: (np.array(v.numpy(), copy=True) if isinstance(v, Tensor) else v)
                for k, v in self.state.get(p, {}).items()
            }
            for p in self.params
        ]
        return {
            "type": type(self).__name__,
            "step_count": self.step_count,
            "state": state,
            "param_groups": groups,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        kind = state_dict.get("type", type(self).__name__)
        if kind != type(self).__name__:
            raise ValueError(f"optimizer state is for {kind}, not {type(self).__name__}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        for saved, own in zip(groups, self.param_groups):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group "
                    "that doesn't match the size of optimizer's group"
                )
        params = self.params
        raw = state_dict["state"]
        entries = raw.items() if isinstance(raw, dict) else enumerate(raw)
        new_state: dict[Tensor, dict[str, Any]] = {}
        for i, s in entries:
            i = int(i)
            if not 0 <= i < len(params):
                raise ValueError(
                    f"optimizer state has an entry for parameter {i}, this optimizer has {len(params)}"
                )
            p = params[i]
            entry: dict[str, Any] = {}
            for k, v in s.items():
                arr = np.asarray(v.numpy() if isinstance(v, Tensor) else v)
                if k == "step":
                    entry[k] = int(arr)
                    continue
                if arr.shape != p.shape:
                    raise ValueError(f"optimizer state {k!r} has shape {arr.shape}, parameter has {p.shape}")
                entry[k] = Tensor(arr.astype(p.dtype.np), device=p.device)
            if entry:
                new_state[p] = entry
        for saved, own in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    own[k] = tuple(v) if isinstance(v, list) else v
        self.step_count = int(state_dict.get("step_count", 0))
        self.state = new_state


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (PyTorch
    semantics: the first momentum buffer is the gradient itself).

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.SGD([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 6)
        0.8
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        self._check_nonnegative(momentum=momentum, weight_decay=weight_decay)
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov
        )
        # torch's flags: maximize ascends (the gradient is negated first); the rest only pick torch's
        # implementation, accepted so code written for torch runs unchanged.
        defaults.update(maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._run_closure(closure)
        self.step_count += 1
        for group in self.param_groups:
            lr, mom, damp, wd = (float(group[k]) for k in ("lr", "momentum", "dampening", "weight_decay"))
            nesterov = bool(group["nesterov"])
            for device, ps in self._by_device(group).items():
                # One fused call for the parameters that already have a momentum buffer and one for
                # those that get theirs now (torch starts it at the gradient itself, undampened).
                has_buf = [mom != 0.0 and "momentum_buffer" in self.state.get(p, {}) for p in ps]
                fresh = [p for p, h in zip(ps, has_buf) if not h]
                for first, sub in ((True, fresh), (False, [p for p, h in zip(ps, has_buf) if h])):
                    if not sub:
                        continue
                    grads = [self._grad(p, group)._data for p in sub]
                    # Without momentum the kernel never touches the buffers: no state is kept, as torch.
                    bufs = [self._buffer(p, "momentum_buffer")._data for p in sub] if mom else grads
                    backend.kernel(device, "sgd_step")(
                        self._written(sub), grads, bufs, lr, mom, wd, damp, nesterov, first
                    )
        return loss


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba); L2 weight decay added to the gradient; ``amsgrad``
    keeps the running maximum of the second moment.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.Adam([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=(float(betas[0]), float(betas[1])),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
        )
        # torch's flags: maximize ascends; decoupled_weight_decay=True is AdamW; the rest only pick
        # torch's implementation.
        defaults.update(
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
        )
        if decoupled_weight_decay:
            self.decoupled = True
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        b1, b2 = group["betas"]
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"invalid betas {group['betas']}: each must be in [0, 1)")
        if group["eps"] < 0:
            raise ValueError(f"invalid epsilon value {group['eps']}")

    @property
    def betas(self) -> tuple[float, float]:
        return tuple(self.param_groups[0]["betas"])

    @property
    def eps(self) -> float:
        return self.param_groups[0]["eps"]

    @property
    def weight_decay(self) -> float:
        return self.param_groups[0]["weight_decay"]

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._run_closure(closure)
        self.step_count += 1
        for group in self.param_groups:
            lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
            b1, b2 = (float(b) for b in group["betas"])
            for device, ps in self._by_device(group).items():
                by_step: dict[int, list[Tensor]] = {}
                for p in ps:
                    by_step.setdefault(self._next_step(p), []).append(p)
                for step, sps in by_step.items():
                    if group["amsgrad"]:
                        for p in sps:
                            self._amsgrad_update(p, lr, b1, b2, eps, wd, step, group.get("maximize", False))
                        continue
                    grads, exp_avg, exp_avg_sq = self._adam_lists(sps, group.get("maximize", False))
                    backend.kernel(device, "adam_step")(
                        self._written(sps),
                        grads,
                        exp_avg,
                        exp_avg_sq,
                        lr,
                        b1,
                        b2,
                        eps,
                        wd,
                        step,
                        self.decoupled,
                    )
        return loss

    def _adam_lists(self, ps: list[Tensor], maximize: bool = False) -> tuple[list[Any], list[Any], list[Any]]:
        """The storages of ps' gradients (contiguous) and moment buffers, one state lookup per parameter
        (this runs every step: the per-call work of ``_buffer`` twice per parameter added up)."""
        grads, exp_avg, exp_avg_sq = [], [], []
        for p in ps:
            g = -p._grad if maximize else p._grad
            if not backend.get(g.device).is_contiguous(g._data):
                g = g.contiguous()
            grads.append(g._data)
            state = self.state.get(p)
            m = v = None
            if state is not None:
                m, v = state.get("exp_avg"), state.get("exp_avg_sq")
            shape, device = p._data.shape, p.device
            if m is None or m.device != device or m._data.shape != shape:
                m = self._buffer(p, "exp_avg")
            if v is None or v.device != device or v._data.shape != shape:
                v = self._buffer(p, "exp_avg_sq")
            exp_avg.append(m._data)
            exp_avg_sq.append(v._data)
        return grads, exp_avg, exp_avg_sq

    def _amsgrad_update(
        self,
        p: Tensor,
        lr: float,
        b1: float,
        b2: float,
        eps: float,
        wd: float,
        step: int,
        maximize: bool = False,
    ) -> None:
        g = -p.grad if maximize else p.grad
        if wd and self.decoupled:
            p.copy_(p * (1.0 - lr * wd))
        elif wd:
            g = g + p * wd
        m, v, vmax = (self._buffer(p, k) for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"))
        self._ema_(m, g, b1)
        self._ema_(v, g * g, b2)
        vmax.copy_(vmax.maximum(v))
        bc1, bc2 = 1.0 - b1**step, 1.0 - b2**step
        denom = vmax.sqrt() / (bc2**0.5) + eps
        p.copy_(p - m / denom * (lr / bc1))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p -= lr * wd * p before the step."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
        )


class RMSprop(Optimizer):
    """RMSprop as torch's: a running mean of squared gradients (decay ``alpha``), optionally centered
    (minus the squared running mean gradient) and with momentum.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.RMSprop([w], lr=0.01)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        self._check_nonnegative(alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
        )
        defaults.update(
            capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable
        )
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._run_closure(closure)
        self.step_count += 1
        for group in self.param_groups:
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            wd, mom = float(group["weight_decay"]), float(group["momentum"])
            for p in (p for p in group["params"] if p.grad is not None):
                self._next_step(p)
                g = -p.grad if group.get("maximize", False) else p.grad
                g = g + p * wd if wd else g
                sq = self._buffer(p, "square_avg")
                self._ema_(sq, g * g, alpha)
                if group["centered"]:
                    ga = self._buffer(p, "grad_avg")
                    self._ema_(ga, g, alpha)
                    avg = (sq - ga * ga).sqrt() + eps
                else:
                    avg = sq.sqrt() + eps
                if mom > 0:
                    buf = self._buffer(p, "momentum_buffer")
                    buf.copy_(buf * mom + g / avg)
                    p.copy_(p - buf * lr)
                else:
                    p.copy_(p - g / avg * lr)
        return loss


from . import lr_scheduler  # noqa: E402  (gradcore.optim.lr_scheduler, as in torch)

sys.modules[__name__ + ".lr_scheduler"] = lr_scheduler  # so `import gradcore.optim.lr_scheduler` works

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]

from .optim_extra import ASGD, Adadelta, Adafactor, Adagrad, Adamax, NAdam, RAdam, Rprop  # noqa: E402

__all__ += ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adamax", "NAdam", "RAdam", "Rprop"]

from .optim_lbfgs import LBFGS  # noqa: E402

__all__ += ["LBFGS"]
