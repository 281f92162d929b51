"""torch's random helpers built on gradcore's generator: randperm (argsort of uniform keys), multinomial
(Gumbel-top-k without replacement, inverse CDF with), normal with tensor means and stds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .shape_ops import _T, _check, broadcast_shapes

if TYPE_CHECKING:
    from .tensor import Tensor


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: str = "cpu",
             requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64), from gradcore's generator, as torch.randperm."""
    from .creation import rand

    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    keys = rand(n, device=device, generator=generator)
    out = keys.argsort()
    return out if dtype is None else out.to(dtype)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False) -> Tensor:
    """Indices drawn from the rows of input (non-negative weights), as torch.multinomial: without
    replacement by the Gumbel-top-k trick, with replacement by inverse-CDF sampling."""
    from .creation import rand

    w = _check(input, "multinomial").detach()
    if w.ndim not in (1, 2):
        raise ValueError(f"multinomial: prob_dist must be 1 or 2 dim, got {w.ndim}")
    if not w.dtype.is_floating:
        raise TypeError(f"multinomial: only floating-point dtypes are supported for input, got {w.dtype}")
    n = w.shape[-1]
    if num_samples <= 0:
        raise ValueError(f"multinomial: cannot sample n_sample <= 0 samples, got {num_samples}")
    if not replacement and num_samples > n:
        raise ValueError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                         "replacement")
    if bool((w < 0).any()) or not bool(w.isfinite().all()):
        raise ValueError("multinomial: probability tensor contains either inf, nan or element < 0")
    if bool((w.sum(-1) <= 0).any()):
        raise ValueError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement:
        u = rand(*w.shape, device=w.device, dtype=w.dtype).clamp(min=1e-12)
        keys = w.log() - (-u.log()).log()  # log w + Gumbel noise; zero weights get -inf
        return keys.topk(num_samples, dim=-1).indices
    cdf = w.cumsum(-1)
    cdf = cdf / cdf.narrow(-1, n - 1, 1)
    u = rand(*(w.shape[:-1] + (num_samples,)), device=w.device, dtype=w.dtype)
    from .ops_sort import searchsorted

    idx = searchsorted(cdf, u, right=True)
    return idx.clamp(max=n - 1)


def normal(mean: Any, std: Any = 1.0, size: Sequence[int] | None = None, *,
           device: str | None = None) -> Tensor:
    """Normal samples with tensor or number means and stds (broadcast), as torch.normal."""
    from .creation import randn

    T = _T()
    if not isinstance(mean, T) and not isinstance(std, T):
        if size is None:
            raise TypeError("normal: give a size when mean and std are both numbers")
        return randn(*size, device=device or "cpu") * std + mean
    ref = mean if isinstance(mean, T) else std
    m = mean.detach() if isinstance(mean, T) else mean
    s = std.detach() if isinstance(std, T) else std
    if isinstance(s, T) and bool((s < 0).any()):
        raise ValueError("normal expects all elements of std >= 0.0")
    shape = broadcast_shapes(getattr(m, "shape", ()), getattr(s, "shape", ()))
    dt = ref.dtype if ref.dtype.is_floating else None
    if dt is None:
        raise TypeError(f"normal: expected a floating point mean/std, got {ref.dtype}")
    return randn(*shape, device=ref.device, dtype=dt) * s + m
