"""Collectives as in torch.distributed: all_reduce, broadcast, all_gather(_into_tensor), barrier, objects.

Each works in place on the tensor's storage. A contiguous CPU tensor's NumPy buffer goes to MPI as it
is (buffer protocol, no copy); CUDA tensors go to NCCL as device pointers on the current stream where
NCCL is usable, else (``backend="mpi"``, no nccl4py, the emulated device) through a host copy. Every
MPI wait has the group's deadline and stops when another rank reports a failure (process_group.py).
"""

from __future__ import annotations

import enum
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import backend, inplace
from ..dtypes import float32
from ..tensor import Tensor
from . import nccl_backend
from .process_group import ProcessGroup, require

# Dtypes MPI reduces natively (mpi4py maps them from the NumPy buffer format); others (half types) are
# reduced in float32 and cast back.
_MPI_DTYPES = {np.dtype(t) for t in (np.float32, np.float64, np.int8, np.uint8, np.int16, np.int32, np.int64)}
_MPI_DTYPES.add(np.dtype(np.bool_))


class ReduceOp(enum.Enum):
    """Reduction of all_reduce, as ``torch.distributed.ReduceOp`` (strings "sum", "avg", ... work too)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


_OP_NAMES = {
    "sum": "sum",
    "avg": "avg",
    "mean": "avg",
    "product": "product",
    "prod": "product",
    "min": "min",
    "max": "max",
}


def reduce_op_name(op: Any) -> str:
    """ReduceOp.SUM or "sum" (any case; "mean" = "avg", "prod" = "product") -> the canonical name."""
    if isinstance(op, ReduceOp):
        return op.value
    name = getattr(op, "name", op)  # also torch.distributed.ReduceOp.SUM-like objects
    name = _OP_NAMES.get(str(name).lower()) if isinstance(name, str) else None
    if name is None:
        raise ValueError(f"unknown reduce op {op!r}: expected one of sum, avg, product, min, max")
    return name


class Work:
    """What an ``async_op=True`` collective returns, as torch's: ``wait()`` blocks (with the group's
    deadline) and finishes the in-place write; ``is_completed()`` asks without blocking."""

    def __init__(
        self,
        group: ProcessGroup | None,
        requests: list[Any],
        what: str,
        finish: Callable[[], None] | None = None,
    ) -> None:
        self.group, self.requests, self.what, self._finish = group, requests, what, finish
        self._done = not requests and finish is None

    def _complete(self) -> None:
        finish, self._finish = self._finish, None
        self._done = True
        if finish is not None:
            finish()

    def is_completed(self) -> bool:
        if not self._done and (not self.requests or self.group.MPI.Request.Testall(self.requests)):
            self._complete()
        return self._done

    def wait(self, timeout: Any = None) -> bool:
        if not self._done:
            if self.requests:
                self.group.wait(self.requests, self.what)
            self._complete()
        return True


def _group(group: Any, what: str) -> ProcessGroup:
    if group is not None and group is not require(what):
        raise ValueError(f"{what}: only the default process group (group=None) exists in gradcore")
    g = require(what)
    g.check(what)
    return g


def _check_tensor(t: Any, what: str, name: str = "tensor") -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: {name} must be a gradcore Tensor, got {type(t).__name__}")
    if t.numel() > 1 and any(s == 0 and n > 1 for s, n in zip(t._data.strides, t.shape)):
        raise ValueError(
            f"{what}: {name} is an expanded view (stride 0) and cannot be written in place; "
            "pass a contiguous tensor (x.contiguous())"
        )
    if not backend.get(t.device).is_writeable(t._data):
        raise ValueError(f"{what}: {name} is read-only memory and cannot be written in place; clone() it")
    return t


def _host_buffer(t: Tensor) -> tuple[np.ndarray, bool]:
    """(a contiguous host array MPI can reduce, whether it must be written back into t afterwards)."""
    if t.device == "cpu" and t._data.dtype in _MPI_DTYPES and t._data.flags.c_contiguous:
        return t._data, False  # the tensor's own storage: no copy
    host = t.numpy() if t._data.dtype in _MPI_DTYPES else t.detach().to(dtype=float32).numpy()  # half: f32
    # Not np.ascontiguousarray: it makes a 0-d array 1-d.
    return (host if host.flags.c_contiguous and t.device != "cpu" else np.array(host, order="C")), True


def _write_back(t: Tensor, host: np.ndarray) -> None:
    src = Tensor._wrap(backend.get(t.device).from_numpy(host), t.device)
    inplace.write(t, src)  # casts back to t's dtype (the half types' float32 staging)


def _finish(t: Tensor, host: np.ndarray, copy_back: bool, then: Callable[[], None] | None = None):
    def finish() -> None:
        if then is not None:
            then()
        if copy_back:
            _write_back(t, host)
        t._bump_version()

    return finish


def _route(g: ProcessGroup, t: Tensor) -> str:
    return nccl_backend.choose_route(g.backend, t.device, nccl_backend.usable_reason)


def _check_op_dtype(name: str, t: Tensor, what: str) -> None:
    if name == "avg" and not t.dtype.is_floating:
        raise TypeError(f"{what}: op avg needs a floating tensor, got {t.dtype} (use sum and divide)")


def _mpi_op(g: ProcessGroup, name: str, dtype: np.dtype) -> Any:
    MPI = g.MPI
    if dtype == np.bool_:  # MPI reduces C bools with logical ops only: sum/max = or, product/min = and
        return MPI.LOR if name in ("sum", "max") else MPI.LAND
    return {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX}[name]


def _done(work: Work, async_op: bool) -> Work | None:
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(
    tensor: Tensor, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduces ``tensor`` over all ranks, in place, so every rank holds the result (``op``: sum, avg,
    product, min, max; bool tensors: sum/max = or, min/product = and). With ``async_op=True`` returns a
    ``Work`` whose ``wait()`` completes it.

    Example:
        >>> import gradcore as gc, gradcore.distributed as dist
        >>> t = gc.tensor([1.0, 2.0]) * (dist.get_rank() + 1)  # doctest: +SKIP
        >>> dist.all_reduce(t, op=dist.ReduceOp.SUM)  # doctest: +SKIP
        >>> t.tolist()  # on 2 ranks  # doctest: +SKIP
        [3.0, 6.0]
    """
    g = _group(group, "all_reduce")
    t = _check_tensor(tensor, "all_reduce")
    name = reduce_op_name(op)
    _check_op_dtype(name, t, "all_reduce")
    if _route(g, t) == "nccl":
        g_nccl = nccl_backend.communicator(g)
        g_nccl.all_reduce(t, name)
        return _done(Work(g, [], "all_reduce"), async_op)
    host, copy_back = _host_buffer(t)
    req = g.comm.Iallreduce(g.MPI.IN_PLACE, host, op=_mpi_op(g, name, host.dtype))
    divide = (lambda: np.divide(host, g.size, out=host)) if name == "avg" else None
    return _done(Work(g, [req], "all_reduce", _finish(t, host, copy_back, divide)), async_op)


def broadcast(tensor: Tensor, src: int, group: Any = None, async_op: bool = False) -> Work | None:
    """Copies rank ``src``'s ``tensor`` into ``tensor`` on every other rank, in place."""
    g = _group(group, "broadcast")
    t = _check_tensor(tensor, "broadcast")
    _check_rank(g, src, "broadcast", "src")
    if _route(g, t) == "nccl":
        nccl_backend.communicator(g).broadcast(t, src)
        return _done(Work(g, [], "broadcast"), async_op)
    host, copy_back = _host_buffer(t)
    req = g.comm.Ibcast(host, root=src)
    return _done(Work(g, [req], "broadcast", _finish(t, host, copy_back and g.rank != src)), async_op)


def _check_rank(g: ProcessGroup, r: Any, what: str, name: str) -> None:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < g.size:
        raise ValueError(f"{what}: {name}={r!r} is not a rank of this group (0 .. {g.size - 1})")


def all_gather(
    tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
    """Fills ``tensor_list[i]`` (one tensor per rank, same shape, dtype and device as ``tensor``) with rank
    i's ``tensor``, as ``torch.distributed.all_gather``."""
    g = _group(group, "all_gather")
    t = _check_tensor(tensor, "all_gather")
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != g.size:
        n = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list must hold one tensor per rank ({g.size}), got {n}")
    for i, out in enumerate(tensor_list):
        _check_tensor(out, "all_gather", f"tensor_list[{i}]")
        if out.shape != t.shape or out.dtype is not t.dtype or out.device != t.device:
            raise ValueError(
                f"all_gather: tensor_list[{i}] is {out.dtype} {out.shape} on {out.device}; every output must "
                f"match the input, {t.dtype} {t.shape} on {t.device}"
            )
    if _route(g, t) == "nccl":
        nccl_backend.communicator(g).all_gather(list(tensor_list), t)
        return _done(Work(g, [], "all_gather"), async_op)
    send, _ = _host_buffer(t)
    recv = np.empty((g.size, *send.shape), send.dtype)
    req = g.comm.Iallgather(send, recv)

    def finish() -> None:
        for i, out in enumerate(tensor_list):
            _write_back(out, recv[i])
            out._bump_version()

    return _done(Work(g, [req], "all_gather", finish), async_op)


def all_gather_into_tensor(
    output_tensor: Tensor, input_tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
    """Writes every rank's ``input_tensor`` one after another into ``output_tensor`` (first dim = world
    size times the input's, or shape (world size, *input shape)), as torch's function of that name."""
    g = _group(group, "all_gather_into_tensor")
    out = _check_tensor(output_tensor, "all_gather_into_tensor", "output_tensor")
    t = _check_tensor(input_tensor, "all_gather_into_tensor", "input_tensor")
    shapes = ((g.size, *t.shape), (g.size * t.shape[0], *t.shape[1:]) if t.ndim else None)
    if out.shape not in shapes or out.dtype is not t.dtype or out.device != t.device:
        raise ValueError(
            f"all_gather_into_tensor: output_tensor is {out.dtype} {out.shape} on {out.device}; expected "
            f"{t.dtype} {shapes[0]}" + (f" or {shapes[1]}" if shapes[1] else "") + f" on {t.device}"
        )
    if _route(g, t) == "nccl":
        nccl_backend.communicator(g).all_gather_into(out, t)
        return _done(Work(g, [], "all_gather_into_tensor"), async_op)
    send, _ = _host_buffer(t)
    recv, copy_back = _host_buffer(out)
    req = g.comm.Iallgather(send, recv.reshape(g.size, -1) if send.size else recv)
    return _done(Work(g, [req], "all_gather_into_tensor", _finish(out, recv, copy_back)), async_op)


def reduce(
    tensor: Tensor, dst: int, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduces ``tensor`` over all ranks into rank ``dst``'s ``tensor`` (in place; the others' tensors are
    left as they were), as ``torch.distributed.reduce``. Through MPI on every device."""
    g = _group(group, "reduce")
    t = _check_tensor(tensor, "reduce")
    _check_rank(g, dst, "reduce", "dst")
    name = reduce_op_name(op)
    _check_op_dtype(name, t, "reduce")
    host, copy_back = _host_buffer(t)
    mine = g.rank == dst
    if mine:
        req = g.comm.Ireduce(g.MPI.IN_PLACE, host, op=_mpi_op(g, name, host.dtype), root=dst)
    else:
        req = g.comm.Ireduce(host, None, op=_mpi_op(g, name, host.dtype), root=dst)
    if not mine:
        return _done(Work(g, [req], "reduce"), async_op)
    divide = (lambda: np.divide(host, g.size, out=host)) if name == "avg" else None
    return _done(Work(g, [req], "reduce", _finish(t, host, copy_back, divide)), async_op)


def isend(tensor: Tensor, dst: int, group: Any = None, tag: int = 0) -> Work:
    """Starts sending ``tensor`` to rank ``dst``; ``wait()`` on the returned Work. Through MPI."""
    g = _group(group, "isend")
    t = _check_tensor(tensor, "isend")
    _check_rank(g, dst, "isend", "dst")
    host, _ = _host_buffer(t)
    return Work(g, [g.comm.Isend(host, dest=dst, tag=tag)], "send", lambda: host)  # keeps host alive


def irecv(tensor: Tensor, src: int, group: Any = None, tag: int = 0) -> Work:
    """Starts receiving into ``tensor`` (in place) from rank ``src``; ``wait()`` on the returned Work."""
    g = _group(group, "irecv")
    t = _check_tensor(tensor, "irecv")
    _check_rank(g, src, "irecv", "src")
    host, copy_back = _host_buffer(t)
    return Work(g, [g.comm.Irecv(host, source=src, tag=tag)], "recv", _finish(t, host, copy_back))


def send(tensor: Tensor, dst: int, group: Any = None, tag: int = 0) -> None:
    """Sends ``tensor`` to rank ``dst`` (returns when it may be reused), as ``torch.distributed.send``."""
    isend(tensor, dst, group, tag).wait()


def recv(tensor: Tensor, src: int, group: Any = None, tag: int = 0) -> int:
    """Receives into ``tensor`` from rank ``src``, in place; returns ``src`` as torch does."""
    irecv(tensor, src, group, tag).wait()
    return src


def barrier(group: Any = None, async_op: bool = False) -> Work | None:
    """Returns when every rank has called it (with the group's deadline)."""
    g = _group(group, "barrier")
    return _done(Work(g, [g.comm.Ibarrier()], "barrier"), async_op)


def broadcast_object_list(object_list: list[Any], src: int = 0, group: Any = None) -> None:
    """Replaces the items of ``object_list`` on every rank with rank ``src``'s (pickled, as torch's).

    Only objects from the job's own ranks are unpickled: use it for state the job made, never for data
    read from elsewhere."""
    g = _group(group, "broadcast_object_list")
    _check_rank(g, src, "broadcast_object_list", "src")
    if not isinstance(object_list, list):
        raise TypeError(
            f"broadcast_object_list: object_list must be a list, got {type(object_list).__name__}"
        )
    payload = pickle.dumps(list(object_list), protocol=pickle.HIGHEST_PROTOCOL) if g.rank == src else b""
    size = np.array([len(payload)], np.int64)
    g.wait([g.comm.Ibcast(size, root=src)], "broadcast_object_list")
    buf = np.frombuffer(payload, np.uint8).copy() if g.rank == src else np.empty(int(size[0]), np.uint8)
    g.wait([g.comm.Ibcast(buf, root=src)], "broadcast_object_list")
    if g.rank != src:
        items = pickle.loads(buf.tobytes())
        if len(items) != len(object_list):
            raise ValueError(
                f"broadcast_object_list: rank {src} sent {len(items)} objects, this rank's list holds "
                f"{len(object_list)}"
            )
        object_list[:] = items


def all_reduce_coalesced_host(values: Sequence[float], op: Any = "sum") -> list[float]:
    """All-reduces a few Python numbers in one float64 message (epoch metrics) and returns them."""
    g = _group(None, "all_reduce")
    buf = np.asarray(values, np.float64).copy()
    g.wait(
        [g.comm.Iallreduce(g.MPI.IN_PLACE, buf, op=_mpi_op(g, reduce_op_name(op), buf.dtype))], "all_reduce"
    )
    if reduce_op_name(op) == "avg":
        buf /= g.size
    return buf.tolist()
