"""NCCL for CUDA tensors through nccl4py: device pointers on gradcore's current stream, no host copies.

Importable without NCCL: nccl4py (module ``nccl``) is imported when a communicator is made. The
communicator is created collectively, by every rank at once: eagerly by ``init_process_group("nccl")``,
else at the first collective on a CUDA tensor. Its unique id travels from rank 0 over MPI.
NCCL calls are stream-ordered like kernels: nothing here waits for them; errors surface at the next
synchronization, as in torch. Not yet run on a GPU (none was lent to the session that wrote it).
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import numpy as np

from .. import backend, inplace

# gradcore dtype name -> nccl4py NcclDataType member name; bool travels as uint8 (see _op_name).
_NCCL_DTYPES = {
    "float32": "FLOAT32",
    "float64": "FLOAT64",
    "float16": "FLOAT16",
    "bfloat16": "BFLOAT16",
    "int32": "INT32",
    "int64": "INT64",
    "int8": "INT8",
    "uint8": "UINT8",
    "bool": "UINT8",
}
_NCCL_OPS = {"sum": "SUM", "avg": "AVG", "product": "PROD", "min": "MIN", "max": "MAX"}
_INSTALL = "pip install 'gradcore[nccl]' (nccl4py, nvidia-nccl-cu13 and cuda-bindings; GPU machines only)"


def nccl_installed() -> bool:
    return importlib.util.find_spec("nccl") is not None and importlib.util.find_spec("nccl.core") is not None


def usable_reason() -> str | None:
    """None when NCCL can carry CUDA tensors here; else why not (one phrase)."""
    from .. import cuda

    if cuda.EMULATED:
        return "the cuda device is emulated (GRADCORE_EMULATE_CUDA=1), and NCCL needs a real GPU"
    if not cuda.is_available():
        return "no CUDA device is available"
    if not nccl_installed():
        return f"nccl4py is not installed ({_INSTALL})"
    return None


_warned = False


def choose_route(requested: str | None, device: str, reason: Any = usable_reason) -> str:
    """Which engine carries a collective on a tensor of ``device``: "mpi" or "nccl".

    ``requested`` is the group's backend: "mpi" sends everything through MPI (CUDA tensors by a host
    copy); "nccl" sends CUDA tensors to NCCL (CPU tensors still use MPI); None picks NCCL for CUDA tensors
    when ``reason()`` says nothing against it, else the host path (with one warning on a real GPU).
    """
    global _warned
    if device == "cpu" or requested == "mpi":
        return "mpi"
    why = reason() if callable(reason) else reason
    if requested == "nccl":
        if why is not None:
            raise RuntimeError(f"backend 'nccl' cannot carry {device} tensors: {why}")
        return "nccl"
    if why is None:
        return "nccl"
    if not _warned and "emulated" not in why:
        _warned = True
        warnings.warn(
            f"gradcore.distributed: CUDA tensors go through host memory and MPI: {why}", stacklevel=3
        )
    return "mpi"


def _import_nccl() -> Any:
    try:
        import nccl.core as nccl
    except ImportError as e:
        raise RuntimeError(f"backend 'nccl' needs nccl4py and the NCCL library: {_INSTALL} ({e})") from None
    return nccl


class _DeviceBuffer:
    """A contiguous device range as nccl4py reads buffers: the CUDA array interface (v3)."""

    def __init__(self, ptr: int, count: int, typestr: str) -> None:
        self.__cuda_array_interface__ = {
            "shape": (count,),
            "typestr": typestr,
            "data": (ptr, False),
            "strides": None,
            "version": 3,
        }


def _buffer(t: Any) -> _DeviceBuffer:
    cai = t._data.__cuda_array_interface__
    typestr = "|u1" if t.dtype.name == "bool" else cai["typestr"]
    return _DeviceBuffer(cai["data"][0], t.numel(), typestr)


def _stream() -> int:
    from .. import cuda

    return int(cuda.native().current_stream())  # gradcore's current stream: NCCL is ordered after its kernels


class NCCLCommunicator:
    """One NCCL communicator over the whole group (one GPU per rank)."""

    def __init__(self, group: Any) -> None:
        why = usable_reason()
        if why is not None:
            raise RuntimeError(f"backend 'nccl' cannot be used: {why}")
        nccl = self.nccl = _import_nccl()
        uid = bytearray(bytes(nccl.get_unique_id())) if group.rank == 0 else bytearray(128)
        size = np.array([len(uid)], np.int64)
        group.wait([group.comm.Ibcast(size, root=0)], "init_process_group (NCCL unique id)")
        if group.rank != 0:
            uid = bytearray(int(size[0]))
        group.wait([group.comm.Ibcast(uid, root=0)], "init_process_group (NCCL unique id)")
        self.comm = nccl.Communicator.init(group.size, group.rank, nccl.UniqueId.from_bytes(bytes(uid)))

    def _op(self, name: str, t: Any) -> Any:
        if t.dtype.name == "bool":  # logical or / and on 0/1 bytes
            name = "max" if name in ("sum", "max") else "min"
        return getattr(self.nccl.NcclRedOp, _NCCL_OPS[name])

    @staticmethod
    def _check_dtype(t: Any, what: str) -> None:
        if t.dtype.name not in _NCCL_DTYPES:
            raise TypeError(f"{what}: NCCL cannot carry {t.dtype} tensors")

    def _in_place(self, t: Any, what: str, run: Any) -> None:
        """Runs ``run(contiguous_tensor)`` on t's storage, or on a contiguous copy written back after."""
        self._check_dtype(t, what)
        if t.numel() == 0:
            return  # nothing to send, and a null pointer is no device buffer to nccl4py
        if backend.get(t.device).is_contiguous(t._data):
            run(t)
        else:
            tmp = t.detach().contiguous()
            run(tmp)
            inplace.write(t, tmp)
        t._bump_version()

    def all_reduce(self, t: Any, op: str) -> None:
        def run(c: Any) -> None:
            buf = _buffer(c)
            self.comm.allreduce(buf, buf, self._op(op, c), stream=_stream())

        self._in_place(t, "all_reduce", run)

    def broadcast(self, t: Any, src: int) -> None:
        def run(c: Any) -> None:
            buf = _buffer(c)
            self.comm.broadcast(buf, buf, src, stream=_stream())

        self._in_place(t, "broadcast", run)

    def all_gather_into(self, out: Any, t: Any) -> None:
        self._check_dtype(t, "all_gather")
        send = t if backend.get(t.device).is_contiguous(t._data) else t.detach().contiguous()

        def run(c: Any) -> None:
            self.comm.allgather(_buffer(send), _buffer(c), stream=_stream())

        self._in_place(out, "all_gather", run)

    def all_gather(self, outs: list[Any], t: Any) -> None:
        from ..creation import empty

        stacked = empty((len(outs), *t.shape), dtype=t.dtype, device=t.device)
        self.all_gather_into(stacked, t)
        for i, out in enumerate(outs):
            inplace.write(out, stacked[i])
            out._bump_version()

    def destroy(self) -> None:
        self.comm.destroy()


def communicator(group: Any) -> NCCLCommunicator:
    """The group's NCCL communicator, made (collectively) at the first CUDA collective."""
    if group.nccl is None:
        group.nccl = NCCLCommunicator(group)
    return group.nccl
