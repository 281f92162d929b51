"""The data-parallel side of the main job (``train --distributed``): who validates, logs and writes; the
sharded loss; epoch sums over ranks; checkpoints read on rank 0 and sent to the others.

Each rank takes its slice of every global batch of ``--batch-size`` (the batches one process would
draw), so training on N ranks follows the one-process run, and a checkpoint resumes with any number of
ranks, or without ``--distributed``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from . import nn
from .creation import generator
from .serialization import load


def _dist() -> Any:
    from . import distributed

    return distributed


def _join() -> None:
    dist = _dist()
    if not dist.is_initialized():
        dist.init_process_group()


def validate(cfg: Any, validate_config: Callable[[Any], Any]) -> Any:
    """``validate_config(cfg)`` on one process; with ``cfg.distributed``, on rank 0 only (files such as the
    checkpoint live on its host) and every rank raises its ``ConfigError`` or returns its result."""
    if not getattr(cfg, "distributed", False):
        launched = os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE") or "1"
        if launched.isdigit() and int(launched) > 1:
            warnings.warn(
                f"mpiexec started {launched} processes but --distributed was not given: each trains alone "
                "(and they write the same files); pass --distributed for data-parallel training",
                stacklevel=3,
            )
        return validate_config(cfg)
    from .train import ConfigError

    if not _dist().is_available():
        raise ConfigError("distributed", "needs mpi4py and an MPI: pip install 'gradcore[distributed]'")
    _join()
    dist = _dist()
    verdict: list[Any] = [None]
    if dist.get_rank() == 0:
        try:
            verdict[0] = ("ok", validate_config(cfg))
        except ConfigError as e:
            verdict[0] = ("error", e.field, e.problem)
    dist.broadcast_object_list(verdict, src=0)
    if verdict[0][0] == "error":
        raise ConfigError(verdict[0][1], verdict[0][2])
    return verdict[0][1]


def run(fit: Callable[..., Any], cfg: Any, *args: Any) -> Any:
    """Runs ``fit(cfg, *args)``; in a distributed run a failure is first reported to the other ranks, so
    they stop with a message naming this rank instead of waiting for it in a collective."""
    try:
        return fit(cfg, *args)
    except BaseException as e:
        if getattr(cfg, "distributed", False):
            _dist().report_failure(e)
        raise


class Shard:
    """This process's part of a training run: rank and world size (1 and 0 without ``--distributed``)."""

    def __init__(self, cfg: Any) -> None:
        self.distributed = bool(getattr(cfg, "distributed", False))
        self.rank, self.world = 0, 1
        if self.distributed:
            _join()
            self.rank, self.world = _dist().get_rank(), _dist().get_world_size()
        self.batch_size = cfg.batch_size
        self.n_train = 0
        self.writer = self.rank == 0  # the one rank that prints, checkpoints and plots

    def log(self, log: Callable[[str], Any]) -> Callable[[str], Any]:
        return log if self.writer else (lambda *args, **kwargs: None)

    def loader_args(self, n_train: int) -> dict[str, Any]:
        self.n_train = n_train
        return {"rank": self.rank, "world_size": self.world} if self.world > 1 else {}

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model the training loop calls: DistributedDataParallel over ``model`` on 2+ ranks."""
        if self.world == 1:
            return model
        if self.rank > 0:  # each rank's dropout masks from its own stream, derived from rank 0's
            bits = generator().bit_generator
            bits.state = bits.jumped(self.rank).state
        return nn.parallel.DistributedDataParallel(model)

    def loss(self, logits: Any, yb: Any, batch: int) -> tuple[Any, float]:
        """(loss to backpropagate, weight of its value in the epoch's loss sum). On N ranks the loss is
        this rank's sum over the global batch size, times N: averaged by DDP it is the global batch mean,
        whatever the slice sizes (an empty slice gives zero gradients)."""
        if self.world == 1:
            return nn.functional.cross_entropy(logits, yb), len(yb)
        global_n = min(self.batch_size, self.n_train - batch * self.batch_size)
        loss = nn.functional.cross_entropy(logits, yb, reduction="sum") * (self.world / global_n)
        return loss, global_n / self.world

    def epoch_sums(self, seen: int, loss_sum: float, correct: int) -> tuple[int, float, int]:
        """The epoch's sample count, loss sum and correct count over all ranks."""
        if self.world == 1:
            return seen, loss_sum, correct
        from .distributed.collectives import all_reduce_coalesced_host

        s, total, c = all_reduce_coalesced_host([seen, loss_sum, correct])
        return int(s), total, int(c)

    def done(self) -> None:
        """Waits for every rank at the end of training: a failure on rank 0 after the last epoch (its
        checkpoint or plot) then reaches ranks that are still there to hear it."""
        if self.world > 1:
            _dist().barrier()


def load_checkpoint(path: str) -> Any:
    """``gradcore.load(path)`` read by rank 0 and sent to the other ranks (the file is on rank 0's host)."""
    dist = _dist()
    box: list[Any] = [load(path) if dist.get_rank() == 0 else None]
    if dist.get_world_size() > 1:
        dist.broadcast_object_list(box, src=0)
    return box[0]
