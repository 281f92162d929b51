"""The emulated CUDA device: a host-memory twin of gradcore._C.cuda, used when GRADCORE_EMULATE_CUDA=1.

It has the native binding's names with the same meanings (the contract in csrc/bindings_cuda.cpp),
so gradcore's Python device layer runs unchanged on machines without a GPU. It checks that layer and
the binding contract, NOT the CUDA kernels: every kernel call runs the CPU twin of the same name from
gradcore._C.cpu on NumPy views of host memory, so a wrong CUDA kernel still passes here. What it does
model:

- Memory: each "device" block is a NumPy byte buffer (256-byte aligned, as cudaMalloc's) behind a
  caching allocator with the real one's size classes, counters (memory_stats keys) and retry after
  emptying the cache; a configurable capacity (set_capacity, or GRADCORE_EMULATE_CUDA_MEMORY bytes,
  default 4 GiB) makes allocations beyond it raise OutOfMemoryError as the device does.
- Fresh memory is filled with NaN (floats) or 0xA5 bytes (ints, bools), so reading memory no kernel
  wrote shows in results; views are bounds-checked against their block (as_strided raises ValueError).
- Kernels: any kernel of gradcore._C.cpu is found by name (a new kernel added to both native tables
  works with no edit here); host NumPy arrays passed to a kernel raise TypeError as in the binding.
- Streams and events: handles, per-thread current stream, timing; work runs synchronously at launch,
  so queries always report done. Softmax-CE's bad targets become a pending device error raised by
  raise_pending_errors(), synchronize() and every device->host copy; set_sync_debug(True) (or
  GRADCORE_CUDA_SYNC=1) raises it at the launch instead.
- DLPack: real capsules (legacy or versioned) with device type kDLCUDA. Their data pointers are HOST
  addresses: a real CUDA consumer (CuPy, PyTorch on a GPU) cannot dereference them. Imports accept only
  memory inside live emulated blocks.

Extras that the native binding does not have: EMULATED, set_capacity(), capacity(), sync_points().
"""

from __future__ import annotations

import os
from math import prod as _prod  # not "prod": kernels are found by name in this namespace
from typing import Any

import numpy as np

from . import _C, _dlpack_abi
from ._cuda_emulator_memory import (  # noqa: F401  (re-exported: the binding's names)
    OutOfMemoryError,
    _Block,
    _find_block,
    capacity,
    empty_cache,
    memory_stats,
    set_capacity,
)
from ._cuda_emulator_streams import (  # noqa: F401
    _check_stream_alive,
    _pending,
    _streams,
    current_stream,
    event_create,
    event_destroy,
    event_elapsed_time,
    event_query,
    event_record,
    event_synchronize,
    raise_pending_errors,
    set_current_stream,
    stream_create,
    stream_destroy,
    stream_query,
    stream_synchronize,
    stream_wait_event,
    sync_points,
)
from .dtypes import DTYPE_OF_NUMPY

EMULATED = True
_INT64_MAX = (1 << 63) - 1
# Kernels whose CUDA twin reports bad input through a device-side flag instead of raising at launch.
_DEFERRED_CHECKS = {"softmax_ce"}
# Entries of gradcore._C.cpu that are host utilities, not kernels of the shared table.
_NOT_KERNELS = {"num_threads", "cached_empty", "cache_min_bytes", "memory_stats", "empty_cache"}


# ------------------------------------------------------------------ argument checks
def _check_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in DTYPE_OF_NUMPY:
        names = ", ".join(str(d) for d in DTYPE_OF_NUMPY)
        raise TypeError(f"gradcore: unsupported dtype {dt} ({names} are supported)")
    return dt


def _check_shape(shape: Any, dt: np.dtype) -> tuple[int, ...]:
    dims = tuple(int(s) for s in shape)
    if any(s < 0 for s in dims):
        raise ValueError(f"gradcore: negative dimension in shape {dims}")
    if _prod(dims) * dt.itemsize > _INT64_MAX:
        raise ValueError(f"gradcore: shape {dims} of {dt} is too large (its size in bytes overflows int64)")
    return dims


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, n = [], 1
    for s in reversed(shape):
        strides.append(n)
        n *= s
    return tuple(reversed(strides))


def _reach(shape: tuple[int, ...], strides: tuple[int, ...], offset: int) -> tuple[int, int] | None:
    """The lowest and highest element a view reaches, or None when it is empty."""
    if 0 in shape:
        return None
    lo = offset + sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
    return lo, offset + sum((n - 1) * s for n, s in zip(shape, strides) if s > 0)


def _check_bounds(
    span: tuple[int, int], shape: tuple[int, ...], strides: tuple[int, ...], offset: int
) -> None:
    # span: the elements [first, end) of the block this array may use (a DLPack import: only its own).
    if any(n < 0 for n in shape):
        raise ValueError(f"gradcore: as_strided: negative dimension in shape {shape}")
    if len(shape) > 8:
        raise ValueError("gradcore: as_strided: at most 8 dimensions are supported")
    reach = _reach(shape, strides, offset)
    lo, hi = reach or (offset, offset)
    if offset < span[0] or lo < span[0] or (hi >= span[1] if reach else offset > span[1]):
        raise ValueError(
            f"gradcore: as_strided: a view of shape {shape} at offset {offset} reaches elements [{lo}, {hi}] "
            f"outside its memory block of {span[1] - span[0]} elements"
        )


# ------------------------------------------------------------------ the device array
class Array:
    """A strided n-d array in emulated device memory: a shared block, an element offset, shape, strides."""

    __slots__ = ("_block", "_dtype", "_shape", "_strides", "_offset", "_span", "_keep", "_host")

    @classmethod
    def _make(cls, block, dtype, shape, strides, offset, span=None, keep=()) -> Array:
        a = object.__new__(cls)
        a._block, a._dtype, a._shape, a._strides, a._offset = block, dtype, shape, strides, offset
        a._span = span or (0, block.nbytes // dtype.itemsize)  # the elements views may reach
        a._keep = keep  # DLPack imports: released (producer's deleter) when the last view is gone
        a._host = None
        return a

    def __init__(self) -> None:
        raise TypeError("gradcore._C.cuda.Array has no constructor; use Array.empty/zeros/from_numpy")

    @staticmethod
    def empty(shape: Any, dtype: Any) -> Array:
        dt = _check_dtype(dtype)
        dims = _check_shape(shape, dt)
        block = _Block(max(_prod(dims), 1) * dt.itemsize, dt)
        return Array._make(block, dt, dims, _contiguous_strides(dims), 0)

    @staticmethod
    def zeros(shape: Any, dtype: Any) -> Array:
        a = Array.empty(shape, dtype)
        a._block.buf[: a._block.nbytes] = 0
        return a

    @staticmethod
    def from_numpy(src: Any) -> Array:
        host = np.asarray(src)
        a = Array.empty(host.shape, host.dtype)
        a._view()[...] = host
        return a

    @staticmethod
    def from_dlpack(obj: Any) -> Array:
        return _import_dlpack(obj)

    # -------------------------------------------------------------- metadata
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def strides(self) -> tuple[int, ...]:
        return self._strides

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def data_ptr(self) -> int:
        return self._block.address + self._offset * self._dtype.itemsize

    def is_contiguous(self) -> bool:
        expected = 1
        for n, s in zip(reversed(self._shape), reversed(self._strides)):
            if n != 1 and s != expected:
                return False
            expected *= n
        return True

    def as_strided(self, shape: Any, strides: Any, offset: int) -> Array:
        shape, strides, offset = tuple(int(s) for s in shape), tuple(int(s) for s in strides), int(offset)
        if len(shape) != len(strides):
            raise ValueError("gradcore: as_strided: shape and strides differ in length")
        _check_bounds(self._span, shape, strides, offset)
        return Array._make(self._block, self._dtype, shape, strides, offset, self._span, self._keep)

    # -------------------------------------------------------------- data
    def _view(self) -> np.ndarray:
        """A NumPy view of this array's elements in the block (what the CPU kernels are given)."""
        if self._host is None:
            size = self._dtype.itemsize
            self._host = np.ndarray(
                self._shape,
                self._dtype,
                buffer=self._block.buf,
                offset=self._offset * size,
                strides=tuple(s * size for s in self._strides),
            )
        return self._host

    def numpy(self) -> np.ndarray:
        raise_pending_errors()  # a device->host copy is a sync point
        return np.array(self._view(), order="C", copy=True)

    def __repr__(self) -> str:
        return f"<emulated cuda Array shape={self._shape} dtype={self._dtype} offset={self._offset}>"

    # -------------------------------------------------------------- interchange
    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        size = self._dtype.itemsize
        stream = current_stream()
        return {
            "shape": self._shape,
            "typestr": self._dtype.str,
            "data": (self.data_ptr if _prod(self._shape) else 0, False),
            "strides": tuple(s * size for s in self._strides),
            "version": 3,
            "stream": stream if stream else 1,  # 1: the legacy default stream
        }

    def __dlpack__(
        self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None, copy: Any = None
    ) -> Any:
        if dl_device is not None and tuple(dl_device) != (_dlpack_abi.KDL_CUDA, 0):
            raise BufferError(f"__dlpack__: cannot export a cuda:0 array to DLPack device {tuple(dl_device)}")
        if copy:
            raise BufferError("__dlpack__: copy=True is not supported; gradcore exports without copying")
        _check_consumer_stream(stream)
        versioned = max_version is not None and tuple(max_version) >= (1, 0)
        return _dlpack_abi.make_capsule(
            self.data_ptr,
            (_dlpack_abi.KDL_CUDA, 0),
            self._shape,
            self._strides,
            self._dtype,
            self,
            versioned=versioned,
        )

    def __dlpack_device__(self) -> tuple[int, int]:
        return (_dlpack_abi.KDL_CUDA, 0)


class _ImportHold:
    """Calls the producer's deleter once the imported array and all its views are gone."""

    def __init__(self, imported: _dlpack_abi.Imported) -> None:
        self.imported = imported

    def __del__(self) -> None:
        self.imported.release()


def _check_consumer_stream(stream: Any) -> None:
    # None/1: legacy default, 2: per-thread default, -1: no sync; anything else names a stream.
    if stream is None or stream in (-1, 0, 1, 2):
        return
    if not isinstance(stream, int) or isinstance(stream, bool):
        raise TypeError(f"__dlpack__: stream must be an int or None, got {type(stream).__name__}")
    if stream not in _streams:
        raise ValueError(f"__dlpack__: {stream:#x} is not a live stream of the emulated device")


def _device_str(device: tuple[int, int]) -> str:
    kind, index = device
    return f"cuda:{index}" if kind == _dlpack_abi.KDL_CUDA else f"DLPack device ({kind}, {index})"


def _check_import_device(device: tuple[int, int]) -> None:
    if device[0] != _dlpack_abi.KDL_CUDA:
        raise TypeError(f"from_dlpack: the tensor is on {_device_str(device)}, not a CUDA device")
    if device[1] != 0:
        raise ValueError(
            f"from_dlpack: the tensor is on cuda:{device[1]} but gradcore works on cuda:0; move it to that "
            "device first"
        )


def _import_dlpack(obj: Any) -> Array:
    """Accepts an object with __dlpack__ (asked for a versioned capsule first) or a capsule itself."""
    if type(obj).__name__ == "PyCapsule":
        capsule = obj
    elif not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: {type(obj).__name__} does not implement __dlpack__")
    else:
        if hasattr(obj, "__dlpack_device__"):
            _check_import_device(tuple(int(v) for v in obj.__dlpack_device__()))
        stream = current_stream() or 1  # the consumer's stream, as the protocol asks (1: legacy default)
        try:
            capsule = obj.__dlpack__(stream=stream, max_version=(1, 0))
        except TypeError:  # a producer that predates max_version
            capsule = obj.__dlpack__(stream=stream)
    imported = _dlpack_abi.consume_capsule(capsule)
    try:
        _check_import_device(imported.device)
        if imported.flags & _dlpack_abi.FLAG_READ_ONLY:
            raise BufferError("from_dlpack: the tensor is read-only and gradcore tensors are writable")
        dt = _check_dtype(imported.dtype)
        reach = _reach(imported.shape, imported.strides, 0)
        if reach is None:
            imported.release()
            return Array.empty(imported.shape, dt)
        block = _find_block(imported.data)
        if block is None:
            raise BufferError(
                f"from_dlpack: address {imported.data:#x} is not emulated device memory (the emulator "
                "cannot read a real GPU's memory)"
            )
        start = imported.data - block.address
        if start % dt.itemsize:
            raise ValueError(f"from_dlpack: data at byte {start} of its block is not aligned to {dt}")
        offset = start // dt.itemsize
        # As in the binding, the import may reach only the elements its own view reaches.
        span = (offset + reach[0], offset + reach[1] + 1)
        _check_bounds((0, block.nbytes // dt.itemsize), imported.shape, imported.strides, offset)
    except BaseException:
        imported.release()
        raise
    return Array._make(block, dt, imported.shape, imported.strides, offset, span, (_ImportHold(imported),))


# ------------------------------------------------------------------ kernels
def _host(arg: Any, name: str) -> Any:
    if isinstance(arg, Array):
        return arg._view()
    if isinstance(arg, np.ndarray):
        raise TypeError(
            f"{name}(): incompatible function arguments: a host NumPy array was passed to a CUDA kernel"
        )
    if isinstance(arg, (list, tuple)):
        return [_host(a, name) for a in arg]
    return arg


def _wrap_kernel(name: str, fn: Any) -> Any:
    deferred = name in _DEFERRED_CHECKS

    def launch(*args: Any) -> Any:
        _check_stream_alive()
        host_args = [_host(a, name) for a in args]
        try:
            result = fn(*host_args)
        except IndexError as e:
            if deferred and not _debug["sync"]:
                # The GPU sets a flag; the host hears of it at the next sync point.
                _pending.append(f"{e} (reported by a CUDA kernel at this sync point)")
                return None
            raise IndexError(f"{e} (raised by kernel {name})") from None
        if _debug["sync"]:
            raise_pending_errors()
        return Array.from_numpy(result) if isinstance(result, np.ndarray) else result

    launch.__name__ = launch.__qualname__ = name
    launch.__doc__ = f"Emulated CUDA kernel: gradcore._C.cpu.{name} on host views of device memory."
    return launch


def _kernel_names() -> list[str]:
    return sorted(
        n
        for n in dir(_C.cpu)
        if not n.startswith("_") and n not in _NOT_KERNELS and callable(getattr(_C.cpu, n))
    )


_kernels: dict[str, Any] = {}  # not this module's globals: kernels named sum/max would shadow builtins


def __getattr__(name: str) -> Any:  # every kernel of the CPU table, wrapped on first use
    kernel = _kernels.get(name)
    if kernel is None:
        fn = getattr(_C.cpu, name, None)
        if name.startswith("_") or name in _NOT_KERNELS or not callable(fn):
            raise AttributeError(f"module 'gradcore._C.cuda' (emulated) has no attribute {name!r}")
        kernel = _kernels[name] = _wrap_kernel(name, fn)
    return kernel


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_kernel_names()))


_matmul = {"variant": 1}


def set_matmul_variant(v: int) -> None:
    """0: naive reference, 1: tiled (default); the emulator runs the CPU GEMM for both."""
    if v not in (0, 1):
        raise ValueError("gradcore: matmul variant must be 0 (naive) or 1 (tiled)")
    _matmul["variant"] = int(v)


def matmul_variant() -> int:
    return _matmul["variant"]


_conv = {"variant": 1}


def set_conv_variant(v: int) -> None:
    """0: direct reference, 1: implicit GEMM (default); the emulator runs the CPU conv kernels for both."""
    if v not in (0, 1):
        raise ValueError("gradcore: conv variant must be 0 (direct) or 1 (implicit GEMM)")
    _conv["variant"] = int(v)


def conv_variant() -> int:
    return _conv["variant"]


# ------------------------------------------------------------------ device and errors
def device_count() -> int:
    return 1


_debug = {"sync": os.environ.get("GRADCORE_CUDA_SYNC", "0") not in ("", "0")}


def synchronize() -> None:
    raise_pending_errors()


def set_sync_debug(enabled: bool) -> None:
    _debug["sync"] = bool(enabled)


def sync_debug() -> bool:
    return _debug["sync"]
