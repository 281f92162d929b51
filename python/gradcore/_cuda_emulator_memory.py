"""Memory of the emulated CUDA device: NumPy byte buffers behind a twin of the caching allocator."""

from __future__ import annotations

import os
import threading
import weakref

import numpy as np

_ALIGN = 256  # cudaMalloc's alignment


class OutOfMemoryError(MemoryError):
    """The device could not satisfy an allocation, even after its cache was emptied."""


# ------------------------------------------------------------------ allocator
def _round_size(nbytes: int) -> int:  # the real allocator's size classes
    unit = 512 if nbytes < (1 << 20) else (2 << 20)
    return max(unit, (nbytes + unit - 1) // unit * unit)


class _Allocator:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.lock = threading.RLock()  # RLock: a block's __del__ may run inside an allocation
        self.free: dict[int, list[np.ndarray]] = {}
        self.in_use = self.cached = self.peak = self.mallocs = self.frees = self.hits = 0

    def take(self, nbytes: int) -> np.ndarray:
        size = _round_size(nbytes)
        with self.lock:
            fits = [s for s, bufs in self.free.items() if bufs and size <= s <= 2 * size]
            if fits:
                s = min(fits)
                buf = self.free[s].pop()
                self.cached -= s
                self.hits += 1
            else:
                if self.in_use + self.cached + size > self.capacity:
                    self.release_all()  # give the cache back and retry once, as the device allocator does
                if self.in_use + size > self.capacity:
                    raise OutOfMemoryError(
                        f"CUDA out of memory: tried to allocate {size} bytes ({self.in_use} bytes in use)"
                    )
                try:
                    raw = np.empty(size + _ALIGN, np.uint8)
                except MemoryError:
                    raise OutOfMemoryError(
                        f"CUDA out of memory: tried to allocate {size} bytes (host memory exhausted)"
                    ) from None
                skip = -raw.ctypes.data % _ALIGN
                buf = raw[skip : skip + size]
                self.mallocs += 1
            self.in_use += buf.size
            self.peak = max(self.peak, self.in_use)
            return buf

    def give_back(self, buf: np.ndarray) -> None:
        with self.lock:
            self.free.setdefault(buf.size, []).append(buf)
            self.in_use -= buf.size
            self.cached += buf.size

    def release_all(self) -> None:
        with self.lock:
            self.frees += sum(len(bufs) for bufs in self.free.values())
            self.free.clear()
            self.cached = 0


_allocator = _Allocator(int(os.environ.get("GRADCORE_EMULATE_CUDA_MEMORY", 4 << 30)))
_live_blocks: weakref.WeakValueDictionary[int, _Block] = weakref.WeakValueDictionary()


class _Block:
    """One allocation: ``nbytes`` asked for, inside a cached buffer of the rounded size."""

    __slots__ = ("buf", "nbytes", "address", "__weakref__")

    def __init__(self, nbytes: int, dtype: np.dtype) -> None:
        self.buf = _allocator.take(nbytes)
        self.nbytes = nbytes
        self.address = self.buf.ctypes.data
        self.buf.fill(0xA5)  # what a reused device block holds is garbage: make it conspicuous
        if dtype.kind == "f" or dtype.name == "bfloat16":  # bfloat16 (ml_dtypes) is a 'V'-kind float
            self.buf[:nbytes].view(dtype).fill(np.nan)
        _live_blocks[self.address] = self

    def __del__(self) -> None:
        if hasattr(self, "buf") and _allocator is not None:  # not when the allocation failed, or at exit
            _allocator.give_back(self.buf)


def _find_block(address: int) -> _Block | None:
    for block in list(_live_blocks.values()):
        if block.address <= address < block.address + block.nbytes:
            return block
    return None


def memory_stats() -> dict[str, int]:
    a = _allocator
    with a.lock:
        return {
            "allocated_bytes": a.in_use,
            "cached_bytes": a.cached,
            "peak_allocated_bytes": a.peak,
            "num_mallocs": a.mallocs,
            "num_frees": a.frees,
            "cache_hits": a.hits,
        }


def empty_cache() -> None:
    _allocator.release_all()


def set_capacity(nbytes: int) -> None:
    """Emulator only: the device memory size; allocations beyond it raise OutOfMemoryError."""
    _allocator.capacity = int(nbytes)


def capacity() -> int:
    """Emulator only: the emulated device memory size in bytes."""
    return _allocator.capacity
