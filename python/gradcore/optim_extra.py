"""The rarer optimizers with torch's names, defaults and single-tensor numerics: Adadelta, Adagrad, Adamax,
NAdam, RAdam, ASGD and Rprop (Tensor ops on whole parameters, one parameter at a time)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .autograd import no_grad
from .dtypes import float64, get_default_dtype
from .ops_index import where
from .optim import Optimizer
from .tensor import Tensor


def _scalar(value: float) -> float:
    """value rounded as torch stores its scalar state tensors (mu_product, eta, mu): in the default float
    dtype (float32 unless set to float64), so trajectories agree with torch's to the last bit."""
    return float(value) if get_default_dtype() is float64 else float(np.float32(value))


def _scalar_mul(a: float, b: float) -> float:
    """a *= b on a torch scalar-state tensor: the product taken in that tensor's dtype."""
    if get_default_dtype() is float64:
        return float(a) * float(b)
    return float(np.float32(a) * np.float32(b))


def _lerp_(buf: Tensor, value: Tensor, weight: float) -> Tensor:
    """buf.lerp_(value, weight) in place: buf + weight * (value - buf), torch's running average form."""
    return buf.copy_(buf + (value - buf) * weight)


def _check_betas(betas: tuple[float, float]) -> tuple[float, float]:
    """Validates betas and returns them as given (torch keeps the caller's object in the defaults)."""
    b1, b2 = float(betas[0]), float(betas[1])
    if not 0.0 <= b1 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {b1}")
    if not 0.0 <= b2 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {b2}")
    return betas


def _floats(group: dict[str, Any], *names: str) -> list[float]:
    """A param group's hyperparameters as Python floats (they may be given as ints or 0-d tensors)."""
    return [float(group[k]) for k in names]


def _adam_hyperparameters(group: dict[str, Any]) -> tuple[float, float, float, float, float]:
    """lr, weight_decay, eps and the two betas of an Adam-family group, as floats."""
    lr, wd, eps = _floats(group, "lr", "weight_decay", "eps")
    b1, b2 = (float(b) for b in group["betas"])
    return lr, wd, eps, b1, b2


def _weight_decay(p: Tensor, g: Tensor, lr: float, wd: float, decoupled: bool = False) -> Tensor:
    """Applies weight decay as torch does and returns the gradient to use: decoupled (p shrunk in place by
    lr * wd, NAdamW/RAdamW) or L2 (wd * p added to the gradient)."""
    if not wd:
        return g
    if decoupled:
        p.copy_(p * (1 - lr * wd))
        return g
    return g + p * wd


class _Simple(Optimizer):
    """Optimizers updated parameter by parameter with Tensor ops; ``_update(p, g, group, state)`` holds
    the algorithm (g already negated for maximize)."""

    def _check_group(self, group: dict[str, Any]) -> None:
        if group.get("eps", 0.0) < 0:
            raise ValueError(f"Invalid epsilon value: {group['eps']}")
        if group.get("weight_decay", 0.0) < 0:
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")

    def _update(self, p: Tensor, g: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        raise NotImplementedError

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._run_closure(closure)
        self.step_count += 1
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = -p.grad if group.get("maximize", False) else p.grad
                state = self.state.setdefault(p, {})
                self._init_state(p, group, state)
                state["step"] = state.get("step", 0) + 1
                self._update(p, g, group, state)
        return loss

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        """Fills a parameter's state the first time (subclasses)."""

    def _zeros(self, p: Tensor, state: dict[str, Any], *names: str) -> None:
        for name in names:
            if name not in state:
                self._buffer(p, name)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Scalar entries (mu_product, eta, mu) are numbers, not parameter-shaped buffers: set them aside
        # so the base class checks only the buffers, then put them back.
        raw = state_dict["state"]
        entries = list(raw.items()) if isinstance(raw, dict) else list(enumerate(raw))
        aside = self._scalar_keys + self._free_shape_keys
        scalars = {
            int(i): {
                k: (float(np.asarray(v)) if k in self._scalar_keys else v) for k, v in s.items() if k in aside
            }
            for i, s in entries
        }
        trimmed = [(i, {k: v for k, v in s.items() if k not in aside}) for i, s in entries]
        super().load_state_dict({**state_dict, "state": dict(trimmed)})
        params = self.params
        for i, values in scalars.items():
            p = params[i]
            for k, v in values.items():
                if k in self._free_shape_keys:  # a buffer of its own shape (Adafactor's row/col statistics)
                    arr = np.asarray(v.numpy() if isinstance(v, Tensor) else v)
                    v = Tensor(arr.astype(p.dtype.np), device=p.device)
                self.state.setdefault(p, {})[k] = v

    _scalar_keys: tuple[str, ...] = ()
    _free_shape_keys: tuple[str, ...] = ()


class Adadelta(_Simple):
    """Adadelta (Zeiler 2012) as ``torch.optim.Adadelta``: running averages of squared gradients and of
    squared updates; lr (1.0 by default) scales the update.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.Adadelta([w])
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 5)
        0.99684
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            capturable=capturable,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        self._zeros(p, state, "square_avg", "acc_delta")

    def _update(self, p: Tensor, g: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        rho, eps, wd, lr = _floats(group, "rho", "eps", "weight_decay", "lr")
        g = _weight_decay(p, g, lr, wd)
        sq, acc = state["square_avg"], state["acc_delta"]
        sq.copy_(sq * rho + g * g * (1.0 - rho))
        delta = (acc + eps).sqrt() / (sq + eps).sqrt() * g
        acc.copy_(acc * rho + delta * delta * (1.0 - rho))
        p.copy_(p - delta * lr)


class Adagrad(_Simple):
    """Adagrad as ``torch.optim.Adagrad``: the step divided by the root of the summed squared gradients;
    ``lr_decay`` shrinks the lr as lr / (1 + (step - 1) * lr_decay).

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.Adagrad([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if lr_decay < 0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if initial_accumulator_value < 0:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:  # torch fills the state at construction
            for p in group["params"]:
                self._init_state(p, group, self.state.setdefault(p, {"step": 0}))

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        if "sum" not in state:
            self._buffer(p, "sum").fill_(float(group["initial_accumulator_value"]))

    def _update(self, p: Tensor, g: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, wd, eps = _floats(group, "lr", "weight_decay", "eps")
        g = _weight_decay(p, g, lr, wd)
        clr = lr / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        s = state["sum"]
        s.copy_(s + g * g)
        p.copy_(p - g / (s.sqrt() + eps) * clr)


class Adamax(_Simple):
    """Adamax (Adam with the infinity norm) as ``torch.optim.Adamax``.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.Adamax([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=_check_betas(betas),
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        self._zeros(p, state, "exp_avg", "exp_inf")

    def _update(self, p: Tensor, g: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, wd, eps, b1, b2 = _adam_hyperparameters(group)
        g = _weight_decay(p, g, lr, wd)
        m, u = state["exp_avg"], state["exp_inf"]
        _lerp_(m, g, 1.0 - b1)
        u.copy_((u * b2).maximum(g.abs() + eps))
        clr = lr / (1 - b1 ** state["step"])
        p.copy_(p - m / u * clr)


class NAdam(_Simple):
    """Adam with Nesterov momentum (Dozat 2016) as ``torch.optim.NAdam``, with its momentum decay
    schedule; ``decoupled_weight_decay=True`` is NAdamW.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.NAdam([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.8944
    """

    _scalar_keys = ("mu_product",)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        if momentum_decay < 0:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(
            lr=lr,
            betas=_check_betas(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        state.setdefault("mu_product", 1.0)
        self._zeros(p, state, "exp_avg", "exp_avg_sq")

    def _update(self, p: Tensor, g: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, wd, eps, b1, b2 = _adam_hyperparameters(group)
        step, decay = state["step"], float(group["momentum_decay"])
        bc2 = 1 - b2**step
        g = _weight_decay(p, g, lr, wd, group["decoupled_weight_decay"])
        mu = b1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
        mu_product = state["mu_product"] = _scalar_mul(state["mu_product"], mu)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(m, g, 1.0 - b1)
        v.copy_(v * b2 + g * g * (1.0 - b2))
        denom = (v / bc2).sqrt() + eps
        mu_product_next = mu_product * mu_next
        p.copy_(p + g / denom * (-lr * (1.0 - mu) / (1.0 - mu_product)))
        p.copy_(p + m / denom * ((-lr * mu_next) / (1.0 - mu_product_next)))


class RAdam(_Simple):
    """Rectified Adam (Liu et al. 2019) as ``torch.optim.RAdam``: plain momentum SGD while the variance
    estimate is unreliable (rho_t <= 5), then rectified Adam steps.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.RAdam([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.8
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=_check_betas(betas),
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        self._zeros(p, state, "exp_avg", "exp_avg_sq")

    def _update(self, p: Tensor, g: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, wd, eps, b1, b2 = _adam_hyperparameters(group)
        step = state["step"]
        g = _weight_decay(p, g, lr, wd, group["decoupled_weight_decay"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(m, g, 1.0 - b1)
        v.copy_(v * b2 + g * g * (1.0 - b2))
        bc1, bc2 = 1 - b1**step, 1 - b2**step
        corrected = m / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * step * (b2**step) / bc2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = (bc2**0.5) / (v.sqrt() + eps)
            p.copy_(p - corrected * lr * adaptive * rect)
        else:
            p.copy_(p - corrected * lr)


class ASGD(_Simple):
    """Averaged SGD (Polyak & Juditsky) as ``torch.optim.ASGD``: the average of the iterates is kept in
    the state as ``ax``.

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.ASGD([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.8
    """

    _scalar_keys = ("eta", "mu")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lambd=lambd,
            alpha=alpha,
            t0=t0,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        state.setdefault("eta", _scalar(group["lr"]))
        state.setdefault("mu", 1.0)
        self._zeros(p, state, "ax")

    def _update(self, p: Tensor, g: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, wd, lambd = _floats(group, "lr", "weight_decay", "lambd")
        g = _weight_decay(p, g, lr, wd)
        eta, mu, ax = state["eta"], state["mu"], state["ax"]
        p.copy_(p * (1 - lambd * eta))
        p.copy_(p - g * eta)
        if mu != 1:
            ax.copy_(ax + (p - ax) * mu)
        else:
            ax.copy_(p)
        step = state["step"]
        state["eta"] = _scalar(lr / ((1 + lambd * lr * step) ** float(group["alpha"])))
        state["mu"] = _scalar(1 / max(1, step - float(group["t0"])))


class Rprop(_Simple):
    """Resilient backpropagation as ``torch.optim.Rprop``: per-element step sizes grow by etas[1] while
    the gradient keeps its sign and shrink by etas[0] when it flips (that step is then skipped).

    Example:
        >>> import gradcore as gc
        >>> w = gc.tensor([1.0], requires_grad=True)
        >>> opt = gc.optim.Rprop([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(
            lr=lr,
            etas=etas,
            step_sizes=step_sizes,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        self._zeros(p, state, "prev")
        if "step_size" not in state:
            self._buffer(p, "step_size").fill_(float(group["lr"]))

    def _update(self, p: Tensor, g: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        etaminus, etaplus = (float(e) for e in group["etas"])
        lo, hi = (float(v) for v in group["step_sizes"])
        prev, size = state["prev"], state["step_size"]
        sign = (g * prev).sign()
        # The factors as tensors of p's dtype (two Python numbers would give a default-dtype tensor).
        up, down, one = (g.new_full(tuple(g.shape), v) for v in (etaplus, etaminus, 1.0))
        factor = where(sign > 0, up, where(sign < 0, down, one))
        size.copy_((size * factor).clamp(lo, hi))
        g = where(sign < 0, 0.0, g)
        p.copy_(p - g.sign() * size)
        prev.copy_(g)


class Adafactor(_Simple):
    """Adafactor (Shazeer & Stern 2018) as ``torch.optim.Adafactor``: the second moment of a matrix is kept
    as row and column means (memory O(rows + cols)), steps are relative to the parameter's RMS and
    clipped by ``d``.

    Example:
        >>> import gradcore as gc
        >>> w = gc.ones(2, 3, requires_grad=True)
        >>> opt = gc.optim.Adafactor([w], lr=0.01)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.tolist()[0][0], 4)
        0.99
    """

    _free_shape_keys = ("row_var", "col_var")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(
            lr=lr,
            beta2_decay=beta2_decay,
            eps=eps,
            d=d,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        pass  # eps is a pair here; the constructor checked everything

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        if p.ndim > 1:
            if "row_var" not in state:
                state["row_var"] = p.new_zeros(tuple(p.shape[:-1]) + (1,))
                state["col_var"] = p.new_zeros(tuple(p.shape[:-2]) + (1, p.shape[-1]))
        else:
            self._zeros(p, state, "variance")

    def _update(self, p: Tensor, g: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        from .dtypes import finfo

        lr, wd, d = _floats(group, "lr", "weight_decay", "d")
        eps1, eps2 = group["eps"]
        eps1 = finfo(p.dtype).eps if eps1 is None else float(eps1)
        step = float(state["step"])
        one_minus_beta2_t = step ** float(group["beta2_decay"])
        rho_t = min(lr, 1 / (step**0.5))
        alpha = max(float(eps2), float(p.norm(2).item()) / (p.numel() ** 0.5)) * rho_t
        if wd:
            p.copy_(p * (1 - lr * wd))
        if g.ndim > 1:
            row, col = state["row_var"], state["col_var"]
            _lerp_(row, (g * g).sum(dim=-1, keepdim=True) / g.shape[-1], one_minus_beta2_t)
            _lerp_(col, (g * g).sum(dim=-2, keepdim=True) / g.shape[-2], one_minus_beta2_t)
            var_estimate = (row @ col) / row.mean(dim=-2, keepdim=True).clamp(min=eps1)
        else:
            var = state["variance"]
            _lerp_(var, g * g, one_minus_beta2_t)
            var_estimate = var
        update = g / var_estimate.clamp(min=eps1 * eps1).sqrt()
        denom = max(1.0, float(update.norm(2).item()) / ((update.numel() ** 0.5) * d))
        p.copy_(p - update * (alpha / denom))


__all__ = ["ASGD", "Adafactor", "Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam", "Rprop"]
