"""Small torch spellings newcomers reach for, composed from existing ops: gc.device, gc.Size, gc.compile
(a no-op), dist, cdist, addmm, repeat_interleave and torch.linalg's vector_norm / matrix_norm / norm."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor


def _T() -> Any:
    from .tensor import Tensor

    return Tensor


class device(str):  # noqa: N801 (torch's name)
    """torch.device: a device name that is also a plain string, so it goes wherever gradcore takes one
    (``.to(dev)``, ``device=dev``, ``t.device == dev``); ``.type`` and ``.index`` as torch's.

    Example:
        >>> import gradcore as gc
        >>> d = gc.device("cuda" if gc.cuda.is_available() else "cpu")
        >>> gc.zeros(2, device=d).device == d
        True
    """

    def __new__(cls, type: Any, index: int | None = None) -> device:  # noqa: A002 (torch's argument name)
        name = str(type)
        if index is not None:
            name = f"{name}:{int(index)}"
        kind, _, idx = name.partition(":")
        if kind not in ("cpu", "cuda") or (idx and not idx.isdigit()):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {name}")
        if kind == "cuda" and idx not in ("", "0"):
            raise RuntimeError(f"gradcore has one CUDA device (cuda:0), got {name!r}")
        self = super().__new__(cls, kind)  # gradcore's own spelling: 'cpu' or 'cuda'
        self._index = int(idx) if idx else None
        return self

    @property
    def type(self) -> str:  # noqa: A003
        return str.__str__(self)

    @property
    def index(self) -> int | None:
        return self._index

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + (f", index={self._index})" if self._index is not None else ")")


class Size(tuple):
    """torch.Size: a tuple of dim sizes (``t.shape == gc.Size([2, 3])`` holds), with ``numel()``.

    Example:
        >>> import gradcore as gc
        >>> gc.zeros(2, 3).shape == gc.Size([2, 3]), gc.Size([2, 3]).numel()
        (True, 6)
    """

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64)) if self else 1

    def __repr__(self) -> str:
        return f"gradcore.Size({list(self)})"


class Generator:
    """torch.Generator's seeding surface over a NumPy generator: ``manual_seed`` (returns itself, so
    ``gc.Generator().manual_seed(42)`` chains), ``seed``, ``initial_seed``. gradcore.utils.data's
    DataLoader(generator=) and random_split(generator=) draw from it; the tensor factories use gradcore's
    global generator (gc.manual_seed).

    Example:
        >>> import gradcore as gc
        >>> gc.Generator().manual_seed(42).initial_seed()
        42
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.device = device
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def permutation(self, n: int) -> list[int]:
        return self.rng.permutation(n).tolist()


def compile(model: Any = None, **kwargs: Any) -> Any:  # noqa: A001 (torch's name)
    """torch.compile's spelling: gradcore runs eagerly, so the model (or function) comes back unchanged;
    usable as ``gc.compile(model)`` or as a decorator with or without arguments.

    Example:
        >>> import gradcore as gc
        >>> model = gc.nn.Linear(2, 2)
        >>> gc.compile(model, mode="max-autotune") is model
        True
    """
    if model is None:
        return lambda m: m
    return model


def get_num_threads() -> int:
    """The CPU kernels' thread count (GRADCORE_NUM_THREADS, else the core count), as torch.get_num_threads.

    Example:
        >>> import gradcore as gc
        >>> gc.get_num_threads() >= 1
        True
    """
    from . import _C

    return int(_C.cpu.num_threads())


def set_num_threads(n: int) -> None:
    """torch.set_num_threads: gradcore fixes its thread pool at start-up (GRADCORE_NUM_THREADS), so a
    different count only warns (naming that variable) and changes nothing."""
    import warnings

    if int(n) < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n}")
    if int(n) != get_num_threads():
        warnings.warn(f"gradcore.set_num_threads({n}): the thread count is fixed when gradcore starts "
                      f"({get_num_threads()} now); set GRADCORE_NUM_THREADS={n} in the environment instead",
                      stacklevel=2)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of input - other, as torch.dist.

    Example:
        >>> import gradcore as gc
        >>> gc.dist(gc.tensor([3.0, 0.0]), gc.tensor([0.0, 4.0])).item()
        5.0
    """
    return (input - other).norm(p)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M), as torch.cdist
    (the 2-norm through the difference, so its gradient matches torch's at every pair).

    Example:
        >>> import gradcore as gc
        >>> gc.cdist(gc.zeros(2, 3), gc.ones(4, 3)).shape
        (2, 4)
    """
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (..., P, R, M)
    return diff.norm(p, dim=-1)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), as torch.addmm.

    Example:
        >>> import gradcore as gc
        >>> gc.addmm(gc.ones(2), gc.ones(2, 3), gc.ones(3, 2), alpha=2.0).tolist()
        [[7.0, 7.0], [7.0, 7.0]]
    """
    prod = mat1 @ mat2
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod + input * 0


def repeat_interleave(input: Any, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times (an int or one count per slice) along dim (the flattened
    input when None), as torch.repeat_interleave; ``repeat_interleave(counts)`` gives the indices
    0..n-1 repeated counts[i] times. One index_select, no loop over elements.

    Example:
        >>> import gradcore as gc
        >>> gc.tensor([1, 2]).repeat_interleave(2).tolist()
        [1, 1, 2, 2]
    """
    from .ops_index import wrap_dim

    Tensor = _T()
    if repeats is None:  # torch.repeat_interleave(repeats): the index form
        counts = np.asarray(input.cpu().numpy() if isinstance(input, Tensor) else input).astype(np.int64)
        if counts.ndim != 1 or (counts < 0).any():
            raise RuntimeError("repeat_interleave: repeats must be a 1-d tensor of non-negative counts")
        where = getattr(input, "device", "cpu")
        return Tensor(np.repeat(np.arange(counts.size, dtype=np.int64), counts), device=where)
    x = input if dim is not None else input.reshape(-1)
    d = wrap_dim(0 if dim is None else dim, x.ndim, "repeat_interleave")
    n = x.shape[d] if x.ndim else 1
    if isinstance(repeats, Tensor):
        reps = repeats.cpu().numpy().astype(np.int64).reshape(-1)
    elif isinstance(repeats, (int, np.integer)):
        reps = np.asarray([int(repeats)], dtype=np.int64)
    else:
        reps = np.asarray(list(repeats), dtype=np.int64).reshape(-1)
    if reps.size == 1:
        reps = np.full(n, reps[0], dtype=np.int64)
    if reps.size != n:
        raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {reps.size} and input.size({d}) = {n}")
    if (reps < 0).any():
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    if output_size is not None and int(reps.sum()) != output_size:
        raise RuntimeError(
            f"repeat_interleave: output_size {output_size} != sum of repeats {int(reps.sum())}"
        )
    index = Tensor(np.repeat(np.arange(n, dtype=np.int64), reps), device=x.device)
    return x.index_select(d, index)


# ---------------------------------------------------------------- torch.linalg norms
def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The vector ord-norm over dim (all elements when None), as torch.linalg.vector_norm.

    Example:
        >>> import gradcore as gc
        >>> gc.linalg.vector_norm(gc.tensor([3.0, -4.0]), ord=1).item()
        7.0
    """
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return x.norm(ord, dim, keepdim, dtype=dtype) if dtype is not None else x.norm(ord, dim, keepdim)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Sequence[int] = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The matrix norm over the two dims: 'fro', 1, -1, inf, -inf (column / row abs sums), as
    torch.linalg.matrix_norm; 'nuc' and +-2 need singular values and raise NotImplementedError.

    Example:
        >>> import gradcore as gc
        >>> gc.linalg.matrix_norm(gc.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
        6.0
    """
    from .ops_index import wrap_dims

    if A.ndim < 2:
        raise RuntimeError(
            f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got {A.ndim}"
        )
    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = wrap_dims(tuple(dim), A.ndim, "linalg.matrix_norm", duplicate=RuntimeError)
    if ord == "fro":
        return A.norm(2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(
            f"linalg.matrix_norm: ord={ord!r} needs singular values (no SVD in gradcore)"
        )
    if ord in (1, -1, builtins.float("inf"), builtins.float("-inf")):
        over, across = (d0, d1) if abs(ord) == 1 else (d1, d0)  # 1: max column sum; inf: max row sum
        sums = A.abs().sum(over, keepdim=True)
        out = sums.amax(across, keepdim=True) if ord > 0 else sums.amin(across, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1) if d0 < d1 else (d1, d0))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.norm: a matrix norm when ord is a string or dim names two dims (or A is 2-d with an
    ord given), else the vector norm (2-norm of all elements by default).

    Example:
        >>> import gradcore as gc
        >>> gc.linalg.norm(gc.tensor([[3.0, 0.0], [0.0, 4.0]])).item()
        5.0
    """
    if dim is not None and not isinstance(dim, (int, np.integer)):
        dim = tuple(dim)
    two = isinstance(dim, tuple) and len(dim) == 2
    if isinstance(ord, str) or two or (ord is not None and dim is None and A.ndim == 2):
        return matrix_norm(A, "fro" if ord is None else ord, dim if two else (-2, -1), keepdim, dtype=dtype)
    if ord is not None and dim is None and A.ndim != 1:
        raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A.ndim}D.")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def install_linalg(module: Any) -> None:
    """Puts the torch.linalg norms on gradcore.linalg (which holds matmul's rules) without editing it."""
    for fn in (vector_norm, matrix_norm, norm):
        if not hasattr(module, fn.__name__):
            setattr(module, fn.__name__, fn)


__all__ = ["Generator", "Size", "get_num_threads", "set_num_threads",
            "addmm", "cdist", "compile", "device", "dist", "repeat_interleave"]
