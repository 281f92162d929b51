"""gradcore.amp: GradScaler (dynamic loss scaling for float16 training) and autocast, as torch.amp."""

from __future__ import annotations

from typing import Any

from .autocast import autocast as autocast

__all__ = ["GradScaler", "autocast"]


class GradScaler:
    """Scales the loss so small float16 gradients do not flush to zero, as ``torch.amp.GradScaler``.

    ``step`` unscales the gradients (unless ``unscale_`` did), skips the optimizer step when any is inf or
    NaN, and ``update`` halves the scale after such a step or doubles it after ``growth_interval`` clean ones.

    Example:
        >>> import gradcore as gc
        >>> w = gc.nn.Parameter(gc.ones(2)); opt = gc.optim.SGD([w], lr=0.1)
        >>> scaler = gc.amp.GradScaler(init_scale=8.0)
        >>> scaler.scale((w * w).sum()).backward(); scaler.step(opt); scaler.update()
        >>> w.tolist()
        [0.800000011920929, 0.800000011920929]
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if growth_factor <= 1.0 or not 0.0 < backoff_factor < 1.0:
            raise ValueError("GradScaler: growth_factor must be > 1 and backoff_factor in (0, 1)")
        self.device = device
        self._scale = float(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._enabled = bool(enabled)
        self._growth_tracker = 0
        self._unscaled: dict[int, bool] = {}  # id(optimizer) -> found inf while unscaling

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def scale(self, outputs: Any) -> Any:
        """outputs (a tensor, or nested lists/tuples of them) times the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def _params(self, optimizer: Any) -> list:
        return [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]

    def unscale_(self, optimizer: Any) -> None:
        """Divides the optimizer's gradients by the scale in place (once per step) and notes inf/NaN."""
        if not self._enabled:
            return
        if id(optimizer) in self._unscaled:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update()")
        from .functions import isfinite

        found_inf = False
        inv = 1.0 / self._scale
        for p in self._params(optimizer):
            p.grad.mul_(inv)
            found_inf = found_inf or not bool(isfinite(p.grad).all().item())
        self._unscaled[id(optimizer)] = found_inf

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscales (if not yet) and runs ``optimizer.step()`` unless a gradient was inf or NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) not in self._unscaled:
            self.unscale_(optimizer)
        if self._unscaled[id(optimizer)]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | None = None) -> None:
        """Backs the scale off after a skipped step, grows it after ``growth_interval`` clean steps."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif any(self._unscaled.values()):
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._unscaled.clear()

    def state_dict(self) -> dict[str, Any]:
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._scale = float(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])
