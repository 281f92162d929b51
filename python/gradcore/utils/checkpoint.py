"""torch.utils.checkpoint's spelling: ``checkpoint(fn, *args)`` and ``checkpoint_sequential``. gradcore
keeps every intermediate (no recomputation in backward), so results and gradients are exactly the plain
call's; only the memory saving torch's version buys is absent."""

from __future__ import annotations

from typing import Any


def checkpoint(function: Any, *args: Any, use_reentrant: bool | None = None, context_fn: Any = None,
               determinism_check: str = "default", debug: bool = False, preserve_rng_state: bool = True,
               **kwargs: Any) -> Any:
    """function(*args, **kwargs), as torch.utils.checkpoint.checkpoint computes it (without the
    recomputation: activations are kept).

    Example:
        >>> import gradcore as gc
        >>> from gradcore.utils.checkpoint import checkpoint
        >>> x = gc.ones(2, requires_grad=True)
        >>> checkpoint(lambda t: (t * 3).sum(), x, use_reentrant=False).item()
        6.0
    """
    return function(*args, **kwargs)


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Any:
    """The modules of ``functions`` (a Sequential or a list) applied in order, as
    torch.utils.checkpoint.checkpoint_sequential computes it.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.utils.checkpoint import checkpoint_sequential
        >>> checkpoint_sequential(gc.nn.Sequential(gc.nn.Identity(), gc.nn.ReLU()), 2, -gc.ones(2)).tolist()
        [0.0, 0.0]
    """
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be positive, got {segments}")
    modules = list(functions.children()) if hasattr(functions, "children") else list(functions)
    for m in modules:
        input = m(input)
    return input


__all__ = ["checkpoint", "checkpoint_sequential"]
