"""The DLPack ABI in ctypes: make and read real "dltensor" / "dltensor_versioned" capsules from Python.

The emulated CUDA device exports and imports through these, so the capsules it trades have the exact
layout the native binding's have; tests use them to play a foreign producer (non-zero byte offsets).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _C

KDL_CPU, KDL_CUDA = 1, 2
KDL_INT, KDL_UINT, KDL_FLOAT, KDL_BFLOAT, KDL_BOOL = 0, 1, 2, 4, 6
FLAG_READ_ONLY, FLAG_IS_COPIED = 1, 2
VERSION = (1, 0)  # the DLPack version of the versioned capsules made here


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensor(ctypes.Structure):
    pass


DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", DELETER)]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [
        ("version", DLPackVersion),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", DELETER),
        ("flags", ctypes.c_uint64),
        ("dl_tensor", DLTensor),
    ]


_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
# Capsule names must outlive every capsule: module-level buffers that are never freed.
_NAMES = {
    name: ctypes.create_string_buffer(name)
    for name in (b"dltensor", b"used_dltensor", b"dltensor_versioned", b"used_dltensor_versioned")
}

# Exported tensors alive in C memory: struct address -> (struct, shape, strides, owner).
_exports: dict[int, tuple] = {}
_lock = threading.RLock()


def _release_export(address: int | None) -> None:
    with _lock:
        _exports.pop(address or 0, None)


# The producer's deleter (called by consumers, or by our capsule's destructor) and the capsule destructor
# are C functions of gradcore._C that call _release_export: both run when the last reference goes, often
# while an exception is pending (a consumer rejecting a capsule raises, then drops it), and a ctypes
# callback run then loses that exception (the consumer ends in a SystemError) and leaks the export.
_deleter_address, _destructor_address = _C._dlpack_lifetime(_release_export)
_DELETER = DELETER(_deleter_address)


def dtype_code(dtype: np.dtype) -> tuple[int, int]:
    """(DLPack type code, bits) of a NumPy dtype."""
    if dtype.name == "bfloat16":  # ml_dtypes' bfloat16 ('V' kind)
        return KDL_BFLOAT, 16
    kind = {"f": KDL_FLOAT, "i": KDL_INT, "u": KDL_UINT, "b": KDL_BOOL}.get(dtype.kind)
    if kind is None:
        raise BufferError(f"DLPack: dtype {dtype} has no DLPack type code")
    return kind, 8 * dtype.itemsize


def numpy_dtype(code: int, bits: int, lanes: int) -> np.dtype:
    """The NumPy dtype of a DLPack (code, bits, lanes); TypeError for what NumPy cannot hold."""
    if code == KDL_BFLOAT and bits == 16 and lanes == 1:
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    kinds = {KDL_FLOAT: "f", KDL_INT: "i", KDL_UINT: "u", KDL_BOOL: "b"}
    if lanes != 1 or code not in kinds or bits % 8:
        raise TypeError(f"from_dlpack: unsupported DLPack dtype (code {code}, bits {bits}, lanes {lanes})")
    return np.dtype("?" if code == KDL_BOOL else f"{kinds[code]}{bits // 8}")


def make_capsule(
    data: int,
    device: tuple[int, int],
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    dtype: np.dtype,
    owner: Any,
    byte_offset: int = 0,
    versioned: bool = False,
    flags: int = 0,
) -> Any:
    """A capsule describing memory at ``data + byte_offset`` (strides in elements) that keeps ``owner``
    alive until the consumer calls the deleter (or the capsule dies unconsumed)."""
    ndim = len(shape)
    c_shape = (ctypes.c_int64 * max(ndim, 1))(*shape)
    c_strides = (ctypes.c_int64 * max(ndim, 1))(*strides)
    code, bits = dtype_code(np.dtype(dtype))
    tensor = DLTensor(
        data, DLDevice(*device), ndim, DLDataType(code, bits, 1), c_shape, c_strides, byte_offset
    )
    if versioned:
        struct: Any = DLManagedTensorVersioned(DLPackVersion(*VERSION), None, _DELETER, flags, tensor)
    else:
        struct = DLManagedTensor(tensor, None, _DELETER)
    address = ctypes.addressof(struct)
    with _lock:
        _exports[address] = (struct, c_shape, c_strides, owner)
    name = b"dltensor_versioned" if versioned else b"dltensor"
    return _api.PyCapsule_New(address, _NAMES[name], _destructor_address)


@dataclass
class Imported:
    """What a consumed capsule describes; ``release()`` calls the producer's deleter (once)."""

    data: int  # data + byte_offset: the first element
    device: tuple[int, int]
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # in elements (filled in for a NULL strides pointer)
    dtype: np.dtype
    flags: int
    _struct: Any
    _released: bool = False

    def release(self) -> None:
        if not self._released and self._struct.deleter:
            self._released = True
            self._struct.deleter(ctypes.addressof(self._struct))


def consume_capsule(capsule: Any) -> Imported:
    """Reads a "dltensor" or "dltensor_versioned" capsule and marks it used (the consumer's side)."""
    kinds = {b"dltensor_versioned": DLManagedTensorVersioned, b"dltensor": DLManagedTensor}
    name = next((n for n in kinds if _api.PyCapsule_IsValid(capsule, _NAMES[n])), None)
    if name is None:
        raise TypeError("from_dlpack: expected an unconsumed 'dltensor' or 'dltensor_versioned' capsule")
    cls = kinds[name]
    struct = cls.from_address(_api.PyCapsule_GetPointer(capsule, _NAMES[name]))
    if cls is DLManagedTensorVersioned and struct.version.major > VERSION[0]:
        raise BufferError(f"from_dlpack: DLPack version {struct.version.major} is newer than {VERSION}")
    t = struct.dl_tensor
    shape = tuple(t.shape[i] for i in range(t.ndim))
    if t.strides:
        strides = tuple(t.strides[i] for i in range(t.ndim))
    else:
        strides = tuple(int(np.prod(shape[i + 1 :], dtype=np.int64)) for i in range(t.ndim))
    imported = Imported(
        data=(t.data or 0) + t.byte_offset,
        device=(t.device.device_type, t.device.device_id),
        shape=shape,
        strides=strides,
        dtype=numpy_dtype(t.dtype.code, t.dtype.bits, t.dtype.lanes),
        flags=getattr(struct, "flags", 0),
        _struct=struct,
    )
    _api.PyCapsule_SetName(capsule, _NAMES[b"used_" + name])
    return imported
