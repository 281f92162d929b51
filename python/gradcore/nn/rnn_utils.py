"""nn.utils.rnn.pad_sequence: a list of variable-length sequences stacked into one padded batch."""

from __future__ import annotations

from collections.abc import Sequence

from ..ops_index import stack
from ..tensor import Tensor
from .pool_functions import pad


def pad_sequence(
    sequences: Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Pads (L_i, *) tensors to the longest length and stacks them: (L, B, *) or, with ``batch_first``,
    (B, L, *); ``padding_side`` 'left' pads in front.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn.utils.rnn import pad_sequence
        >>> pad_sequence([gc.ones(2), gc.ones(3)], batch_first=True).tolist()
        [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = longest - s.shape[0]
        widths = [0, 0] * (s.ndim - 1) + ([extra, 0] if padding_side == "left" else [0, extra])
        padded.append(pad(s, tuple(widths), value=padding_value) if extra else s)
    return stack(padded, 0 if batch_first else 1)


__all__ = ["pad_sequence"]
