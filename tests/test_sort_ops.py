"""sort / argsort / topk / kthvalue / median / mode / cumprod / counting / unique / searchsorted against
torch 2.13 CPU: values, indices (stable ties, NaN placement), dims, 0-d / empty / non-contiguous inputs,
gradients."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcore as gc
from gradcore.testing import assert_close, gradcheck, shapes

RNG = np.random.default_rng(1)
TOL = dict(atol=1e-12, rtol=1e-10)


def _same(out, ref):
    assert out.shape == tuple(ref.shape), (out.shape, tuple(ref.shape))
    assert out.dtype.name == str(ref.dtype).replace("torch.", ""), (out.dtype, ref.dtype)
    np.testing.assert_array_equal(out.cpu().numpy(), ref.detach().numpy())


def _ties(shape, dtype="float64"):
    """Small integers (many ties) in the requested dtype."""
    return RNG.integers(-3, 4, shape).astype(dtype)


@settings(max_examples=25, deadline=None)
@given(shape=shapes(min_dims=0, max_dims=3, min_side=0, max_side=5), descending=st.booleans(),
       dtype=st.sampled_from(["float64", "float32", "int32", "int64", "bool"]), data=st.data())
def test_sort_matches_torch_stable(shape, descending, dtype, data):
    x = _ties(shape, dtype) if dtype != "bool" else RNG.uniform(size=shape) < 0.5
    dim = data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    v, i = gc.sort(gc.tensor(x), dim=dim, descending=descending, stable=True)
    tv, ti = torch.sort(torch.tensor(x), dim=dim, descending=descending, stable=True)
    _same(v, tv)
    _same(i, ti)
    _same(gc.argsort(gc.tensor(x), dim=dim, descending=descending, stable=True),
          torch.argsort(torch.tensor(x), dim=dim, descending=descending, stable=True))


def test_sort_nan_placement_and_method(device):
    x = np.array([[3.0, np.nan, -1.0, np.inf, np.nan, -np.inf, 0.0, -0.0]])
    for desc in (False, True):
        v, i = gc.tensor(x, device=device).sort(descending=desc, stable=True)
        tv, ti = torch.tensor(x).sort(descending=desc, stable=True)
        _same(v, tv)
        _same(i, ti)
    res = gc.tensor(x, device=device).sort()
    assert res.values.shape == (1, 8) and res.indices.dtype is gc.int64


def test_sort_non_contiguous_and_dims(device):
    x = RNG.normal(size=(4, 5, 3))
    g = gc.tensor(x, device=device).permute(2, 0, 1)
    t = torch.tensor(x).permute(2, 0, 1)
    for dim in (0, 1, 2, -1):
        v, i = g.sort(dim=dim)
        tv, ti = t.sort(dim=dim)
        _same(v, tv)
        _same(i, ti)


def test_sort_gradient(device):
    x = gc.tensor(RNG.normal(size=(3, 4)), device=device, requires_grad=True)
    assert gradcheck(lambda t: t.sort(dim=0, descending=True).values * gc.arange(4.0, device=device), [x])
    t = torch.tensor(x.detach().cpu().numpy(), requires_grad=True)
    x.grad = None
    (gc.sort(x, 1).values ** 2 * gc.arange(4.0, device=device)).sum().backward()
    (torch.sort(t, 1).values ** 2 * torch.arange(4.0)).sum().backward()
    assert_close(x.grad.cpu(), t.grad.numpy(), **TOL)
    # double backward goes through gather/scatter
    y = gc.tensor(RNG.normal(size=(5,)), device=device, requires_grad=True)
    assert gradcheck(lambda t: gc.autograd.grad((t.sort().values ** 3).sum(), [t], create_graph=True)[0], [y])


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k", [0, 1, 3, 6])
def test_topk(k, largest, device):
    x = RNG.permutation(24).reshape(4, 6).astype(np.float64)  # distinct values: indices are unique
    for dim in (1, 0, -1):
        if k > x.shape[dim]:
            with pytest.raises(IndexError, match="out of range"):
                gc.topk(gc.tensor(x, device=device), k, dim=dim)
            continue
        v, i = gc.tensor(x, device=device).topk(k, dim=dim, largest=largest)
        tv, ti = torch.tensor(x).topk(k, dim=dim, largest=largest)
        _same(v, tv)
        _same(i, ti)
    g = gc.tensor(x, device=device, requires_grad=True)
    gc.topk(g, min(k, 4), dim=0, largest=largest).values.sum().backward()
    t = torch.tensor(x, requires_grad=True)
    torch.topk(t, min(k, 4), dim=0, largest=largest).values.sum().backward()
    assert_close(g.grad.cpu(), t.grad.numpy(), **TOL)


def test_topk_nan_and_ints(device):
    x = np.array([1.0, np.nan, 5.0, -2.0])
    _same(gc.tensor(x, device=device).topk(2).values, torch.tensor(x).topk(2).values)
    ints = np.array([[4, 9, 1, 7]], dtype=np.int32)
    _same(gc.tensor(ints, device=device).topk(3, largest=False).values,
          torch.tensor(ints).topk(3, largest=False).values)


@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue(keepdim, device):
    x = RNG.permutation(30).reshape(5, 6).astype(np.float64)
    for k, dim in ((1, 1), (3, 0), (6, -1)):
        v, i = gc.kthvalue(gc.tensor(x, device=device), k, dim, keepdim)
        tv, ti = torch.kthvalue(torch.tensor(x), k, dim, keepdim)
        _same(v, tv)
        _same(i, ti)
    with pytest.raises(IndexError, match="out of range"):
        gc.tensor(x).kthvalue(7, 1)
    g = gc.tensor(x, device=device, requires_grad=True)
    assert gradcheck(lambda t: t.kthvalue(2, 0).values, [g])


@pytest.mark.parametrize("n", [1, 4, 5])
def test_median(n, device):
    x = RNG.permutation(3 * n).reshape(3, n).astype(np.float64)
    _same(gc.median(gc.tensor(x, device=device)), torch.median(torch.tensor(x)))
    for keepdim in (False, True):
        v, i = gc.tensor(x, device=device).median(dim=1, keepdim=keepdim)
        tv, ti = torch.tensor(x).median(dim=1, keepdim=keepdim)
        _same(v, tv)
        _same(i, ti)
    ints = np.array([[3, 1, 2, 2]])
    _same(gc.median(gc.tensor(ints, device=device)), torch.median(torch.tensor(ints)))
    g = gc.tensor(x, device=device, requires_grad=True)
    assert gradcheck(lambda t: t.median(dim=0).values, [g])


def test_median_nan(device):
    x = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 0.0, 5.0, 4.0]])
    g, t = gc.tensor(x, device=device), torch.tensor(x)
    _same(g.median(), t.median())
    v, i = g.median(dim=1)
    tv, ti = t.median(dim=1)
    _same(v, tv)
    _same(i, ti)
    _same(g.nanmedian(dim=1).values, t.nanmedian(dim=1).values)
    _same(gc.nanmedian(g), torch.nanmedian(t))


def test_mode(device):
    x = np.array([[1, 2, 2, 3, 3], [5, 5, 4, 4, 1], [7, 7, 7, 0, 0]], dtype=np.int64)
    v, i = gc.mode(gc.tensor(x, device=device), 1)
    tv, ti = torch.mode(torch.tensor(x), 1)
    _same(v, tv)
    _same(i, ti)
    f = x.astype(np.float64)
    g, t = gc.tensor(f, device=device, requires_grad=True), torch.tensor(f, requires_grad=True)
    (gc.mode(g, 1, keepdim=True).values * 2.0).sum().backward()
    (torch.mode(t, 1, keepdim=True).values * 2.0).sum().backward()
    assert_close(g.grad.cpu(), t.grad.numpy(), **TOL)


@settings(max_examples=20, deadline=None)
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), data=st.data())
def test_mode_random(shape, data):
    x = RNG.integers(0, 3, shape)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    for keepdim in (False, True):
        v, i = gc.mode(gc.tensor(x), dim, keepdim)
        tv, ti = torch.mode(torch.tensor(x), dim, keepdim)
        _same(v, tv)
        _same(i, ti)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int64", "bool"])
def test_cumprod_forward(dtype, device):
    x = RNG.integers(-2, 3, (3, 4)).astype(dtype) if dtype != "bool" else RNG.uniform(size=(3, 4)) < 0.7
    for dim in (0, 1, -1):
        out, ref = gc.cumprod(gc.tensor(x, device=device), dim), torch.cumprod(torch.tensor(x), dim)
        _same(out, ref)
    _same(gc.tensor(x, device=device).cumprod(0), torch.tensor(x).cumprod(0))
    _same(gc.cumprod(gc.tensor(np.zeros((2, 0)), device=device), 1),
          torch.cumprod(torch.zeros(2, 0, dtype=torch.float64), 1))
    _same(gc.cumprod(gc.tensor(3.0, device=device), 0), torch.cumprod(torch.tensor(3.0), 0))


@pytest.mark.parametrize("zeros", [0, 1, 2])
def test_cumprod_backward(zeros, device):
    x = RNG.uniform(0.5, 1.5, (3, 5)) * np.where(RNG.uniform(size=(3, 5)) < 0.5, -1, 1)
    for z in range(zeros):
        x[z, 1 + z] = 0.0
        x[2, 2 * z] = 0.0
    g = gc.tensor(x, device=device, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    up = RNG.uniform(-1, 1, (3, 5))
    gc.cumprod(g, 1).backward(gc.tensor(up, device=device))
    torch.cumprod(t, 1).backward(torch.tensor(up))
    assert_close(g.grad.cpu(), t.grad.numpy(), **TOL)
    assert gradcheck(lambda s: s.cumprod(0), [gc.tensor(x, device=device, requires_grad=True)])


def test_count_nonzero_var_mean_std_mean(device):
    x = RNG.integers(-1, 2, (3, 4)).astype(np.float64)
    _same(gc.count_nonzero(gc.tensor(x, device=device)), torch.count_nonzero(torch.tensor(x)))
    _same(gc.tensor(x, device=device).count_nonzero(dim=1), torch.tensor(x).count_nonzero(dim=1))
    g, t = gc.tensor(x, device=device), torch.tensor(x)
    for fn in ("var_mean", "std_mean"):
        for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True, "correction": 0}):
            a, b = getattr(gc, fn)(g, **kw)
            ta, tb = getattr(torch, fn)(t, **kw)
            assert_close(a.cpu(), ta.numpy(), **TOL)
            assert_close(b.cpu(), tb.numpy(), **TOL)


def test_unique(device):
    x = np.array([[3, 1, 2], [1, 3, 3]])
    g, t = gc.tensor(x, device=device), torch.tensor(x)
    _same(gc.unique(g), torch.unique(t))
    u, inv, cnt = g.unique(return_inverse=True, return_counts=True)
    tu, tinv, tcnt = t.unique(return_inverse=True, return_counts=True)
    _same(u, tu)
    _same(inv, tinv)
    _same(cnt, tcnt)
    u, inv = gc.unique(g, return_inverse=True, dim=1)
    tu, tinv = torch.unique(t, return_inverse=True, dim=1)
    _same(u, tu)
    _same(inv, tinv)
    assert u.device == device


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_bucketize(right, device):
    seq = np.array([1.0, 2.0, 2.0, 4.0, 8.0])
    vals = np.array([[0.0, 2.0, 3.0], [8.0, 9.0, 4.0]])
    _same(gc.searchsorted(gc.tensor(seq, device=device), gc.tensor(vals, device=device), right=right),
          torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right))
    _same(gc.bucketize(gc.tensor(vals, device=device), gc.tensor(seq, device=device), right=right),
          torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=right))
    seq2 = np.sort(RNG.normal(size=(2, 6)), axis=1)
    v2 = RNG.normal(size=(2, 3))
    _same(gc.searchsorted(gc.tensor(seq2, device=device), gc.tensor(v2, device=device), right=right),
          torch.searchsorted(torch.tensor(seq2), torch.tensor(v2), right=right))
    _same(gc.searchsorted(gc.tensor(seq, device=device), 2.0, side="right" if right else "left"),
          torch.searchsorted(torch.tensor(seq), torch.tensor(2.0, dtype=torch.float64), right=right))


def test_searchsorted_large_takes_the_host_path(device, monkeypatch):
    from gradcore import ops_sort

    monkeypatch.setattr(ops_sort, "_BROADCAST_LIMIT", 4)
    seq = np.array([1.0, 2.0, 2.0, 4.0])
    vals = np.array([[0.0, 2.0], [3.0, 9.0]])
    for right in (False, True):
        _same(gc.searchsorted(gc.tensor(seq, device=device), gc.tensor(vals, device=device), right=right),
              torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right))
    _same(gc.bucketize(gc.tensor([1, 3], device=device), gc.tensor(seq, device=device), out_int32=True),
          torch.bucketize(torch.tensor([1, 3]), torch.tensor(seq), out_int32=True))


def test_bincount(device):
    x = np.array([0, 1, 1, 3, 1])
    _same(gc.bincount(gc.tensor(x, device=device)), torch.bincount(torch.tensor(x)))
    _same(gc.tensor(x, device=device).bincount(minlength=7), torch.tensor(x).bincount(minlength=7))
    w = RNG.uniform(size=5)
    assert_close(gc.bincount(gc.tensor(x, device=device), gc.tensor(w, device=device)).cpu(),
                 torch.bincount(torch.tensor(x), torch.tensor(w)).numpy(), **TOL)
    with pytest.raises(ValueError, match="non-negative"):
        gc.bincount(gc.tensor([1, -1]))
    with pytest.raises(ValueError, match="1-d"):
        gc.bincount(gc.tensor([1.0]))


def test_bad_input_raises():
    with pytest.raises(IndexError):
        gc.sort(gc.ones(2, 3), dim=2)
    with pytest.raises(TypeError, match="Tensor"):
        gc.sort([1, 2])
    with pytest.raises(IndexError):
        gc.median(gc.ones(2, 0), dim=1)
    with pytest.raises(TypeError, match="k must be an int"):
        gc.topk(gc.ones(3), 1.5)


def test_zero_d_and_empty(device):
    v, i = gc.sort(gc.tensor(2.5, device=device))
    assert v.shape == () and i.item() == 0 and v.item() == 2.5
    v, i = gc.topk(gc.tensor(2.5, device=device), 1)
    tv, ti = torch.topk(torch.tensor(2.5), 1)
    assert v.shape == tuple(tv.shape) and i.shape == tuple(ti.shape)
    e = gc.zeros(0, 3, device=device)
    v, i = e.sort(dim=0)
    assert v.shape == (0, 3) and i.shape == (0, 3)
    v, i = e.sort(dim=1)
    assert v.shape == (0, 3)
    assert gc.median(gc.zeros(0)).item() != gc.median(gc.zeros(0)).item()  # NaN, as torch


def test_long_rows(device):
    """Rows past the CUDA twin's rank-sort limit (4096) take its merge path; values tie a lot."""
    x = RNG.integers(-50, 50, (2, 5000)).astype(np.float32)
    x[0, ::97] = np.nan
    for desc in (False, True):
        v, i = gc.tensor(x, device=device).sort(dim=1, descending=desc, stable=True)
        tv, ti = torch.tensor(x).sort(dim=1, descending=desc, stable=True)
        _same(v, tv)
        _same(i, ti)
    v, i = gc.tensor(x, device=device).topk(7, dim=1)
    tv, ti = torch.tensor(x).topk(7, dim=1)
    _same(v, tv)
