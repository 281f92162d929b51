"""DDP's gradient buckets: filled by post-accumulate-grad hooks, each all-reduced as soon as it is full.

Parameters go into buckets in reverse registration order (about the order backward reaches them), one
dtype and device per bucket, up to ``bucket_cap`` bytes (the first one smaller, so communication starts
early, as torch does). When the last gradient of a bucket has arrived, the bucket's non-blocking
all-reduce starts (buckets in index order, so every rank issues the same sequence) while backward goes on
with earlier layers; each later hook polls the requests in flight, which is what moves MPI along. When the
last bucket has started, the reducer waits for all of them and writes each parameter's averaged
gradient. Every rank must therefore produce a gradient for every parameter in each synchronized backward
(or the module must be wrapped with ``find_unused_parameters=True``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ... import backend
from ...autograd import no_grad
from ...creation import zeros
from ...tensor import Tensor


class _Bucket:
    def __init__(self, index: int, params: list[tuple[str, Tensor]]) -> None:
        self.index = index
        self.names = [n for n, _ in params]
        self.params = [p for _, p in params]
        self.offsets = np.cumsum([0] + [p.numel() for p in self.params]).tolist()
        first = self.params[0]
        self.flat = zeros(self.offsets[-1], dtype=first.dtype, device=first.device)
        self.views = [self._view(i) for i in range(len(self.params))]
        self.reset()

    def _view(self, i: int) -> Tensor:
        be = backend.get(self.flat.device)
        part = be.getitem(self.flat._data, slice(self.offsets[i], self.offsets[i + 1]))
        return Tensor._wrap(be.view_reshape(part, self.params[i].shape), self.flat.device)

    def reset(self) -> None:
        self.ready = [False] * len(self.params)
        self.pending = len(self.params)
        self.work: Any = None


class Reducer:
    """Buckets over ``named_params`` with the hooks that fill them; see the module docstring."""

    def __init__(
        self,
        named_params: Iterable[tuple[str, Tensor]],
        bucket_cap: int,
        first_bucket_cap: int,
        gradient_as_bucket_view: bool = False,
    ) -> None:
        from ... import distributed as dist

        self.dist = dist
        self.world = dist.get_world_size()
        self.as_view = gradient_as_bucket_view
        self.buckets: list[_Bucket] = []
        current: list[tuple[str, Tensor]] = []
        size, cap = 0, first_bucket_cap
        for name, p in reversed(list(named_params)):
            if current and (
                size + p.nbytes > cap or (p.dtype, p.device) != (current[0][1].dtype, current[0][1].device)
            ):
                self.buckets.append(_Bucket(len(self.buckets), current))
                current, size, cap = [], 0, bucket_cap
            current.append((name, p))
            size += p.nbytes
        if current:
            self.buckets.append(_Bucket(len(self.buckets), current))
        self.where = {id(p): (b.index, i) for b in self.buckets for i, p in enumerate(b.params)}
        self.handles = [
            p.register_post_accumulate_grad_hook(self._on_grad) for b in self.buckets for p in b.params
        ]
        self.armed = (
            False  # set by prepare() (a synchronized forward), cleared when the gradients are written
        )
        self.next_launch = 0
        self.used: np.ndarray | None = None  # find_unused_parameters: which params this rank used

    # ------------------------------------------------------------------ per iteration
    def prepare(self, unused: Iterable[Tensor] | None = None) -> None:
        """Arms the hooks for the next backward; ``unused`` params are marked ready at once (zeros)."""
        started = [b for b in self.buckets if b.pending < len(b.params)]
        if self.armed and started:
            missing = [n for b in self.buckets for n, r in zip(b.names, b.ready) if not r]
            raise RuntimeError(
                "DistributedDataParallel: the previous backward gave no gradient to parameter(s) "
                f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}, so their gradients were "
                "never averaged; every parameter must take part in the loss, or wrap the module with "
                "find_unused_parameters=True (or freeze them with requires_grad_(False) before wrapping)"
            )
        for b in self.buckets:
            b.reset()
        self.next_launch = 0
        self.armed = True
        self.used = None
        if unused is not None:
            self.used = np.ones(len(self.where), np.int32)
            for p in unused:
                b, i = self.where[id(p)]
                self.used[self._flat_index(b, i)] = 0
                with no_grad():
                    self.buckets[b].views[i].fill_(0)
                self._mark(self.buckets[b], i)

    def _flat_index(self, b: int, i: int) -> int:
        return sum(len(x.params) for x in self.buckets[:b]) + i

    def _on_grad(self, p: Tensor) -> None:
        if not self.armed:
            return  # no_sync(), or a backward through the module outside a DDP forward
        b, i = self.where[id(p)]
        bucket = self.buckets[b]
        if bucket.ready[i]:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {bucket.names[i]} got a gradient twice in one backward; "
                "call the wrapped module's forward once per backward (or use no_sync() for accumulation)"
            )
        backend.kernel(p.device, "unary_copy")(p.grad._data, bucket.views[i]._data)
        self._mark(bucket, i)

    def _mark(self, bucket: _Bucket, i: int) -> None:
        bucket.ready[i] = True
        bucket.pending -= 1
        while self.next_launch < len(self.buckets) and self.buckets[self.next_launch].pending == 0:
            nxt = self.buckets[self.next_launch]
            nxt.work = self.dist.all_reduce(nxt.flat, op="sum", async_op=True)
            self.next_launch += 1
        for b in self.buckets[: self.next_launch]:
            b.work.is_completed()  # polling is what moves non-blocking MPI collectives forward
        if self.next_launch == len(self.buckets):
            self._finish()

    def _finish(self) -> None:
        self.armed = False
        used = self.used
        if used is not None:  # which parameters some rank used: the others keep their .grad untouched
            used_t = Tensor(used)
            self.dist.all_reduce(used_t, op="max")
            used = used_t.numpy()
        k = 0
        with no_grad():
            for b in self.buckets:
                b.work.wait()
                for i, p in enumerate(b.params):
                    if used is None or used[k]:
                        grad = b.views[i]
                        if self.as_view:
                            grad.div_(self.world)
                        else:
                            grad = grad / self.world
                        p.grad = grad
                    k += 1

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []
