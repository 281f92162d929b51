"""matmul/mm/bmm with torch's rules (1-d operands, broadcast batch dims, zero sizes), against torch."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcore as gc
from gradcore.testing import assert_close, broadcastable_shapes, gradcheck

SHAPES = [
    ((3,), (3,)),  # dot: 0-d result
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),  # folded into one (10, 3) @ (3, 4)
    ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 6)),  # batch dims broadcast to (5, 4)
    ((1, 2, 3), (4, 3, 5)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((2, 1, 3, 4), (1, 3, 4, 2)),
    # zero sizes: K = 0 gives zeros, empty M, N or batch give empty results
    ((2, 0), (0, 3)),
    ((0, 3), (3, 2)),
    ((2, 3), (3, 0)),
    ((0, 2, 3), (3, 4)),
    ((3, 0, 2, 3), (1, 3, 1)),
    ((4, 2, 0), (4, 0, 3)),
    ((0,), (0,)),
    ((0,), (0, 2)),
]


def _pair(shape_a, shape_b, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, shape_a).astype(dtype), rng.uniform(-1, 1, shape_b).astype(dtype)


def _check_matmul(fn_gc, fn_torch, a, b, device, tol):
    ta = torch.tensor(a.astype(np.float64), requires_grad=True)
    tb = torch.tensor(b.astype(np.float64), requires_grad=True)
    ref = fn_torch(ta, tb)
    ga = gc.tensor(a, device=device, requires_grad=True)
    gb = gc.tensor(b, device=device, requires_grad=True)
    out = fn_gc(ga, gb)
    assert out.shape == tuple(ref.shape)
    assert out.dtype is gc.tensor(a).dtype
    assert_close(out.cpu(), ref.detach().numpy(), name="forward", **tol)
    upstream = np.random.default_rng(7).uniform(-1, 1, tuple(ref.shape))
    ref.backward(torch.tensor(upstream))
    out.backward(gc.tensor(upstream.astype(a.dtype), device=device))
    assert_close(ga.grad.cpu(), ta.grad.numpy(), name="grad a", **tol)
    assert_close(gb.grad.cpu(), tb.grad.numpy(), name="grad b", **tol)


@pytest.mark.parametrize("shape_a,shape_b", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_matches_torch(shape_a, shape_b, dtype, device):
    a, b = _pair(shape_a, shape_b, dtype)
    tol = dict(atol=1e-12, rtol=1e-10) if dtype == np.float64 else dict(atol=1e-5, rtol=1e-4)
    _check_matmul(lambda x, y: x @ y, torch.matmul, a, b, device, tol)


@pytest.mark.parametrize("spelling", ["operator", "function", "method"])
def test_matmul_spellings_agree(spelling, device):
    a, b = _pair((3, 2, 4), (4, 5), np.float64)
    fn = {
        "operator": lambda x, y: x @ y,
        "function": gc.matmul,
        "method": lambda x, y: x.matmul(y),
    }[spelling]
    _check_matmul(fn, torch.matmul, a, b, device, dict(atol=1e-12, rtol=1e-10))


def test_rmatmul_with_an_array_operand():
    a, b = _pair((2, 3), (3, 4), np.float64)
    out = a @ gc.tensor(b)  # ndarray @ Tensor defers to Tensor.__rmatmul__
    assert isinstance(out, gc.Tensor)
    assert_close(out, a @ b, atol=1e-12)


def test_mm_and_bmm_match_torch(device):
    tol = dict(atol=1e-12, rtol=1e-10)
    a, b = _pair((3, 4), (4, 2), np.float64)
    _check_matmul(gc.mm, torch.mm, a, b, device, tol)
    _check_matmul(lambda x, y: x.mm(y), torch.mm, a, b, device, tol)
    a, b = _pair((5, 3, 4), (5, 4, 2), np.float64)
    _check_matmul(gc.bmm, torch.bmm, a, b, device, tol)
    _check_matmul(lambda x, y: x.bmm(y), torch.bmm, a, b, device, tol)


def test_mm_and_bmm_reject_what_torch_rejects(device):
    def t(*shape):
        return gc.ones(*shape, device=device)

    with pytest.raises(ValueError, match="mm: both operands must be 2-d"):
        gc.mm(t(2, 3, 4), t(4, 2))
    with pytest.raises(ValueError, match="mm: both operands must be 2-d"):
        t(3).mm(t(3, 2))
    with pytest.raises(ValueError, match="batch1 must be a 3-d tensor"):
        gc.bmm(t(3, 4), t(4, 2))
    with pytest.raises(ValueError, match="batch2 must be a 3-d tensor"):
        gc.bmm(t(2, 3, 4), t(4, 2))
    with pytest.raises(ValueError, match="bmm: expected batch2"):
        gc.bmm(t(2, 3, 4), t(3, 4, 2))  # no broadcasting of the batch
    with pytest.raises(ValueError, match="bmm: expected batch2"):
        gc.bmm(t(2, 3, 4), t(2, 5, 2))


def test_matmul_errors(device):
    def t(*shape):
        return gc.ones(*shape, device=device)

    with pytest.raises(ValueError, match=r"\(2, 3, 4\) and \(2, 5, 6\) are not aligned"):
        t(2, 3, 4) @ t(2, 5, 6)
    with pytest.raises(ValueError, match="not aligned"):
        t(3) @ t(4)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        t(2, 3, 4) @ t(3, 4, 5)
    with pytest.raises(ValueError, match="at least 1 dim"):
        t(3) @ t()
    with pytest.raises(TypeError, match="one dtype"):
        t(2, 2) @ gc.ones(2, 2, dtype=gc.float64, device=device)


def test_matmul_of_non_contiguous_operands(device):
    rng = np.random.default_rng(3)
    base_a = rng.uniform(-1, 1, (4, 6, 5))
    base_b = rng.uniform(-1, 1, (4, 6, 6))
    ta, tb = torch.tensor(base_a), torch.tensor(base_b)
    a = gc.tensor(base_a, device=device)
    b = gc.tensor(base_b, device=device)
    # batch dims permuted, matrices transposed and strided: read in place by the kernel
    got = a.permute(1, 2, 0) @ b.permute(1, 0, 2)[:, :, ::2]
    ref = ta.permute(1, 2, 0) @ tb.permute(1, 0, 2)[:, :, ::2]
    assert_close(got.cpu(), ref.numpy(), atol=1e-12, rtol=1e-10)
    got = a[0].mT @ b[1:3].mT.mT
    assert_close(got.cpu(), (ta[0].mT @ tb[1:3]).numpy(), atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize(
    "shape_a,shape_b",
    [
        ((256, 32, 48), (256, 48, 40)),  # many small products: threads split the batch
        ((2, 200, 300), (2, 300, 100)),  # a few medium products: one per thread
        ((2, 300, 310), (1, 310, 290)),  # large products: each split between threads; b broadcast
        ((3, 1, 130, 70), (1, 4, 70, 9)),  # edge tiles in every direction
    ],
)
def test_batched_matmul_paths_match_numpy(shape_a, shape_b):
    a, b = _pair(shape_a, shape_b, np.float32, seed=5)
    got = gc.tensor(a) @ gc.tensor(b)
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert_close(got, ref, atol=1e-4 * np.sqrt(shape_a[-1]), rtol=1e-4)


def test_k_zero_gives_zeros_and_zero_gradients(device):
    a = gc.ones(3, 2, 0, device=device, requires_grad=True)
    b = gc.ones(0, 4, device=device, requires_grad=True)
    out = a @ b
    assert out.shape == (3, 2, 4)
    assert np.array_equal(out.cpu().numpy(), np.zeros((3, 2, 4), np.float32))
    out.sum().backward()
    assert a.grad.shape == (3, 2, 0) and b.grad.shape == (0, 4)


def test_batched_matmul_double_backward():
    rng = np.random.default_rng(11)
    a = gc.tensor(rng.uniform(-1, 1, (2, 1, 3, 2)), dtype=gc.float64, requires_grad=True)
    b = gc.tensor(rng.uniform(-1, 1, (3, 2, 2)), dtype=gc.float64, requires_grad=True)
    assert gradcheck(lambda x, y: (x @ y).sigmoid(), [a, b])
    # second order: the gradient of a gradient, written in Tensor ops, against torch
    ta = torch.tensor(a.numpy(), requires_grad=True)
    tb = torch.tensor(b.numpy(), requires_grad=True)
    (tga,) = torch.autograd.grad(((ta @ tb) ** 2).sum(), ta, create_graph=True)
    tga.sum().backward()
    ((a @ b) ** 2).sum().backward(create_graph=True)
    ga = a.grad
    a.grad, b.grad = None, None
    ga.sum().backward()
    assert_close(b.grad, tb.grad.numpy(), atol=1e-12, rtol=1e-10)


def test_vector_matrix_products_return_torch_shapes(device):
    v = gc.ones(3, device=device)
    assert (v @ v).shape == ()
    assert (v @ gc.ones(3, 2, device=device)).shape == (2,)
    assert (gc.ones(2, 3, device=device) @ v).shape == (2,)
    assert (gc.ones(4, 2, 3, device=device) @ v).shape == (4, 2)
    assert (v @ gc.ones(4, 3, 2, device=device)).shape == (4, 2)


@pytest.mark.cuda
@pytest.mark.skipif(not gc.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("variant", [0, 1])
@pytest.mark.parametrize(
    "shape_a,shape_b",
    [
        ((3, 70, 33), (3, 33, 65)),
        ((2, 1, 5, 7), (1, 4, 7, 3)),
        ((70000, 2, 3), (1, 3, 2)),
        ((2, 4, 0), (2, 0, 3)),
    ],
)
def test_batched_cuda_variants_match_cpu(variant, shape_a, shape_b):
    from gradcore import _C

    a, b = _pair(shape_a, shape_b, np.float32, seed=4)
    old = _C.cuda.matmul_variant()
    _C.cuda.set_matmul_variant(variant)
    try:  # the 70000-item batch crosses the 65535 limit of gridDim.z
        got = (gc.tensor(a, device="cuda") @ gc.tensor(b, device="cuda")).cpu()
    finally:
        _C.cuda.set_matmul_variant(old)
    assert_close(got, np.matmul(a.astype(np.float64), b.astype(np.float64)), atol=1e-4, rtol=1e-4)


@settings(max_examples=60, deadline=None)
@given(
    batch=broadcastable_shapes(max_dims=3, max_side=3),
    mkn=st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)),
    drop=st.sampled_from(["none", "a", "b"]),
    seed=st.integers(0, 2**16),
)
def test_matmul_property_matches_torch(batch, mkn, drop, seed):
    # Random broadcast batch dims (0-d to 3-d, sizes 0..3) and matrix sizes 0..4, 1-d operands included.
    (m, k, n), (batch_a, batch_b) = mkn, batch
    shape_a = (k,) if drop == "a" else batch_a + (m, k)
    shape_b = (k,) if drop == "b" else batch_b + (k, n)
    a, b = _pair(shape_a, shape_b, np.float64, seed)
    tol = dict(atol=1e-12, rtol=1e-10)
    _check_matmul(lambda x, y: x @ y, torch.matmul, a, b, "cpu", tol)


@pytest.mark.parametrize("m,k", [(1, 1), (37, 5), (300, 130), (4100, 600)])
@pytest.mark.parametrize("layout", ["rows", "cols", "strided"])
def test_matrix_vector_shapes_every_layout(m, k, layout):
    # N == 1 and M == 1 skip the packed kernel: check every operand layout on both sides.
    rng = np.random.default_rng(m + k)
    base = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    mat = {"rows": base, "cols": np.asfortranarray(base), "strided": np.repeat(base, 2, axis=1)[:, ::2]}[
        layout
    ]
    v = rng.uniform(-1, 1, 2 * k).astype(np.float32)
    vec = v[::2] if layout == "strided" else v[:k]
    a, x = gc.from_numpy(mat), gc.from_numpy(vec)
    ref_mv = base.astype(np.float64) @ vec.astype(np.float64)
    tol = dict(atol=1e-5 * np.sqrt(k), rtol=1e-4)
    assert_close(a @ x, ref_mv, **tol)  # N == 1
    assert_close(a @ x.reshape(k, 1), ref_mv.reshape(m, 1), **tol)
    w = rng.uniform(-1, 1, m).astype(np.float32)
    ref_vm = w.astype(np.float64) @ base.astype(np.float64)
    assert_close(gc.tensor(w) @ a, ref_vm, **tol)  # M == 1
    assert_close(gc.tensor(w).reshape(1, m) @ a, ref_vm.reshape(1, k), **tol)
    assert_close(a.T @ gc.tensor(w), ref_vm, **tol)  # N == 1 with a transposed matrix
