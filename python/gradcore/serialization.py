"""gradcore.save / gradcore.load: nested containers of arrays in an uncompressed .npz, written
atomically, read back without pickle and with every byte of the file checked."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import socket
import time
import zipfile
from typing import IO, Any

import numpy as np

from .tensor import Tensor

_META = "__gradcore_meta__"
_MAX_BYTES_ENV = "GRADCORE_LOAD_MAX_BYTES"
# Without an explicit limit a file may expand to this many times its size on disk (or to the floor):
# gradcore writes uncompressed, so a real checkpoint expands by ~1x; a zip bomb by 1000x.
_EXPANSION_FACTOR = 16
_EXPANSION_FLOOR = 64 << 20
_CHUNK = 16 << 20
_KEY_TYPES = (str, int, float, bool, type(None))
_LEGACY_TMP = re.compile(r"\.tmp-[a-z0-9_]{8}\.npz")  # mkstemp names of gradcore <= 0.1


class CheckpointError(ValueError):
    """Raised by ``gradcore.load`` for any file it cannot read as a checkpoint: not a zip, truncated,
    corrupt, malformed metadata, unsupported array types, or larger than the size limit. The message
    and the ``path`` attribute name the file."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        super().__init__(f"{path} is not a readable gradcore checkpoint: {problem}")


# ------------------------------------------------------------------ save
def _flatten(obj: Any, path: str, arrays: dict[str, np.ndarray], seen: dict[int, tuple[Any, str]]) -> Any:
    """Replaces arrays by {"__array__": key} markers (stored beside the JSON skeleton)."""
    if isinstance(obj, (Tensor, np.ndarray)):
        known = seen.get(id(obj))
        if known is not None:  # the same array twice (tied weights) is stored once
            return {known[2]: known[1]}
        array = obj.numpy() if isinstance(obj, Tensor) else obj
        marker = "__array__"
        if array.dtype.name == "bfloat16":  # NumPy's .npy format has no bfloat16: its bits, marked
            array, marker = array.view(np.uint16), "__bfloat16__"
        if array.dtype.hasobject or array.dtype.kind not in "biufc" or array.dtype.fields is not None:
            raise TypeError(f"save: cannot store an array of dtype {array.dtype} at {path or 'top level'}")
        key = f"a{len(arrays)}"
        # Not np.ascontiguousarray: it turns 0-d arrays into shape (1,).
        arrays[key] = array if array.flags.c_contiguous else np.array(array, order="C")
        seen[id(obj)] = (obj, key, marker)  # keeps obj alive so its id is not reused during this save
        return {marker: key}
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, _KEY_TYPES):
                raise TypeError(
                    f"save: dict keys must be str, int, float, bool or None, "
                    f"got {k!r} at {path or 'top level'}"
                )
        return {"__dict__": [[k, _flatten(v, f"{path}/{k}", arrays, seen)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_flatten(v, f"{path}/{i}", arrays, seen) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_flatten(v, f"{path}/{i}", arrays, seen) for i, v in enumerate(obj)]
    if isinstance(obj, (np.bool_, np.integer, np.floating)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(_unsupported(obj, path))


def _unsupported(obj: Any, path: str) -> str:
    from .nn.module import Module
    from .optim import Optimizer

    where = path or "top level"
    name = type(obj).__name__
    if isinstance(obj, Module):
        return (
            f"save: cannot store a {name} module at {where}; save its weights instead: "
            f"gradcore.save(model.state_dict(), path), later model.load_state_dict(gradcore.load(path))"
        )
    if isinstance(obj, Optimizer):
        return (
            f"save: cannot store a {name} optimizer at {where}; save opt.state_dict() instead "
            f"and restore it with opt.load_state_dict(gradcore.load(path))"
        )
    supported = "dict, list, tuple, tensors, arrays, numbers, str, None"
    return f"save: cannot store a {name} at {where} (supported: {supported})"


def _write_archive(f: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    # ZIP_STORED: float weights hardly compress, and deflating them cost most of a save's time.
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=array.nbytes > (1 << 30)) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def save(obj: Any, f: str | os.PathLike | IO[bytes]) -> None:
    """Writes obj (dicts, lists, tuples, tensors, arrays, numbers, strings, None) to a file.

    Given a path, the write is atomic: a temporary file in the same folder is written, flushed to
    disk (one fsync) and renamed over the target, so a crash or a failed write leaves the previous
    file intact. The new file's permissions follow the umask. Leftover temporaries of killed saves of
    the same file are removed. Arrays are stored uncompressed in a NumPy ``.npz`` (readable with
    ``numpy.load``); tensors are saved as their host values. Modules and optimizers are refused:
    save their ``state_dict()``. ``f`` may also be a binary file object (no atomicity then).

    Example:
        >>> import gradcore as gc, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> gc.save({"w": gc.ones(2), "epoch": 3}, p)
        >>> gc.load(p)["epoch"]
        3
    """
    arrays: dict[str, np.ndarray] = {}
    try:
        skeleton = _flatten(obj, "", arrays, {})
        meta = json.dumps(skeleton).encode()
    except RecursionError:
        raise ValueError("save: the object is nested too deeply to store") from None
    arrays[_META] = np.frombuffer(meta, dtype=np.uint8)
    if hasattr(f, "write"):
        _write_archive(f, arrays)
        return
    path = os.fspath(f)
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path} is a directory; give a file path such as {path}/ckpt.npz")
    folder, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f"{_tmp_prefix(base)}{_host()}.{os.getpid()}.{secrets.token_hex(4)}")
    # 0o666 and O_EXCL: the kernel applies the umask (mkstemp would force 0o600).
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as e:  # name the file the caller asked for, not the temporary
        raise type(e)(e.errno, f"save: cannot write {path} ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as out:
            _write_archive(out, arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    remove_stale_temporaries(path)


def _tmp_prefix(base: str) -> str:
    return f".tmp-{base}."


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Deletes the temporary files that killed saves of ``path`` left beside it; returns their paths.

    A temporary is stale when the process that wrote it (named in the file name) is gone from this
    host. Temporaries of gradcore <= 0.1 (``.tmp-XXXXXXXX.npz``) older than a minute go too.

    Example:
        >>> import gradcore as gc, tempfile, os
        >>> gc.serialization.remove_stale_temporaries(os.path.join(tempfile.mkdtemp(), "c.npz"))
        []
    """
    folder, base = os.path.split(os.path.abspath(os.fspath(path)))
    prefix, host, me = _tmp_prefix(base), _host(), os.getpid()
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        stale = False
        if name.startswith(prefix):
            parts = name[len(prefix) :].rsplit(".", 2)
            if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
                pid = int(parts[1])
                stale = pid != me and not _pid_alive(pid)
        elif _LEGACY_TMP.fullmatch(name):
            with contextlib.suppress(OSError):
                stale = time.time() - entry.stat().st_mtime > 60
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(entry.path)
    return removed


# ------------------------------------------------------------------ load
def _limit(max_bytes: float | None, file_size: int) -> float:
    if max_bytes is None:
        env = os.environ.get(_MAX_BYTES_ENV)
        if env is None or not env.strip():
            return max(_EXPANSION_FLOOR, _EXPANSION_FACTOR * file_size)
        try:
            max_bytes = float(env)
        except ValueError:
            raise ValueError(f"{_MAX_BYTES_ENV} must be a number of bytes, got {env!r}") from None
    if math.isnan(max_bytes) or max_bytes < 0:
        raise ValueError(f"load: max_bytes must be a non-negative number of bytes, got {max_bytes}")
    return max_bytes


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, fail: Any) -> np.ndarray:
    """One .npy member, its header checked against its size before anything is allocated."""
    with zf.open(info) as m:
        version = np.lib.format.read_magic(m)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(m)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(m)
        else:
            raise fail(f"member {info.filename} has unsupported .npy version {version}")
        if dtype.hasobject or dtype.kind not in "biufc" or dtype.fields is not None or dtype.shape:
            raise fail(f"member {info.filename} holds dtype {dtype}, which gradcore does not store")
        if any(not isinstance(d, int) or d < 0 for d in shape):
            raise fail(f"member {info.filename} has invalid shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        header = m.tell()
        if header + nbytes != info.file_size:
            raise fail(
                f"member {info.filename} declares shape {shape} ({nbytes} bytes of {dtype}) but holds "
                f"{info.file_size - header} bytes"
            )
        raw = np.empty(nbytes, np.uint8)
        pos = 0
        while pos < nbytes:
            chunk = m.read(min(_CHUNK, nbytes - pos))
            if not chunk:
                raise fail(f"member {info.filename} is truncated")
            raw[pos : pos + len(chunk)] = np.frombuffer(chunk, np.uint8)
            pos += len(chunk)
        if m.read(1):  # also makes zipfile verify the CRC-32 of the member
            raise fail(f"member {info.filename} is longer than its header says")
    array = raw.view(dtype).reshape(shape, order="F" if fortran else "C")
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def _unflatten(node: Any, arrays: dict[str, np.ndarray], fail: Any, where: str = "top level") -> Any:
    if isinstance(node, list):
        return [_unflatten(v, arrays, fail, f"{where}/{i}") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise fail(f"metadata holds an unexpected {type(node).__name__} at {where}")
    if len(node) != 1:
        raise fail(f"metadata holds an unexpected object with keys {sorted(node)[:5]} at {where}")
    kind, body = next(iter(node.items()))
    if kind in ("__array__", "__bfloat16__"):
        if not isinstance(body, str) or body not in arrays:
            raise fail(f"metadata refers to array {body!r} at {where}, which the file does not hold")
        if kind == "__bfloat16__":
            if arrays[body].dtype != np.uint16:
                raise fail(f"bfloat16 array {body!r} at {where} is stored as {arrays[body].dtype}")
            import ml_dtypes

            return arrays[body].view(ml_dtypes.bfloat16)
        return arrays[body]
    if kind == "__tuple__" and isinstance(body, list):
        return tuple(_unflatten(v, arrays, fail, f"{where}/{i}") for i, v in enumerate(body))
    if kind == "__dict__" and isinstance(body, list):
        out = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], _KEY_TYPES)):
                raise fail(f"metadata holds a malformed dict entry {str(pair)[:60]} at {where}")
            out[pair[0]] = _unflatten(pair[1], arrays, fail, f"{where}/{pair[0]}")
        return out
    raise fail(f"metadata holds an unexpected {kind!r} entry at {where}")


def _load_archive(f: IO[bytes], name: str, limit: float) -> Any:
    def fail(problem: str) -> CheckpointError:
        return CheckpointError(name, problem)

    start = f.tell()
    if f.read(6) == b"\x93NUMPY":
        raise fail("it is a single NumPy array (.npy), not a checkpoint; read it with numpy.load")
    f.seek(start)
    try:
        zf = zipfile.ZipFile(f)
    except zipfile.BadZipFile:
        raise fail(
            "it is not a zip archive, or a truncated one (gradcore checkpoints are .npz files)"
        ) from None
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > limit:
            raise fail(
                f"it would expand to {total} bytes, more than the limit of {limit:.0f} bytes "
                f"(a file may expand to {_EXPANSION_FACTOR}x its size, at least {_EXPANSION_FLOOR >> 20} "
                f"MiB); if you trust it, pass max_bytes= or set {_MAX_BYTES_ENV}"
            )
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise fail("it holds the same member twice")
        if _META + ".npy" not in names:
            raise fail(f"it has no {_META} entry (an .npz that gradcore.save did not write)")
        arrays = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise fail(f"member {info.filename!r} is not a .npy array")
            arrays[info.filename[:-4]] = _read_member(zf, info, fail)
    meta = arrays.pop(_META)
    if meta.dtype != np.uint8 or meta.ndim != 1:
        raise fail(f"its {_META} entry is not a byte string")
    try:
        skeleton = json.loads(meta.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise fail(f"its metadata is not valid JSON ({e})") from None
    return _unflatten(skeleton, arrays, fail)


def load(
    f: str | os.PathLike | IO[bytes],
    map_location: Any = None,
    *,
    max_bytes: float | None = None,
    weights_only: bool | None = None,
) -> Any:
    """Reads what ``save`` wrote; tensors and arrays come back as NumPy arrays, tuples as tuples.

    ``load`` never unpickles, so a file cannot run code. Any file it cannot read as a checkpoint
    (not a zip, truncated, corrupt, malformed, too deeply nested) raises ``gradcore.CheckpointError``
    (a ``ValueError``) naming the file; a missing file raises ``FileNotFoundError``. Against
    decompression bombs the arrays may expand to at most ``max_bytes`` in total; by default 16x the
    file's size (at least 64 MiB), or the ``GRADCORE_LOAD_MAX_BYTES`` environment variable.
    ``map_location`` and ``weights_only`` are accepted for PyTorch-style calls and change nothing
    (arrays are host arrays; loading is always weights-only).

    Example:
        >>> import gradcore as gc, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> gc.save({"step": gc.tensor(5), "betas": (0.9, 0.999)}, p)
        >>> state = gc.load(p)
        >>> state["step"].shape, state["betas"]
        ((), (0.9, 0.999))
    """
    if hasattr(f, "read"):
        name = str(getattr(f, "name", "<file object>"))
        start = f.tell()
        limit = _limit(max_bytes, f.seek(0, os.SEEK_END) - start)
        f.seek(start)
        return _guarded(lambda: _load_archive(f, name, limit), name)
    path = os.fspath(f)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    with open(path, "rb") as fh:
        limit = _limit(max_bytes, os.fstat(fh.fileno()).st_size)
        return _guarded(lambda: _load_archive(fh, path, limit), path)


def _guarded(read: Any, name: str) -> Any:
    """Turns whatever a damaged file makes zipfile, NumPy or json raise into CheckpointError."""
    try:
        return read()
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(name, "its metadata is nested too deeply") from None
    except MemoryError:
        raise CheckpointError(name, "its arrays do not fit in memory") from None
    except Exception as e:  # BadZipFile, zlib.error, EOFError, NotImplementedError, OSError of a codec...
        raise CheckpointError(name, f"{type(e).__name__}: {e}") from None
