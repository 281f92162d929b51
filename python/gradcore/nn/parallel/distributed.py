"""DistributedDataParallel: one model replica per rank, gradients averaged in buckets during backward."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ...autograd import _node, _topological_order, is_grad_enabled
from ...tensor import Tensor
from ..module import Module
from .reducer import Reducer

_FIRST_BUCKET_BYTES = 1 << 20  # torch's first bucket: small, so the first all-reduce starts early


def _tensors_in(out: Any) -> Iterator[Tensor]:
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (list, tuple)):
        for o in out:
            yield from _tensors_in(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _tensors_in(o)


class DistributedDataParallel(Module):
    """Wraps ``module`` for data-parallel training, as ``torch.nn.parallel.DistributedDataParallel``.

    At wrap time every rank takes rank 0's parameters and buffers (so the replicas start equal). In each
    backward after a forward through the wrapper, gradients are averaged over the ranks in buckets of
    about ``bucket_cap_mb`` MiB, each starting its all-reduce as soon as its gradients are ready, while
    backward computes the rest. ``no_sync()`` skips the averaging (gradient accumulation: the next
    synchronized backward averages the sum). The wrapped module is ``.module``; ``state_dict()`` keys
    start with ``"module."`` as in torch (save ``ddp.module.state_dict()`` for checkpoints that load into
    a plain model). ``broadcast_buffers`` re-sends rank 0's buffers before each training forward.
    ``find_unused_parameters=True`` allows parameters that get no gradient in some iterations (one graph
    walk per forward and one more small all-reduce per backward).

    Example:
        >>> import gradcore as gc, gradcore.distributed as dist
        >>> dist.init_process_group()  # doctest: +SKIP
        >>> model = gc.nn.parallel.DistributedDataParallel(gc.nn.Linear(4, 2))  # doctest: +SKIP
        >>> model(gc.randn(8, 4)).sum().backward()  # grads are now the average over ranks  # doctest: +SKIP
    """

    def __init__(
        self,
        module: Module,
        device_ids: list[Any] | None = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        gradient_as_bucket_view: bool = False,
    ) -> None:
        super().__init__()
        from ... import distributed as dist

        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel wraps a gradcore.nn.Module, got {type(module).__name__}"
            )
        if device_ids is not None and [str(d).replace("cuda:", "") for d in device_ids] not in (
            ["0"],
            ["cuda"],
        ):
            raise ValueError(
                f"device_ids={device_ids!r}: gradcore drives one device per process (None or [0])"
            )
        if bucket_cap_mb is None:
            bucket_cap_mb = 25
        if (
            isinstance(bucket_cap_mb, bool)
            or not isinstance(bucket_cap_mb, (int, float))
            or not bucket_cap_mb > 0
        ):
            raise ValueError(f"bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        if process_group is not None:
            raise ValueError("process_group: only the default process group exists in gradcore (pass None)")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        self.world_size, self.rank = dist.get_world_size(), dist.get_rank()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._verify_same_structure(dist, module)
        self._broadcast_state(dist)
        cap = int(bucket_cap_mb * (1 << 20))
        object.__setattr__(
            self, "reducer", Reducer(named, cap, min(cap, _FIRST_BUCKET_BYTES), gradient_as_bucket_view)
        )

    def _verify_same_structure(self, dist: Any, module: Module) -> None:
        """Every rank must wrap the same architecture: compares a digest of the names, shapes and dtypes."""
        text = ";".join(f"{n}:{tuple(t.shape)}:{t.dtype}" for n, t in module._state_entries())
        digest = np.frombuffer(hashlib.sha256(text.encode()).digest()[:8], np.int64).copy()
        both = Tensor(np.concatenate([digest, -digest]))
        dist.all_reduce(both, op="max")
        lo, hi = -int(both.numpy()[1]), int(both.numpy()[0])
        if lo != hi:
            raise ValueError(
                "DistributedDataParallel: the ranks wrap modules whose parameters or buffers differ in "
                "names, shapes or dtypes; every rank must build the same model"
            )

    def _broadcast_state(self, dist: Any) -> None:
        for _, t in self.module._state_entries():
            dist.broadcast(t, src=0)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        from ... import distributed as dist

        training = self.training and is_grad_enabled()
        if training and self.broadcast_buffers:
            for b in self.module.buffers():
                dist.broadcast(b, src=0)
        out = self.module(*args, **kwargs)
        if training and self.require_backward_grad_sync:
            self.reducer.prepare(self._unused(out) if self.find_unused_parameters else None)
        return out

    def _unused(self, out: Any) -> list[Tensor]:
        roots = [_node(t) for t in _tensors_in(out) if t.requires_grad]
        reached = {id(n) for n in _topological_order(roots)}
        return [p for b in self.reducer.buckets for p in b.params if id(p) not in reached]

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside this block, forward/backward accumulate gradients locally without averaging them; the
        first synchronized backward after it averages the accumulated sum.

        Example:
            >>> with ddp.no_sync():  # doctest: +SKIP
            ...     ddp(x1).sum().backward()
            >>> ddp(x2).sum().backward()  # averages the gradients of both batches  # doctest: +SKIP
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def extra_repr(self) -> str:
        return f"world_size={self.world_size}, buckets={len(self.reducer.buckets)}"
