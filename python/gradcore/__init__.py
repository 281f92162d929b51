"""gradcore: a small reverse-mode autodiff engine with native C++ and CUDA kernels.

Example:
    >>> import gradcore as gc
    >>> x = gc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x.sigmoid() * x).sum()
    >>> y.backward()
    >>> x.grad.shape
    (3,)
"""

from . import autograd, cuda, data, distributed, nn, optim, testing, train
from .autograd import detect_anomaly, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    linspace,
    logspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .creation import from_numpy as from_numpy
from .dlpack import from_dlpack
from .dtypes import DType, float32, float64, int32, int64
from .dtypes import bool_ as bool  # noqa: A001 - gradcore.bool, as torch.bool
from .dtypes import get_default_dtype as get_default_dtype
from .dtypes import set_default_dtype as set_default_dtype
from .functions import (
    abs,
    allclose,
    bmm,
    clamp,
    clip,
    equal,
    exp,
    flatten,
    isclose,
    isfinite,
    isinf,
    isnan,
    log,
    log_softmax,
    matmul,
    maximum,
    minimum,
    mm,
    neg,
    permute,
    relu,
    reshape,
    sigmoid,
    sign,
    softmax,
    sqrt,
    squeeze,
    tanh,
    transpose,
    unsqueeze,
)
from .ops_index import (
    cat,
    chunk,
    gather,
    index_put,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    split,
    stack,
    where,
)

# torch's reduction functions (gradcore.sum, gradcore.max, ...); they shadow builtins only inside gradcore.
from .reductions import (  # noqa: E402
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from .serialization import CheckpointError as CheckpointError
from .serialization import load, save
from .tensor import Tensor

__version__ = "0.1.0"


def logical_and(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise logical and of any two tensors, as a bool tensor."""
    return a.logical_and(b)


def logical_or(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise logical or of any two tensors, as a bool tensor."""
    return a.logical_or(b)


def logical_xor(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise logical xor of any two tensors, as a bool tensor."""
    return a.logical_xor(b)


def logical_not(a: Tensor) -> Tensor:
    """Elementwise logical not, as a bool tensor."""
    return a.logical_not()

__all__ = [
    "CheckpointError",
    "DType",
    "bool",
    "cat",
    "chunk",
    "gather",
    "index_put",
    "index_select",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "masked_fill",
    "masked_select",
    "nonzero",
    "scatter",
    "scatter_add",
    "split",
    "stack",
    "where",
    "Tensor",
    "arange",
    "autograd",
    "cuda",
    "data",
    "distributed",
    "detect_anomaly",
    "enable_grad",
    "float32",
    "float64",
    "from_dlpack",
    "from_numpy",
    "inference_mode",
    "full",
    "int32",
    "int64",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "randn",
    "save",
    "set_grad_enabled",
    "tensor",
    "testing",
    "train",
    "zeros",
    "zeros_like",
    # torch-compatible creation functions and free functions (issue 18)
    "abs",
    "allclose",
    "as_tensor",
    "bmm",
    "clamp",
    "clip",
    "empty",
    "empty_like",
    "equal",
    "exp",
    "eye",
    "flatten",
    "full_like",
    "get_default_dtype",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "linspace",
    "log",
    "log_softmax",
    "logspace",
    "matmul",
    "maximum",
    "minimum",
    "mm",
    "neg",
    "permute",
    "rand_like",
    "randint",
    "randint_like",
    "randn_like",
    "relu",
    "reshape",
    "set_default_dtype",
    "sigmoid",
    "sign",
    "softmax",
    "sqrt",
    "squeeze",
    "tanh",
    "transpose",
    "unsqueeze",
]
__all__ += [  # the reductions
    "all", "amax", "amin", "any", "argmax", "argmin", "cumsum", "logsumexp", "max", "mean", "min", "norm",
    "prod", "std", "sum", "var",
]

# Half precision (issue 18): float16 / bfloat16 storage computed in float32, and autocast. Kept in one block
# at the end (not merged into the import lines above) so parallel branches merge cleanly.
from . import amp as amp  # noqa: E402
from .autocast import autocast as autocast  # noqa: E402
from .autocast import get_autocast_dtype as get_autocast_dtype  # noqa: E402
from .autocast import is_autocast_enabled as is_autocast_enabled  # noqa: E402
from .dtypes import bfloat16 as bfloat16  # noqa: E402
from .dtypes import finfo as finfo  # noqa: E402
from .dtypes import float16 as float16  # noqa: E402
from .dtypes import float16 as half  # noqa: E402

__all__ += [
    "amp", "autocast", "bfloat16", "finfo", "float16", "get_autocast_dtype", "half", "is_autocast_enabled",
]
# torch's everyday tensor API (elementwise math, comparisons, ordering, shape helpers): functions_math.py,
# ops_sort.py, shape_ops.py. One block, appended, so parallel branches merge cleanly.
from .functions_math import (  # noqa: E402
    acos,
    acosh,
    add,
    addcdiv,
    addcmul,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    ceil,
    clamp_max,
    clamp_min,
    clone,
    copysign,
    cos,
    cosh,
    deg2rad,
    div,
    divide,
    eq,
    erf,
    exp2,
    expm1,
    fix,
    flip,
    float_power,
    floor,
    floor_divide,
    fmod,
    frac,
    ge,
    greater,
    greater_equal,
    gt,
    hypot,
    le,
    lerp,
    less,
    less_equal,
    log1p,
    log2,
    log10,
    logaddexp,
    logit,
    lt,
    mul,
    multiply,
    nan_to_num,
    ne,
    negative,
    not_equal,
    numel,
    pow,
    rad2deg,
    reciprocal,
    remainder,
    roll,
    round,
    rsqrt,
    sgn,
    signbit,
    sin,
    sinh,
    square,
    sub,
    subtract,
    t,
    tan,
    tile,
    true_divide,
    trunc,
    xlogy,
)
from .ops_sort import (  # noqa: E402
    argsort,
    bincount,
    bucketize,
    count_nonzero,
    cumprod,
    kthvalue,
    median,
    mode,
    msort,
    nanmedian,
    searchsorted,
    sort,
    std_mean,
    topk,
    unique,
    var_mean,
)
from .random_ops import multinomial, normal, randperm  # noqa: E402
from .shape_ops import (  # noqa: E402
    as_strided,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cartesian_prod,
    column_stack,
    cross,
    diag,
    diag_embed,
    diagonal,
    diff,
    dot,
    dsplit,
    dstack,
    einsum,
    fliplr,
    flipud,
    hsplit,
    hstack,
    inner,
    is_tensor,
    kron,
    meshgrid,
    movedim,
    narrow,
    outer,
    rot90,
    split_with_sizes,
    tensor_split,
    tensordot,
    trace,
    tril,
    tril_indices,
    triu,
    triu_indices,
    unbind,
    vsplit,
    vstack,
)
from .shape_ops import movedim as moveaxis  # noqa: E402
from .shape_ops import outer as ger  # noqa: E402
from .shape_ops import vstack as row_stack  # noqa: E402

__all__ += [  # the torch tensor API block above
    "acos", "acosh", "add", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh",
    "asin", "asinh", "atan", "atan2", "atanh", "ceil", "clone", "copysign", "cos", "cosh", "div", "divide",
    "eq", "erf", "exp2", "expm1", "fix", "flip", "float_power", "floor", "floor_divide", "fmod", "frac",
    "ge", "greater", "greater_equal", "gt", "hypot", "le", "lerp", "less", "less_equal", "log1p", "log2",
    "log10", "logit", "lt", "mul", "multiply", "nan_to_num", "ne", "negative", "not_equal", "numel", "pow",
    "reciprocal", "remainder", "roll", "round", "rsqrt", "sgn", "signbit", "sin", "sinh", "square", "sub",
    "subtract", "t", "tan", "tile", "true_divide", "trunc", "argsort", "bincount", "bucketize",
    "count_nonzero", "cumprod", "kthvalue", "median", "mode", "msort", "nanmedian", "searchsorted", "sort",
    "std_mean", "topk", "unique", "var_mean", "as_strided", "atleast_1d", "atleast_2d", "atleast_3d",
    "block_diag", "broadcast_shapes", "broadcast_tensors", "broadcast_to", "cartesian_prod", "column_stack",
    "cross", "diag", "diag_embed", "diagonal", "diff", "dot", "dsplit", "dstack", "einsum", "fliplr",
    "flipud", "ger", "hsplit", "hstack", "inner", "is_tensor", "kron", "meshgrid", "moveaxis", "movedim",
    "multinomial", "narrow", "normal", "outer", "randperm", "rot90", "row_stack", "split_with_sizes",
    "tensor_split", "tensordot", "trace", "tril", "tril_indices", "triu", "triu_indices", "unbind",
    "vsplit", "vstack",
    "addcdiv", "addcmul", "clamp_max", "clamp_min", "deg2rad", "logaddexp", "rad2deg", "xlogy",
]

# torch.backends' flags (accepted, no effect); gradcore.utils.data (torch.utils.data's DataLoader, ...)
from . import backends, utils  # noqa: E402, F401
from . import linalg as _linalg  # noqa: E402
from .backends import get_float32_matmul_precision, set_float32_matmul_precision  # noqa: E402
from .torch_compat import (  # noqa: E402
    Generator,
    Size,
    addmm,
    cdist,
    compile,
    device,
    dist,
    get_num_threads,
    install_linalg,
    repeat_interleave,
    set_num_threads,
)

install_linalg(_linalg)  # gc.linalg.vector_norm / matrix_norm / norm
__all__ += ["Generator", "Size", "get_num_threads", "set_num_threads",
            "addmm", "cdist", "compile", "device", "dist", "repeat_interleave",
            "get_float32_matmul_precision", "set_float32_matmul_precision"]

# torch's dtype aliases (dtype=torch.long, torch.float, ...), served by the module's __getattr__ so the
# names int / float never shadow the builtins inside this module (code added below stays safe) and stay
# out of __all__ (`from gradcore import *` never shadows them either).
_DTYPE_ALIASES = {"long": int64, "int": int32, "float": float32, "double": float64}


def __getattr__(name: str):
    if name in _DTYPE_ALIASES:
        return _DTYPE_ALIASES[name]
    raise AttributeError(f"module 'gradcore' has no attribute {name!r}")
