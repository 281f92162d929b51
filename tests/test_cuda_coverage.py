"""Every branch of the CUDA kernels, compared with the CPU twin or NumPy: dtypes through every
elementwise op, casts, misaligned and grid-stride paths, empty tensors, reduction paths, matmul edge
cases, softmax-CE block sizes and bad targets, multi-tensor optimizers, the allocator's retry path.
On the emulated device these check the Python device layer; on a GPU, the kernels themselves."""

import numpy as np
import pytest

import gradcore as gc
from gradcore import backend
from gradcore.testing import assert_close

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not gc.cuda.is_available(),
        reason="no CUDA device on this machine (GRADCORE_EMULATE_CUDA=1 emulates one)",
    ),
]
# More elements than one launch of grid_for covers (132 SMs x 32 blocks x 256 threads on an H100),
# so every grid-stride loop runs more than one iteration.
GRID_STRIDE_N = 3 * 132 * 32 * 256 + 7
INT_DTYPES = [np.int32, np.int64]
ALL_DTYPES = [np.float32, np.float64, np.int32, np.int64]


def run(name, *arrays, out_shape=None, out_dtype=None, device="cuda", views=None):
    """Runs the kernel ``name`` on ``device`` with inputs uploaded from ``arrays`` (optionally turned
    into device views by ``views``) and a fresh output; returns the output on the host."""
    be = backend.get(device)
    ins = [be.from_numpy(np.asarray(a)) for a in arrays]
    if views is not None:
        ins = [v(x) if v else x for v, x in zip(views, ins)]
    shape = np.asarray(arrays[0]).shape if out_shape is None else out_shape
    out = be.empty(tuple(shape), np.dtype(out_dtype or np.asarray(arrays[0]).dtype))
    backend.kernel(device, name)(*ins, out)
    return be.to_numpy(out)


def both(name, *arrays, **kw):
    """The kernel's result on cuda and on the cpu, which must agree exactly for integer dtypes."""
    return run(name, *arrays, **kw), run(name, *arrays, device="cpu", **kw)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("op", ["eq", "ne", "gt", "ge", "lt", "le"])
def test_every_comparison(op, dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(-3, 4, 257).astype(dtype)
    b = rng.integers(-3, 4, 257).astype(dtype)
    got, _ = both(f"binary_{op}", a, b)
    expected = getattr(
        np,
        {
            "ge": "greater_equal",
            "le": "less_equal",
            "gt": "greater",
            "lt": "less",
            "eq": "equal",
            "ne": "not_equal",
        }[op],
    )(a, b)
    assert (got == expected.astype(dtype)).all()
    # and the public operators agree on the device
    ta, tb = gc.tensor(a, device="cuda"), gc.tensor(b, device="cuda")
    public = {"eq": ta == tb, "ne": ta != tb, "gt": ta > tb, "ge": ta >= tb, "lt": ta < tb, "le": ta <= tb}[
        op
    ]
    assert (public.cpu().numpy().astype(bool) == expected).all()


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("op", ["neg", "relu", "abs", "sign", "copy"])  # the rest are float-only
def test_integer_unary_ops(op, dtype):
    x = np.array([-7, -1, 0, 1, 4, 9, 16, 2**20], dtype=dtype)
    got, cpu = both(f"unary_{op}", x)
    assert got.dtype == dtype and (got == cpu).all()
    ref = {"neg": -x, "relu": np.maximum(x, 0), "abs": np.abs(x), "sign": np.sign(x), "copy": x}[op]
    assert (got == ref).all()


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum", "relu_grad"])
def test_integer_binary_ops(op, dtype):
    rng = np.random.default_rng(1)
    a = rng.integers(-50, 50, 300).astype(dtype)
    b = rng.integers(1, 6, 300).astype(dtype) * rng.choice([-1, 1], 300).astype(dtype)
    got, cpu = both(f"binary_{op}", a, b)
    assert got.dtype == dtype and (got == cpu).all()
    refs = {
        "add": lambda: a + b,
        "sub": lambda: a - b,
        "mul": lambda: a * b,
        "div": lambda: np.trunc(a / b).astype(dtype),  # C's integer division truncates toward zero
        "maximum": lambda: np.maximum(a, b),
        "minimum": lambda: np.minimum(a, b),
        "relu_grad": lambda: np.where(b > 0, a, 0),
    }
    ref = refs[op]()
    assert (got == ref).all()


@pytest.mark.parametrize(
    "op", ["unary_exp", "unary_log", "unary_sigmoid", "unary_tanh", "unary_sqrt", "binary_pow"]
)
def test_float_only_kernels_reject_integers_on_both_devices(op):
    x = np.arange(4, dtype=np.int32)
    for device in ("cuda", "cpu"):
        with pytest.raises(ValueError, match="needs float tensors, got int32"):
            run(op, *([x] * (2 if op.startswith("binary") else 1)), device=device)


@pytest.mark.parametrize("src", [np.float32, np.float64])
@pytest.mark.parametrize("dst", INT_DTYPES)
def test_float_to_int_casts_truncate_toward_zero(src, dst):
    x = np.array([-2.9, -1.5, -0.5, -0.0, 0.4, 1.5, 2.9, 1e6 + 0.5], dtype=src)
    got, cpu = both("cast", x, out_dtype=dst)
    assert (got == x.astype(dst)).all() and (got == cpu).all()
    assert gc.tensor(x, device="cuda").to(gc.int64).cpu().tolist() == x.astype(np.int64).tolist()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_misaligned_contiguous_operands(dtype):
    # A view starting one element into a block is contiguous but not 16-byte aligned: the vectorized
    # path must not be taken for it.
    base = np.arange(1, 1030, dtype=dtype)
    t = gc.tensor(base, device="cuda")
    a, b = t[1:], t[:-1]
    assert_close((a + b).cpu(), base[1:] + base[:-1], atol=0, rtol=0)
    assert_close((a * 2).cpu(), base[1:] * 2, atol=0, rtol=0)
    assert_close(a.abs().cpu(), base[1:], atol=0, rtol=0)
    if np.dtype(dtype).kind == "f":
        assert_close((a / 1000).exp().cpu(), np.exp(base[1:].astype(np.float64) / 1000), rtol=1e-5, atol=0)


def test_grid_stride_loops_run_more_than_one_iteration():
    x = np.random.default_rng(2).normal(size=GRID_STRIDE_N).astype(np.float32)
    t = gc.tensor(x, device="cuda")
    assert_close((t + t).cpu(), 2 * x.astype(np.float64), atol=0, rtol=0)  # contiguous, vectorized
    assert_close(t.relu().cpu(), np.maximum(x, 0), atol=0, rtol=0)
    m = t[: (GRID_STRIDE_N // 7) * 7].reshape(7, -1)
    assert_close((m.T * 3).cpu(), m.cpu().numpy().T * 3, atol=0, rtol=0)  # strided path
    assert_close((m + m[:1]).cpu(), m.cpu().numpy() + m.cpu().numpy()[:1], atol=0, rtol=0)  # broadcast
    assert_close(t.sum().cpu(), x.astype(np.float64).sum(), atol=0, rtol=1e-4)
    assert_close(m.amax(axis=0).cpu(), m.cpu().numpy().max(axis=0), atol=0, rtol=0)  # many outputs
    assert t.to(gc.int32).cpu().numpy().tolist() == x.astype(np.int32).tolist()


def test_empty_tensors():
    e = gc.zeros(0, 3, device="cuda")
    assert (e + 1).shape == (0, 3) and e.exp().cpu().shape == (0, 3)
    assert e.sum(axis=0).cpu().tolist() == [0.0, 0.0, 0.0]  # the fill-identity path
    assert e.sum(axis=1).cpu().shape == (0,)
    assert (e.T @ e).cpu().tolist() == [[0.0] * 3] * 3  # K = 0
    assert (e @ gc.zeros(3, 2, device="cuda")).shape == (0, 2)
    assert e.to(gc.int32).cpu().shape == (0, 3)
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        e.max()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,axis", [((3, 5000), 1), ((5000, 3), 0), ((40, 33), 1), ((2, 3, 4), (0, 2))])
def test_reduction_paths(shape, axis, dtype):
    # n_red >= 4096 takes a block per output, shorter reductions a warp per output.
    rng = np.random.default_rng(3)
    x = rng.integers(-20, 20, shape).astype(dtype)
    t = gc.tensor(x, device="cuda")
    assert_close(t.sum(axis=axis).cpu(), x.sum(axis=axis), atol=0, rtol=1e-6)
    assert (t.amax(axis=axis).cpu().numpy() == x.max(axis=axis)).all()
    assert t.sum().cpu().item() == x.sum()


@pytest.mark.parametrize("cols", [1, 31, 33, 1000, 5000])
def test_argmax_rows_with_ties(cols):
    x = np.random.default_rng(4).integers(0, 5, (6, cols)).astype(np.float32)  # many ties: lowest wins
    assert gc.tensor(x, device="cuda").argmax(-1).cpu().tolist() == x.argmax(-1).tolist()
    assert gc.tensor(x.T.copy(), device="cuda").argmax(0).cpu().tolist() == x.argmax(-1).tolist()


def test_non_contiguous_and_expanded_reduction_inputs():
    x = np.random.default_rng(5).normal(size=(64, 48))
    t = gc.tensor(x, device="cuda")
    assert_close(t.T.sum(axis=1).cpu(), x.T.sum(axis=1))
    assert_close(t[::2, 1::3].amax(axis=0).cpu(), x[::2, 1::3].max(axis=0), atol=0, rtol=0)
    row = gc.tensor(x[:1], device="cuda").expand(5000, 48)  # stride 0 along the reduced axis
    assert_close(row.sum(axis=0).cpu(), 5000 * x[0], rtol=1e-12)
    assert_close(row.amax(axis=0).cpu(), x[0], atol=0, rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(5, 0, 3), (17, 33, 9), (64, 130, 70)])
def test_matmul_k_zero_and_float64(m, k, n, dtype):
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
    got = (gc.tensor(a, device="cuda") @ gc.tensor(b, device="cuda")).cpu()
    assert got.dtype is gc.tensor(a).dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert_close(got, a.astype(np.float64) @ b, atol=tol * np.sqrt(max(k, 1)), rtol=tol * 10)


def test_matmul_with_more_rows_than_a_grid_dimension_allows():
    # Row tiles once went on gridDim.y (at most 65535 blocks): M above ~1M rows failed to launch.
    m = (1 << 20) + 37
    a = np.random.default_rng(9).normal(size=(m, 2)).astype(np.float32)
    b = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], np.float32)
    got = (gc.tensor(a, device="cuda") @ gc.tensor(b, device="cuda")).cpu().numpy()
    assert_close(got, a.astype(np.float64) @ b, atol=1e-5, rtol=1e-5)


def _ce_reference(x, t):
    x = x.astype(np.float64)
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(t)
    grad = np.exp(logp)
    grad[np.arange(n), t] -= 1
    return -logp[np.arange(n), t].mean(), grad / n


@pytest.mark.parametrize("classes", [10, 300, 1500])  # the 64-, 256- and 512-thread block sizes
@pytest.mark.parametrize("tdtype", [np.int64, np.int32])
def test_softmax_ce_block_sizes_and_int32_targets(classes, tdtype):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(33, classes)).astype(np.float32)
    t = rng.integers(0, classes, 33).astype(tdtype)
    logits = gc.tensor(x, device="cuda", requires_grad=True)
    loss = gc.nn.functional.cross_entropy(logits, gc.tensor(t, device="cuda"))
    loss.backward()
    ref_loss, ref_grad = _ce_reference(x, t)
    assert_close(loss.cpu(), ref_loss, atol=1e-5, rtol=1e-5)
    assert_close(logits.grad.cpu(), ref_grad, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("classes", [10, 300, 1500])
@pytest.mark.parametrize("bad", [-1, "C"])
def test_softmax_ce_bad_targets_at_every_block_size(classes, bad):
    bad = classes if bad == "C" else bad
    t = np.zeros(70, np.int64)
    t[41] = bad
    with pytest.raises(IndexError, match=f"target {bad} at row 41"):
        gc.nn.functional.cross_entropy(gc.zeros(70, classes, device="cuda"), gc.tensor(t, device="cuda"))
        gc.cuda.synchronize()
    gc.cuda.synchronize()  # reported once, then cleared


def _params(shapes, dtypes, device):
    rng = np.random.default_rng(8)
    ps = [
        gc.tensor(rng.normal(size=s).astype(d), device=device, requires_grad=True)
        for s, d in zip(shapes, dtypes)
    ]
    for p in ps:
        p.grad = gc.tensor(rng.normal(size=p.shape).astype(p.dtype.np), device=device)
    return ps


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: gc.optim.Adam(ps, lr=1e-2),
        lambda ps: gc.optim.Adam(ps, lr=1e-2, weight_decay=0.1),
        lambda ps: gc.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
        lambda ps: gc.optim.SGD(ps, lr=1e-2),
        lambda ps: gc.optim.SGD(ps, lr=1e-2, momentum=0.9, weight_decay=0.01),
    ],
    ids=["adam", "adam-wd", "adamw", "sgd", "sgd-momentum-wd"],
)
@pytest.mark.parametrize("dtypes", ["float32", "mixed"])
def test_optimizers_over_many_tensors_and_mixed_dtypes(make, dtypes):
    # 53 tensors: more than one launch's table of 48; sizes straddle the 4096-element chunks.
    shapes = [(i % 7 + 1, 4096 // (i + 1) + 1) for i in range(53)]
    kinds = [np.float32 if dtypes == "float32" or i % 3 else np.float64 for i in range(53)]
    results = []
    for device in ("cpu", "cuda"):
        ps = _params(shapes, kinds, device)
        opt = make(ps)
        for _ in range(3):
            opt.step()
        results.append([p.detach().cpu().numpy() for p in ps])
    for i, (c, g) in enumerate(zip(*results)):
        tol = 1e-12 if c.dtype == np.float64 else 1e-6
        assert_close(g, c, atol=tol, rtol=tol * 10, name=f"param {i}")


def test_allocator_retries_after_emptying_its_cache():
    native = gc.cuda.native()
    emulated = getattr(native, "EMULATED", False)
    chunk = (4 << 20) if emulated else (1 << 30)  # a 16-chunk emulated device; 1 GiB chunks on a GPU
    saved_capacity = native.capacity() if emulated else None
    if emulated:
        native.set_capacity(native.memory_stats()["allocated_bytes"] + 16 * chunk)
    f32 = np.dtype(np.float32)
    try:
        held = []
        with pytest.raises(MemoryError, match="out of memory"):
            for _ in range(4096):  # fill the device (uninitialised blocks: no memset to wait for)
                held.append(native.Array.empty([chunk // 4], f32))
        assert len(held) >= 2
        del held  # every block goes to the cache, which now holds nearly all device memory
        frees = native.memory_stats()["num_frees"]
        big = native.Array.zeros([int(chunk * 2.5) // 4], f32)  # larger than twice any cached block
        assert native.memory_stats()["num_frees"] > frees  # the cache was given back, then it fit
        assert big.as_strided([3], [1], 0).numpy().tolist() == [0.0, 0.0, 0.0]
        del big
    finally:
        if emulated:
            native.set_capacity(saved_capacity)
        native.empty_cache()
