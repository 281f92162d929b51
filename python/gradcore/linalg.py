"""PyTorch's matmul rules (1-d operands, broadcast batch dims) and mm/bmm, over the MatMul primitive."""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING

from . import ops

if TYPE_CHECKING:
    from .tensor import Tensor


def _check_dtypes(a: Tensor, b: Tensor, what: str) -> None:
    if a.device != b.device:
        raise RuntimeError(f"{what}: expected both operands on one device, found {a.device} and {b.device}")
    da, db = a.dtype, b.dtype
    if da is not db or not da.is_floating:
        raise TypeError(f"{what}: expected two float tensors of one dtype, got {da} and {db}")


def _not_aligned(a: Tensor, b: Tensor, what: str) -> ValueError:
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    return ValueError(
        f"{what}: shapes {a.shape} and {b.shape} are not aligned "
        f"({a.shape[-1]} (dim {a.ndim - 1}) != {k_b} (dim {max(b.ndim - 2, 0)}))"
    )


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with ``torch.matmul``'s rules: 1-d @ 1-d is a dot product (0-d result), a 1-d
    operand is a row (left) or a column (right) that is dropped from the result, and N-d operands are
    batches of matrices whose batch dims broadcast. Gradients sum over broadcast batch dims.

    Example:
        >>> import gradcore as gc
        >>> (gc.ones(5, 1, 2, 3) @ gc.ones(4, 3, 6)).shape
        (5, 4, 2, 6)
        >>> gc.matmul(gc.tensor([1.0, 2.0]), gc.tensor([3.0, 4.0])).item()
        11.0
    """
    _check_dtypes(a, b, "matmul")
    sa, sb = a.shape, b.shape
    if len(sa) == 2 and len(sb) == 2:  # the common case, kept lean: it runs once per layer call
        if sa[1] != sb[0]:
            raise _not_aligned(a, b, "matmul")
        return ops.MatMul.apply(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dim, got shapes {a.shape} and {b.shape}")
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != k_b:
        raise _not_aligned(a, b, "matmul")
    if a.ndim == 1 and b.ndim == 1:
        return ops.MatMul.apply(a.reshape(1, -1), b.reshape(-1, 1)).reshape(())
    if a.ndim == 1:
        return _matmul_nd(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return _matmul_nd(a, b.unsqueeze(-1)).squeeze(-1)
    return _matmul_nd(a, b)


def _matmul_nd(a: Tensor, b: Tensor) -> Tensor:
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    if b.ndim == 2 and a.ndim > 2:
        # A batch against one matrix is one tall GEMM: (B*M, K) @ (K, N), and its weight gradient
        # a.T @ g is a single GEMM too, with no reduction over the batch afterwards.
        return ops.MatMul.apply(a.reshape(prod(a.shape[:-1]), k), b).reshape(*a.shape[:-1], n)
    batch = ops.broadcast_shape(a.shape[:-2], b.shape[:-2], "matmul")
    if a.shape[:-2] != batch:
        a = a.expand(*batch, m, k)  # stride-0 views: the kernel reads them in place
    if b.shape[:-2] != batch:
        b = b.expand(*batch, k, n)
    return ops.MatMul.apply(a, b)


def mm(a: Tensor, b: Tensor) -> Tensor:
    """The product of two matrices (2-d only, no broadcasting), as ``torch.mm``.

    Example:
        >>> import gradcore as gc
        >>> gc.mm(gc.ones(2, 3), gc.ones(3, 4)).shape
        (2, 4)
    """
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: both operands must be 2-d matrices, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """Batched product of (B, M, K) and (B, K, N) (3-d only, equal batch sizes, no broadcasting), as
    ``torch.bmm``.

    Example:
        >>> import gradcore as gc
        >>> gc.bmm(gc.ones(4, 2, 3), gc.ones(4, 3, 5)).shape
        (4, 2, 5)
    """
    if a.ndim != 3:
        raise ValueError(f"bmm: batch1 must be a 3-d tensor, got shape {a.shape}")
    if b.ndim != 3:
        raise ValueError(f"bmm: batch2 must be a 3-d tensor, got shape {b.shape}")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(
            f"bmm: expected batch2 of shape ({a.shape[0]}, {a.shape[2]}, N) for batch1 of shape {a.shape}, "
            f"got {b.shape}"
        )
    return matmul(a, b)
