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


# ---------------------------------------------------------------- packed sequences

from typing import NamedTuple  # noqa: E402

import numpy as np  # noqa: E402


class PackedSequence(NamedTuple):
    """torch's packed layout: ``data`` holds the steps time-major, the sequences sorted by decreasing
    length (``batch_sizes[t]`` of them at step t); ``sorted_indices`` / ``unsorted_indices`` map between
    that order and the caller's."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _lengths(lengths) -> np.ndarray:
    arr = np.asarray(
        lengths.cpu().numpy() if isinstance(lengths, Tensor) else lengths, dtype=np.int64
    ).reshape(-1)
    if arr.size and arr.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0")
    return arr


def pack_padded_sequence(
    input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Packs a padded (L, B, *) (or batch_first (B, L, *)) batch of sequences of the given lengths.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn.utils.rnn import pack_padded_sequence
        >>> packed = pack_padded_sequence(gc.ones(3, 2, 4), [3, 1])
        >>> packed.data.shape, packed.batch_sizes.tolist()
        ((4, 4), [2, 1, 1])
    """
    lens = _lengths(lengths)
    x = input.transpose(0, 1) if batch_first else input  # (L, B, *)
    if lens.size != x.shape[1]:
        raise ValueError(f"pack_padded_sequence: {lens.size} lengths for a batch of {x.shape[1]}")
    if lens.max() > x.shape[0]:
        raise ValueError(
            f"pack_padded_sequence: a length {lens.max()} exceeds the padded length {x.shape[0]}"
        )
    if enforce_sorted:
        if (np.diff(lens) > 0).any():
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True."
            )
        order = np.arange(lens.size)
        sorted_idx = unsorted_idx = None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_idx = Tensor(order.astype(np.int64))
        unsorted_idx = Tensor(np.argsort(order).astype(np.int64))
    sl = lens[order]
    batch_sizes = np.array([(sl > t).sum() for t in range(int(sl.max()))], dtype=np.int64)
    flat = np.concatenate([t * lens.size + order[: batch_sizes[t]] for t in range(batch_sizes.size)])
    rows = x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])
    data = rows.index_select(0, Tensor(flat, device=x.device))
    return PackedSequence(data, Tensor(batch_sizes), sorted_idx, unsorted_idx)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The padded batch and the lengths of a PackedSequence, in the caller's original order."""
    data, batch_sizes = sequence.data, sequence.batch_sizes.numpy().astype(np.int64)
    b, steps = int(batch_sizes[0]), batch_sizes.size
    length = steps if total_length is None else int(total_length)
    if length < steps:
        raise ValueError(f"Expected total_length to be at least the length of the longest sequence ({steps})")
    order = sequence.sorted_indices.numpy() if sequence.sorted_indices is not None else np.arange(b)
    # the packed row of (t, sorted position j), or a padding row at the end
    slot = np.full((length, b), data.shape[0], dtype=np.int64)
    start = 0
    for t, n in enumerate(batch_sizes):
        slot[t, order[:n]] = np.arange(start, start + n)
        start += n
    padded_rows = _cat_rows(data, padding_value)
    out = padded_rows.index_select(0, Tensor(slot.reshape(-1), device=data.device))
    out = out.reshape(length, b, *data.shape[1:])
    lens = np.zeros(b, dtype=np.int64)
    lens[order] = [(batch_sizes > j).sum() for j in range(b)]
    return (out.transpose(0, 1) if batch_first else out), Tensor(lens)


def _cat_rows(data: Tensor, value: float) -> Tensor:
    from ..ops_index import cat

    return cat([data, data.new_full((1, *data.shape[1:]), float(value))], 0)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """pad_sequence then pack_padded_sequence."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


__all__ += ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence"]
