"""gradcore.distributed: data-parallel training across processes and hosts, shaped like torch.distributed.

Ranks are started by ``mpiexec -n N`` (MPI through mpi4py: ``pip install 'gradcore[distributed]'``);
CUDA tensors use NCCL (nccl4py) where it is installed. Importing this package starts nothing: MPI is
initialized by ``init_process_group``.

Example:
    >>> import gradcore as gc, gradcore.distributed as dist
    >>> dist.init_process_group()  # doctest: +SKIP
    >>> t = gc.ones(3) * (dist.get_rank() + 1)  # doctest: +SKIP
    >>> dist.all_reduce(t, op="sum")  # doctest: +SKIP
"""

from . import launch
from .collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    irecv,
    isend,
    recv,
    reduce,
    send,
)
from .process_group import (
    DistributedError,
    DistributedTimeoutError,
    PeerFailure,
    abort,
    destroy_process_group,
    get_local_rank,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    report_failure,
)
from .sampler import DistributedSampler

__all__ = [
    "DistributedError",
    "DistributedSampler",
    "DistributedTimeoutError",
    "PeerFailure",
    "ReduceOp",
    "Work",
    "abort",
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "get_local_rank",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "irecv",
    "isend",
    "is_available",
    "is_initialized",
    "launch",
    "recv",
    "reduce",
    "report_failure",
    "send",
]
