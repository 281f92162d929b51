"""gradcore.cuda: whether CUDA is usable, device memory helpers, streams, events and synchronization.

The native binding is gradcore._C.cuda. With GRADCORE_EMULATE_CUDA=1 it is replaced by a host-memory
twin (gradcore._cuda_emulator) so the "cuda" device works on machines without a GPU, for tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator
from typing import Any

from . import _C

EMULATED = os.environ.get("GRADCORE_EMULATE_CUDA", "0") not in ("", "0")
_real_binding = getattr(_C, "cuda", None)  # the compiled module, kept for contract tests
if EMULATED:
    from . import _cuda_emulator

    # Installed where the binding lives, so everything that reaches gradcore._C.cuda (ops, optimizers,
    # tests, benchmarks) meets the same twin and the Python layer cannot tell the two apart.
    _C.cuda = _cuda_emulator


def native() -> Any:
    """The module behind the "cuda" device: gradcore._C.cuda, or its emulator; None without CUDA."""
    return getattr(_C, "cuda", None) if is_built() else None


def is_built() -> bool:
    """True when the native module was compiled with the CUDA kernels (or the device is emulated)."""
    return bool(_C.cuda_built) or EMULATED


def is_available() -> bool:
    """True when CUDA is built and a GPU can be used now (always, under GRADCORE_EMULATE_CUDA=1).

    Example:
        >>> import gradcore as gc
        >>> isinstance(gc.cuda.is_available(), bool)
        True
    """
    return is_built() and _C.cuda.device_count() > 0


def _require() -> Any:
    if not is_built():
        raise RuntimeError(
            "CUDA is not available: gradcore was built without CUDA (no nvcc at build time); "
            "GRADCORE_EMULATE_CUDA=1 emulates a device for tests"
        )
    if _C.cuda.device_count() == 0:
        raise RuntimeError("CUDA is not available: no CUDA device was found")
    return _C.cuda


def device_count() -> int:
    """The number of usable GPUs (0 without CUDA); gradcore uses the first, "cuda" == "cuda:0"."""
    return int(_C.cuda.device_count()) if is_built() else 0


def get_device_name(device: int | str | None = None) -> str:
    """The name of the GPU, e.g. "NVIDIA H100 80GB HBM3".

    Example:
        >>> import gradcore as gc
        >>> gc.cuda.get_device_name() if gc.cuda.is_available() else "no GPU"  # doctest: +SKIP
        'NVIDIA H100 80GB HBM3'
    """
    n = _require()
    index = 0 if device in (None, "cuda", "cuda:0") else int(str(device).removeprefix("cuda:"))
    if index != 0:
        raise ValueError(f"get_device_name: gradcore uses cuda:0 only, got {device!r}")
    if getattr(n, "EMULATED", False):
        return "gradcore emulated CUDA device (host memory)"
    return _driver_device_name(index)


def _driver_device_name(index: int) -> str:
    # The binding has no name query; the driver API answers it without a CUDA context.
    lib = ctypes.CDLL("libcuda.so.1")
    dev, name = ctypes.c_int(), ctypes.create_string_buffer(256)
    for call, args in (("cuInit", (0,)), ("cuDeviceGet", (ctypes.byref(dev), index))):
        if getattr(lib, call)(*args) != 0:
            raise RuntimeError(f"get_device_name: {call} failed")
    if lib.cuDeviceGetName(name, len(name), dev) != 0:
        raise RuntimeError("get_device_name: cuDeviceGetName failed")
    return name.value.decode()


def synchronize() -> None:
    """Waits for all queued GPU work to finish, then raises any error a kernel found on the device
    (e.g. an out-of-range cross-entropy target) as IndexError."""
    n = _require()
    n.synchronize()
    n.raise_pending_errors()


def set_sync_debug(enabled: bool) -> None:
    """Checked mode: every launch is followed by a synchronize and an error check, so a fault names
    the kernel that caused it (slow; also switched on by GRADCORE_CUDA_SYNC=1 at import)."""
    _require().set_sync_debug(bool(enabled))


def sync_debug() -> bool:
    """Whether checked mode (set_sync_debug) is on."""
    return bool(_require().sync_debug())


def memory_stats() -> dict[str, int]:
    """Caching allocator counters: bytes in use, bytes cached, and cudaMalloc calls made."""
    return dict(_require().memory_stats())


def memory_allocated(device: Any = None) -> int:
    """Bytes of device memory held by tensors now (as ``torch.cuda.memory_allocated``)."""
    return memory_stats()["allocated_bytes"]


def max_memory_allocated(device: Any = None) -> int:
    """The most bytes held by tensors at any time so far."""
    return memory_stats()["peak_allocated_bytes"]


def memory_reserved(device: Any = None) -> int:
    """Bytes the caching allocator holds from the driver: in use plus cached."""
    stats = memory_stats()
    return stats["allocated_bytes"] + stats["cached_bytes"]


def current_device() -> int:
    """The index of the GPU gradcore uses: always 0 ("cuda" is "cuda:0")."""
    _require()
    return 0


def empty_cache() -> None:
    """Returns cached but unused device blocks to the driver."""
    _require().empty_cache()


def cuda_backend() -> Any:
    _require()
    from .cuda_backend import CUDABackend

    return CUDABackend


# ------------------------------------------------------------------ streams and events
class Stream:
    """A queue of GPU work that runs in order (a non-blocking CUDA stream), like ``torch.cuda.Stream``.

    Every kernel, memset and copy gradcore makes goes to the current stream of the calling thread.

    Example:
        >>> import gradcore as gc
        >>> if gc.cuda.is_available():
        ...     s = gc.cuda.Stream()
        ...     with gc.cuda.stream(s):
        ...         y = gc.ones(4, device="cuda") * 2
        ...     s.synchronize()
    """

    def __init__(self, device: Any = None, priority: int = 0, *, _handle: int | None = None) -> None:
        n = _require()
        self._native = n
        self._owned = _handle is None
        self.cuda_stream: int = n.stream_create() if _handle is None else int(_handle)

    def __del__(self) -> None:
        if getattr(self, "_owned", False):
            with contextlib.suppress(Exception):  # at interpreter exit the binding may be gone
                self._native.stream_destroy(self.cuda_stream)

    def synchronize(self) -> None:
        """Waits until all work queued on this stream is done."""
        self._native.stream_synchronize(self.cuda_stream)

    def query(self) -> bool:
        """True when all work queued on this stream is done."""
        return bool(self._native.stream_query(self.cuda_stream))

    def wait_event(self, event: Event) -> None:
        """Work queued on this stream after this call waits until ``event`` completes."""
        self._native.stream_wait_event(self.cuda_stream, event.cuda_event)

    def wait_stream(self, stream: Stream) -> None:
        """Work queued on this stream after this call waits for everything queued on ``stream`` now."""
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        """Records ``event`` (a new one when None) on this stream and returns it."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def __enter__(self) -> Stream:
        self._context = stream(self)
        self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stream) and other.cuda_stream == self.cuda_stream

    def __hash__(self) -> int:
        return hash(("stream", self.cuda_stream))

    def __repr__(self) -> str:
        return f"<gradcore.cuda.Stream cuda_stream={self.cuda_stream:#x}>"


class Event:
    """A marker in a stream's work: wait for it, ask whether it is done, time between two, like
    ``torch.cuda.Event``.

    Example:
        >>> import gradcore as gc
        >>> if gc.cuda.is_available():
        ...     start, end = gc.cuda.Event(enable_timing=True), gc.cuda.Event(enable_timing=True)
        ...     start.record(); y = gc.ones(1000, device="cuda").exp(); end.record()
        ...     end.synchronize(); ms = start.elapsed_time(end)
    """

    def __init__(
        self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False
    ) -> None:
        if interprocess:
            raise ValueError("Event: interprocess events are not supported")
        n = _require()
        self._native = n
        self.enable_timing = bool(enable_timing)
        self.cuda_event: int = n.event_create(self.enable_timing)

    def __del__(self) -> None:
        if hasattr(self, "cuda_event"):
            with contextlib.suppress(Exception):
                self._native.event_destroy(self.cuda_event)

    def record(self, stream: Stream | None = None) -> None:
        """Marks the current point of ``stream`` (default: the current stream)."""
        stream = current_stream() if stream is None else stream
        self._native.event_record(self.cuda_event, stream.cuda_stream)

    def wait(self, stream: Stream | None = None) -> None:
        """Makes later work on ``stream`` (default: the current stream) wait for this event."""
        (current_stream() if stream is None else stream).wait_event(self)

    def synchronize(self) -> None:
        """Waits until the work before this event's record has finished."""
        self._native.event_synchronize(self.cuda_event)

    def query(self) -> bool:
        """True when the work before this event's record has finished."""
        return bool(self._native.event_query(self.cuda_event))

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, both with timing)."""
        return float(self._native.event_elapsed_time(self.cuda_event, end_event.cuda_event))

    def __repr__(self) -> str:
        return f"<gradcore.cuda.Event cuda_event={self.cuda_event:#x}>"


_local = threading.local()  # the Stream object set as current, kept alive while it is current


def current_stream(device: Any = None) -> Stream:
    """The stream this thread's GPU work goes to (the default stream unless ``set_stream`` changed it)."""
    handle = _require().current_stream()
    held = getattr(_local, "stream", None)
    if held is not None and held.cuda_stream == handle:
        return held
    return Stream(_handle=handle)


def default_stream(device: Any = None) -> Stream:
    """The device's default (legacy) stream, handle 0."""
    _require()
    return Stream(_handle=0)


def set_stream(s: Stream) -> None:
    """Makes ``s`` the current stream of this thread."""
    if not isinstance(s, Stream):
        raise TypeError(f"set_stream: expected a gradcore.cuda.Stream, got {type(s).__name__}")
    _require().set_current_stream(s.cuda_stream)
    _local.stream = s


@contextlib.contextmanager
def stream(s: Stream | None) -> Iterator[Stream | None]:
    """Context manager: GPU work inside the block goes to ``s``; the previous stream comes back after.
    ``None`` leaves the current stream as it is, as in PyTorch.

    Example:
        >>> import gradcore as gc
        >>> with gc.cuda.stream(None):
        ...     pass
    """
    if s is None:
        yield None
        return
    previous = current_stream()
    set_stream(s)
    try:
        yield s
    finally:
        set_stream(previous)


def manual_seed(seed: int) -> None:
    """torch.cuda.manual_seed: gradcore has one generator for every device, so this seeds it
    (gc.manual_seed)."""
    from .creation import manual_seed as _seed

    _seed(seed)


def manual_seed_all(seed: int) -> None:
    """torch.cuda.manual_seed_all: seeds gradcore's one generator (see manual_seed)."""
    manual_seed(seed)
