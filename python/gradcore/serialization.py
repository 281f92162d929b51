"""gradcore.save / gradcore.load: nested dicts of arrays in a .npz, written atomically, no pickle."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from .tensor import Tensor

_META = "__gradcore_meta__"


def _flatten(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """Replaces arrays by {"__array__": key} markers (stored beside the JSON skeleton)."""
    if isinstance(obj, Tensor):
        obj = obj.numpy()
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = np.ascontiguousarray(obj)
        return {"__array__": key}
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, str):
                raise TypeError(f"save: dict keys must be strings, got {k!r} at {path or 'top level'}")
        return {"__dict__": [[k, _flatten(v, f"{path}/{k}", arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_flatten(v, f"{path}/{i}", arrays) for i, v in enumerate(obj)]
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path or 'top level'}")


def _unflatten(node: Any, arrays: Any) -> Any:
    if isinstance(node, dict):
        if "__array__" in node:
            return arrays[node["__array__"]]
        return {k: _unflatten(v, arrays) for k, v in node["__dict__"]}
    if isinstance(node, list):
        return [_unflatten(v, arrays) for v in node]
    return node


def save(obj: Any, path: str | os.PathLike) -> None:
    """Writes obj (dicts, lists, arrays, tensors, numbers, strings) to ``path`` atomically:
    a temporary file in the same folder is written, flushed and renamed over the target,
    so a crash mid-write leaves the previous file intact.

    Example:
        >>> import gradcore as gc, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> gc.save({"w": gc.ones(2), "epoch": 3}, p)
        >>> gc.load(p)["epoch"]
        3
    """
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    skeleton = _flatten(obj, "", arrays)
    arrays[_META] = np.frombuffer(json.dumps(skeleton).encode(), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike) -> Any:
    """Reads what ``save`` wrote; arrays come back as NumPy arrays. Corrupt files raise ValueError."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        skeleton = json.loads(arrays.pop(_META).tobytes().decode())
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a readable gradcore checkpoint ({type(e).__name__}: {e})") from None
    return _unflatten(skeleton, arrays)
