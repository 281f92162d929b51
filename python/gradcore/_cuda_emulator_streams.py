"""Streams, events and sync points of the emulated CUDA device: checked handles, a per-thread current
stream, timing, pending device errors. Work runs synchronously at launch, so all work is always done."""

from __future__ import annotations

import threading
import time
from typing import Any

_streams: set[int] = set()
_events: dict[int, dict[str, Any]] = {}
_handles = {"stream": 0x5EA000, "event": 0xE7E000}  # pointer-like, never 0/1/2
_thread = threading.local()
_pending: list[str] = []  # bad input kernels found "on the device", reported at the next sync point


_sync_points = [0]


def sync_points() -> int:
    """Emulator only: how many host sync points (device->host copies, synchronize calls) were made, so
    tests can check that an op or a training step queues its work without waiting for the device."""
    return _sync_points[0]


def raise_pending_errors() -> None:
    """Raises (and clears) the first bad input a kernel found on the device since the last check."""
    _sync_points[0] += 1  # every sync point of the binding ends here
    if _pending:
        message = _pending[0]
        _pending.clear()
        raise IndexError(message)


def _new_handle(kind: str) -> int:
    _handles[kind] += 0x40
    return _handles[kind]


def _bad_handle(kind: str, h: Any, what: str) -> RuntimeError:
    return RuntimeError(f"CUDA error in {what}: cudaErrorInvalidResourceHandle ({h!r} is not a live {kind})")


def _stream(h: Any, what: str) -> int:
    # 0 is the legacy default stream; 1 and 2 are CUDA's own names for the legacy and per-thread ones.
    if h not in (0, 1, 2) and h not in _streams:
        raise _bad_handle("stream", h, what)
    return h


def _event(h: Any, what: str) -> dict[str, Any]:
    if h not in _events:
        raise _bad_handle("event", h, what)
    return _events[h]


def _check_stream_alive() -> None:
    current = getattr(_thread, "stream", 0)
    if current and current not in _streams:
        raise RuntimeError(
            f"CUDA error: the current stream {current:#x} was destroyed; work cannot be queued"
        )


def stream_create() -> int:
    h = _new_handle("stream")
    _streams.add(h)
    return h


def stream_destroy(h: int) -> None:
    if h in (0, 1, 2):
        raise ValueError("gradcore: stream_destroy: the default streams cannot be destroyed")
    _streams.discard(_stream(h, "stream_destroy"))
    if current_stream() == h:  # as the binding does: this thread goes back to the default stream
        _thread.stream = 0


def stream_synchronize(h: int) -> None:
    _stream(h, "stream_synchronize")
    raise_pending_errors()  # a sync point, as in the binding


def stream_query(h: int) -> bool:
    _stream(h, "stream_query")
    return True  # work runs at launch


def stream_wait_event(stream_h: int, event_h: int) -> None:
    _stream(stream_h, "stream_wait_event")
    _event(event_h, "stream_wait_event")


def current_stream() -> int:
    return getattr(_thread, "stream", 0)


def set_current_stream(h: int) -> None:
    _thread.stream = _stream(h, "set_current_stream")


def event_create(enable_timing: bool = False) -> int:
    h = _new_handle("event")
    _events[h] = {"timing": bool(enable_timing), "time": None}
    return h


def event_destroy(h: int) -> None:
    _event(h, "event_destroy")
    del _events[h]


def event_record(event_h: int, stream_h: int) -> None:
    ev = _event(event_h, "event_record")
    _stream(stream_h, "event_record")
    ev["time"] = time.perf_counter()


def event_synchronize(h: int) -> None:
    _event(h, "event_synchronize")


def event_query(h: int) -> bool:
    _event(h, "event_query")
    return True


def event_elapsed_time(start_h: int, end_h: int) -> float:
    start, end = _event(start_h, "event_elapsed_time"), _event(end_h, "event_elapsed_time")
    if not (start["timing"] and end["timing"]):
        raise RuntimeError(
            "CUDA error in event_elapsed_time: cudaErrorInvalidResourceHandle "
            "(both events need enable_timing=True)"
        )
    if start["time"] is None or end["time"] is None:
        raise RuntimeError("CUDA error in event_elapsed_time: an event has not been recorded")
    return (end["time"] - start["time"]) * 1000.0
