"""gradcore.backends: torch.backends' switches that training scripts set in their first lines
(``cudnn.benchmark``, ``cudnn.deterministic``, ``cuda.matmul.allow_tf32``, ``mps.is_available()``). gradcore
has no cuDNN, TF32 or MPS paths, so the flags are plain settable attributes that change nothing; they exist
so that copied code runs. ``import gradcore.backends.cudnn`` works too.

Example:
    >>> import gradcore as gc
    >>> gc.backends.cudnn.benchmark = True
    >>> gc.backends.mps.is_available()
    False
"""

from __future__ import annotations

import sys
import types


def _module(name: str, doc: str, **attrs: object) -> types.ModuleType:
    mod = types.ModuleType(f"{__name__}.{name}", doc)
    for k, v in attrs.items():
        setattr(mod, k, v)
    sys.modules[mod.__name__] = mod
    return mod


cudnn = _module(
    "cudnn",
    "torch.backends.cudnn's flags (no effect: gradcore has no cuDNN path).",
    enabled=True,
    benchmark=False,
    deterministic=False,
    allow_tf32=True,
    is_available=lambda: False,
    version=lambda: None,
)
cuda = _module(
    "cuda",
    "torch.backends.cuda's flags (no effect: gradcore's GEMM has no TF32 path).",
    matmul=types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                                 allow_bf16_reduced_precision_reduction=True),
    is_built=lambda: True,
)
mps = _module("mps", "torch.backends.mps: gradcore has no MPS device.", is_available=lambda: False,
              is_built=lambda: False)

_PRECISIONS = ("highest", "high", "medium")
_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """torch.set_float32_matmul_precision: validated and remembered; gradcore's float32 GEMM is always
    full precision.

    Example:
        >>> import gradcore as gc
        >>> gc.set_float32_matmul_precision("highest"); gc.get_float32_matmul_precision()
        'highest'
    """
    if precision not in _PRECISIONS:
        raise RuntimeError(f"Invalid value for float32 matmul precision: {precision!r} (expected one of "
                           f"{', '.join(_PRECISIONS)})")
    _precision[0] = precision


def get_float32_matmul_precision() -> str:
    return _precision[0]


__all__ = ["cuda", "cudnn", "get_float32_matmul_precision", "mps", "set_float32_matmul_precision"]
