"""The process group: MPI start-up, rank and size, waits with a deadline, and failure notices between ranks.

A rank that fails must not leave the others blocked in a collective forever. Every wait here is a poll
(``MPI_Testall``) that also watches a control communicator for a *failure notice*: a rank that raises
sends one to every other rank (the excepthook installed by ``init_process_group`` does it for uncaught
exceptions, ``report_failure`` for handled ones), and a rank that receives it prints why, answers, and
raises ``PeerFailure``. A rank that gets no answer within the grace period (a peer busy elsewhere) calls
``MPI_Abort``, which makes ``mpiexec`` end every rank. A wait that outlives the group's timeout raises
``DistributedTimeoutError`` and reports it the same way.
"""

from __future__ import annotations

import atexit
import datetime
import os
import sys
import time
from typing import Any

from . import launch

_NOTICE_TAG, _ACK_TAG = 7001, 7002
_NOTICE_BYTES = 4096
DEFAULT_TIMEOUT = 1800.0  # seconds, as torch.distributed's default for CPU backends
BACKENDS = ("mpi", "nccl")


class DistributedError(RuntimeError):
    """A collective cannot complete: another rank failed, or the group is no longer usable."""


class PeerFailure(DistributedError):
    """Another rank failed and said so; this rank stops instead of waiting for it."""


class DistributedTimeoutError(DistributedError, TimeoutError):
    """A collective waited longer than the process group's timeout."""


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {text!r}")
    return value


def as_seconds(timeout: Any) -> float:
    """A timeout given as seconds or a ``datetime.timedelta``; None: GRADCORE_DIST_TIMEOUT or 30 min."""
    if timeout is None:
        return _env_seconds("GRADCORE_DIST_TIMEOUT", DEFAULT_TIMEOUT)
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"timeout must be a positive number of seconds or a timedelta, got {timeout!r}")
    return float(seconds)


class ProcessGroup:
    """The world of ranks started by ``mpiexec``: two private duplicates of MPI_COMM_WORLD (one carries
    collectives, one failure notices, so the two never match each other's messages), the timeout, and
    the NCCL communicator once CUDA tensors need one."""

    def __init__(self, mpi: Any, backend: str | None, timeout: float) -> None:
        self.MPI = mpi
        world = mpi.COMM_WORLD
        self.comm = world.Dup()
        self.ctl = world.Dup()
        self.rank, self.size = world.Get_rank(), world.Get_size()
        node = world.Split_type(mpi.COMM_TYPE_SHARED)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()
        self.backend = backend  # None: MPI for CPU tensors, NCCL for CUDA tensors where it is usable
        self.timeout = timeout
        self.grace = min(_env_seconds("GRADCORE_DIST_ABORT_GRACE", 10.0), timeout)
        self.failed: str | None = None  # why the group can no longer be used
        self.reported = False
        self.nccl: Any = None
        self._notice_buf = bytearray(_NOTICE_BYTES)
        self._notice_req = self._post_notice_receive()

    def _post_notice_receive(self) -> Any:
        if self.size == 1:
            return None
        return self.ctl.Irecv([self._notice_buf, self.MPI.BYTE], source=self.MPI.ANY_SOURCE, tag=_NOTICE_TAG)

    # ------------------------------------------------------------------ waiting
    def check(self, what: str) -> None:
        """Raises when the group is unusable (after a failure) or a peer's failure notice has arrived."""
        if self.failed is not None:
            raise DistributedError(f"{what}: the process group cannot be used any more ({self.failed})")
        self.poll_notice()

    def poll_notice(self) -> None:
        req = self._notice_req
        if req is None:
            return
        status = self.MPI.Status()
        if not req.Test(status):
            return
        src = status.Get_source()
        text = bytes(self._notice_buf[: status.Get_count(self.MPI.BYTE)]).decode(errors="replace")
        self._notice_req = None
        self.failed = message = f"rank {src} failed: {text}"
        # Printed before answering: the failing rank may abort the job as soon as every rank answered.
        print(f"gradcore.distributed: rank {self.rank} stops: {message}", file=sys.stderr, flush=True)
        self._settle([self.ctl.Isend([b"", self.MPI.BYTE], dest=src, tag=_ACK_TAG)], 1.0)
        raise PeerFailure(message)

    def wait(self, requests: list[Any], what: str) -> None:
        """Waits until every MPI request completes; raises ``PeerFailure`` when another rank reports a
        failure and ``DistributedTimeoutError`` after the group's timeout."""
        test_all = self.MPI.Request.Testall
        if test_all(requests):
            return
        deadline = time.monotonic() + self.timeout
        spins = 0
        while not test_all(requests):
            self.poll_notice()
            spins += 1
            if spins < 2000:  # on one host a collective completes in microseconds: poll tightly first
                continue
            if time.monotonic() > deadline:
                self.failed = f"{what} timed out after {self.timeout:g} s"
                raise DistributedTimeoutError(
                    f"{what} on rank {self.rank} of {self.size} timed out after {self.timeout:g} s waiting "
                    f"for the other ranks: one of them stopped, hangs, or does not call {what} "
                    "(the limit is init_process_group(timeout=...) or GRADCORE_DIST_TIMEOUT)"
                )
            # Then back off, so a waiting rank does not take the core another rank computes on.
            time.sleep(min(1e-3, 1e-6 * (spins - 1999)))

    def _settle(self, requests: list[Any], seconds: float) -> bool:
        """Waits up to ``seconds`` for requests without raising; True when they all completed."""
        deadline = time.monotonic() + seconds
        while not self.MPI.Request.Testall(requests):
            if time.monotonic() > deadline:
                return False
            time.sleep(1e-4)
        return True

    # ------------------------------------------------------------------ failures
    def report_failure(self, text: str) -> None:
        """Tells every other rank that this one failed (why: ``text``) and waits for their answers; a
        rank that does not answer within the grace period is busy outside a collective, so the job is
        aborted (``MPI_Abort``) rather than left to hang."""
        if self.size == 1 or self.reported:
            return
        self.reported = True
        if self.failed is None:
            self.failed = text
        mpi = self.MPI
        payload = text.encode()[:_NOTICE_BYTES]
        peers = [r for r in range(self.size) if r != self.rank]
        # The requests and buffers are kept (self._reports) until exit: MPI reads them after this returns.
        sends = [self.ctl.Isend([payload, mpi.BYTE], dest=r, tag=_NOTICE_TAG) for r in peers]
        acks = {r: (bytearray(1), r) for r in peers}
        waiting = {r: self.ctl.Irecv([buf, mpi.BYTE], source=r, tag=_ACK_TAG) for r, (buf, _) in acks.items()}
        self._reports = (payload, sends, acks, dict(waiting))
        deadline = time.monotonic() + self.grace
        while waiting and time.monotonic() < deadline:
            for r, req in list(waiting.items()):
                if req.Test():
                    del waiting[r]
            notice = self._notice_req
            status = mpi.Status()
            if notice is not None and notice.Test(status):  # a peer failed too: it will not answer
                waiting.pop(status.Get_source(), None)
                self._notice_req = self._post_notice_receive()
            time.sleep(1e-4)
        if waiting:
            print(
                f"gradcore.distributed: rank {self.rank} failed ({text}); rank(s) "
                f"{', '.join(map(str, sorted(waiting)))} did not answer within {self.grace:g} s: "
                "aborting the job",
                file=sys.stderr,
                flush=True,
            )
            abort(1)

    def free(self) -> None:
        if self.nccl is not None:
            self.nccl.destroy()
            self.nccl = None
        if self._notice_req is not None:
            self._notice_req.Cancel()
            self._settle([self._notice_req], 1.0)
            self._notice_req = None
        for comm in (self.comm, self.ctl):
            comm.Free()


_group: ProcessGroup | None = None
_previous_excepthook: Any = None


def _excepthook(tp: type, value: BaseException, tb: Any) -> None:
    (_previous_excepthook or sys.__excepthook__)(tp, value, tb)
    group = _group
    if group is not None and not isinstance(value, PeerFailure):
        group.report_failure(f"{tp.__name__}: {value}")


def abort(code: int = 1) -> None:
    """Ends every rank of the job now (``MPI_Abort``), after flushing this rank's output."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed stream must not stop the abort
            pass
    from mpi4py import MPI

    MPI.COMM_WORLD.Abort(code)


def _import_mpi() -> Any:
    if not launch.mpi_available():
        raise RuntimeError(
            "gradcore.distributed needs mpi4py and an MPI library: pip install 'gradcore[distributed]' "
            "(mpi4py and the mpich wheel), then start the ranks with mpiexec -n N"
        )
    launch.configure_environment()
    import mpi4py

    if "mpi4py.MPI" not in sys.modules:
        mpi4py.rc.thread_level = "serialized"  # every MPI call comes from the thread that runs backward
    from mpi4py import MPI

    return MPI


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: Any = None,
    world_size: int = -1,
    rank: int = -1,
) -> None:
    """Joins the ranks that ``mpiexec`` started (rank and size come from its environment; a plain
    ``python`` is a world of one). ``backend``: None (MPI for CPU tensors, NCCL for CUDA tensors when
    nccl4py and a GPU are there, else CUDA tensors through host memory), "mpi" (everything through MPI;
    "gloo" is taken as "mpi"), or "nccl" (CUDA tensors through NCCL, an error now if it cannot work).
    ``timeout`` (seconds or a timedelta) bounds every collective. ``world_size``/``rank``, when given,
    must agree with mpiexec's.

    Example:
        >>> import gradcore.distributed as dist
        >>> dist.init_process_group()  # doctest: +SKIP
        >>> dist.get_rank(), dist.get_world_size()  # doctest: +SKIP
        (0, 1)
    """
    global _group, _previous_excepthook
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if init_method not in (None, "env://", "mpi://"):
        raise ValueError(f"init_method {init_method!r}: gradcore's ranks are started and joined by mpiexec")
    if backend is not None:
        backend = str(backend).lower()
        backend = "mpi" if backend == "gloo" else backend
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: expected 'mpi', 'nccl' (or None for both)")
    seconds = as_seconds(timeout)
    MPI = _import_mpi()
    group = ProcessGroup(MPI, backend, seconds)
    for name, given, actual in (("world_size", world_size, group.size), ("rank", rank, group.rank)):
        if given not in (-1, None) and given != actual:
            group.free()
            raise ValueError(f"{name}={given} does not match mpiexec's {name} {actual}")
    _spread_threads(group)
    _group = group
    if _previous_excepthook is None:
        _previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook
        atexit.register(_at_exit)
    if backend == "nccl":
        from . import nccl_backend

        try:
            group.nccl = nccl_backend.NCCLCommunicator(group)
        except BaseException:
            destroy_process_group()
            raise


def _spread_threads(group: ProcessGroup) -> None:
    """Ranks sharing a host split its cores (as torchrun sets OMP_NUM_THREADS): read by the native kernels
    at their first parallel loop, so it takes effect when the group is made before any training."""
    if (
        group.local_size > 1
        and "GRADCORE_NUM_THREADS" not in os.environ
        and "OMP_NUM_THREADS" not in os.environ
    ):
        os.environ["GRADCORE_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // group.local_size))


def _at_exit() -> None:
    # Runs before mpi4py's MPI_Finalize (registered later, so called earlier): the posted notice receive
    # is cancelled so finalizing does not complain about a pending request.
    group = _group
    if group is not None and group._notice_req is not None:
        group._notice_req.Cancel()
        group._settle([group._notice_req], 1.0)
        group._notice_req = None


def destroy_process_group() -> None:
    """Leaves the process group (MPI itself stays initialized until exit, so a new group may be made)."""
    global _group
    group = require("destroy_process_group")
    _group = None
    group.free()


def require(what: str = "this call") -> ProcessGroup:
    if _group is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call init_process_group."
        )
    return _group


def current() -> ProcessGroup | None:
    return _group


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _group is not None


def is_available() -> bool:
    """True when mpi4py is installed, so ``init_process_group`` can work."""
    return launch.mpi_available()


def get_rank() -> int:
    """This process's rank, 0 .. world size - 1."""
    return require("get_rank").rank


def get_world_size() -> int:
    """How many ranks the job has."""
    return require("get_world_size").size


def get_local_rank() -> int:
    """This process's rank among the ranks on its host (to pick its GPU)."""
    return require("get_local_rank").local_rank


def report_failure(exc: BaseException | str) -> None:
    """Tells the other ranks that this one failed, so they stop instead of waiting in a collective.
    For errors this rank handles itself (the CLI prints one line and exits); uncaught exceptions are
    reported by the excepthook that ``init_process_group`` installs. A no-op outside a group of 2+."""
    group = _group
    if group is None or isinstance(exc, PeerFailure):
        return
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    group.report_failure(" ".join(str(text).split()))


for _cls in (DistributedError, PeerFailure, DistributedTimeoutError):
    _cls.__module__ = "gradcore.distributed"  # shown in tracebacks as the public name
