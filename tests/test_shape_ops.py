"""Shape and small linear-algebra helpers (tril ... diff, einsum, tensordot, strides, random helpers) against
torch 2.13 CPU: values, shapes, dtypes, 0-d / empty / non-contiguous inputs, views, gradients."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcore as gc
from gradcore.testing import assert_close, gradcheck

RNG = np.random.default_rng(2)
TOL = dict(atol=1e-12, rtol=1e-10)


def _same(out, ref, **tol):
    assert out.shape == tuple(ref.shape), (out.shape, tuple(ref.shape))
    assert out.dtype.name == str(ref.dtype).replace("torch.", ""), (out.dtype, ref.dtype)
    assert_close(out.cpu().numpy().astype(np.float64), ref.detach().numpy().astype(np.float64),
                 **(tol or TOL))


def _fwd_bwd(fn_gc, fn_torch, arrays, device):
    gins = [gc.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
    tins = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out, ref = fn_gc(*gins), fn_torch(*tins)
    _same(out, ref)
    if ref.requires_grad and ref.numel():
        up = RNG.uniform(-1, 1, tuple(ref.shape))
        ref.backward(torch.tensor(up, dtype=ref.dtype))
        out.backward(gc.tensor(up, dtype=out.dtype, device=device))
        for g, t in zip(gins, tins):
            if t.requires_grad:
                assert_close(g.grad.cpu(), t.grad.numpy(), **TOL)
    return out


@pytest.mark.parametrize("diagonal", [-2, -1, 0, 1, 3])
@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3), (0, 3), (3, 0)])
def test_tril_triu(diagonal, shape, device):
    x = RNG.normal(size=shape)
    _fwd_bwd(lambda t: gc.tril(t, diagonal), lambda t: torch.tril(t, diagonal), [x], device)
    _fwd_bwd(lambda t: t.triu(diagonal=diagonal), lambda t: t.triu(diagonal=diagonal), [x], device)
    ints = RNG.integers(0, 9, shape)
    _same(gc.tensor(ints, device=device).tril(diagonal), torch.tensor(ints).tril(diagonal))


def test_tril_with_nan_and_errors(device):
    x = np.array([[np.nan, np.inf], [1.0, 2.0]])
    _same(gc.tril(gc.tensor(x, device=device)), torch.tril(torch.tensor(x)))
    with pytest.raises(ValueError, match="2 dimensions"):
        gc.tril(gc.ones(3))


@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 2, 5])
def test_diagonal_is_a_view(offset, device):
    x = RNG.normal(size=(3, 4, 5))
    for d1, d2 in ((0, 1), (1, 2), (2, 0), (-1, -2)):
        _fwd_bwd(lambda t, a=d1, b=d2: t.diagonal(offset, a, b) * 1.0,
                 lambda t, a=d1, b=d2: t.diagonal(offset, a, b) * 1.0, [x], device)
    g = gc.tensor(x, device=device)
    d = g.diagonal(offset, 1, 2)
    td = torch.tensor(x).diagonal(offset, 1, 2)
    assert d.stride() == td.stride() and d.storage_offset() == td.storage_offset()
    if d.numel():
        d.fill_(7.0)  # writes through to the base, as a view
        assert (g.diagonal(offset, 1, 2) == 7.0).all().item()
    # a non-contiguous input (transposed)
    gt = gc.tensor(x, device=device).transpose(0, 2)
    _same(gt.diagonal(offset), torch.tensor(x).transpose(0, 2).diagonal(offset))
    _same(gc.diagonal(gt, offset, 0, 1), torch.diagonal(torch.tensor(x).transpose(0, 2), offset, 0, 1))


def test_diagonal_double_backward(device):
    x = gc.tensor(RNG.normal(size=(3, 3)), device=device, requires_grad=True)
    assert gradcheck(lambda t: t.diagonal(1) ** 2, [x])
    assert gradcheck(lambda t: gc.autograd.grad((t.diagonal() ** 3).sum(), [t], create_graph=True)[0], [x])


@pytest.mark.parametrize("k", [-2, 0, 1])
def test_diag_trace_diag_embed(k, device):
    v = RNG.normal(size=(3,))
    m = RNG.normal(size=(3, 4))
    _fwd_bwd(lambda t: gc.diag(t, k), lambda t: torch.diag(t, k), [v], device)
    _fwd_bwd(lambda t: t.diag(k), lambda t: t.diag(k), [m], device)
    _fwd_bwd(lambda t: gc.trace(t), lambda t: torch.trace(t), [m], device)
    _fwd_bwd(lambda t: gc.diag_embed(t, k), lambda t: torch.diag_embed(t, k), [RNG.normal(size=(2, 3))],
             device)
    _same(gc.trace(gc.tensor([[1, 2], [3, 4]], device=device)), torch.trace(torch.tensor([[1, 2], [3, 4]])))


def test_tril_triu_indices():
    for args in ((3, 3), (4, 2, 1), (3, 5, -1), (0, 3)):
        _same(gc.tril_indices(*args), torch.tril_indices(*args))
        _same(gc.triu_indices(*args), torch.triu_indices(*args))


def test_products(device):
    a, b = RNG.normal(size=(3,)), RNG.normal(size=(4,))
    _fwd_bwd(gc.outer, torch.outer, [a, b], device)
    _fwd_bwd(gc.dot, torch.dot, [a, a * 2], device)
    _fwd_bwd(gc.inner, torch.inner, [RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3))], device)
    _fwd_bwd(lambda p, q: gc.cross(p, q, dim=1), lambda p, q: torch.cross(p, q, dim=1),
             [RNG.normal(size=(2, 3)), RNG.normal(size=(1, 3))], device)
    _fwd_bwd(lambda p, q: p.cross(q, dim=0), lambda p, q: p.cross(q, dim=0),
             [RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))], device)
    _fwd_bwd(gc.kron, torch.kron, [RNG.normal(size=(2, 3)), RNG.normal(size=(3, 2))], device)
    _fwd_bwd(gc.kron, torch.kron, [RNG.normal(size=(2,)), RNG.normal(size=(2, 2))], device)
    with pytest.raises(TypeError, match="same dtype"):
        gc.dot(gc.ones(2), gc.ones(2, dtype=gc.float64))
    with pytest.raises(ValueError, match="1D"):
        gc.dot(gc.ones(2, 2), gc.ones(2))
    with pytest.raises(ValueError, match="length 3"):
        gc.cross(gc.ones(2, 4), gc.ones(2, 4), dim=1)


@pytest.mark.parametrize("dims", [2, 0, ([1, 0], [0, 1]), ([2], [0])])
def test_tensordot(dims, device):
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(3, 4, 5) if dims != ([2], [0]) else (4, 5))
    if dims == ([1, 0], [0, 1]):
        b = RNG.normal(size=(3, 2, 5))
    _fwd_bwd(lambda p, q: gc.tensordot(p, q, dims=dims), lambda p, q: torch.tensordot(p, q, dims=dims),
             [a, b], device)
    with pytest.raises(ValueError, match="contracted dimensions"):
        gc.tensordot(gc.ones(2, 3), gc.ones(2, 3), dims=1)


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iji->j", [(3, 2, 3)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ijk,ikl,j->il", [(2, 3, 4), (2, 4, 5), (3,)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("ab,ab->", [(0, 3), (0, 3)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
def test_einsum(eq, shapes, device):
    arrays = [RNG.normal(size=s) for s in shapes]
    _fwd_bwd(lambda *t: gc.einsum(eq, *t), lambda *t: torch.einsum(eq, *t), arrays, device)


def test_einsum_list_operands_and_errors():
    a = RNG.normal(size=(2, 3))
    _same(gc.einsum("ij->j", [gc.tensor(a)]), torch.einsum("ij->j", [torch.tensor(a)]))
    with pytest.raises(ValueError):
        gc.einsum("ij,jk->ik", gc.ones(2, 3))
    with pytest.raises(ValueError):
        gc.einsum("ij->ik", gc.ones(2, 3))
    with pytest.raises(ValueError):
        gc.einsum("ijk->i", gc.ones(2, 3))


@pytest.mark.parametrize("src,dst", [(0, 2), (-1, 0), ((0, 1), (2, 0)), ([2], [1])])
def test_movedim(src, dst, device):
    x = RNG.normal(size=(2, 3, 4))
    _fwd_bwd(lambda t: gc.movedim(t, src, dst), lambda t: torch.movedim(t, src, dst), [x], device)
    _same(gc.tensor(x).moveaxis(src, dst), torch.tensor(x).moveaxis(src, dst))


def test_narrow_unbind_splits(device):
    x = RNG.normal(size=(5, 6))
    _fwd_bwd(lambda t: t.narrow(1, 2, 3), lambda t: t.narrow(1, 2, 3), [x], device)
    _fwd_bwd(lambda t: gc.narrow(t, 0, -2, 2), lambda t: torch.narrow(t, 0, -2, 2), [x], device)
    with pytest.raises(ValueError, match="exceeds"):
        gc.narrow(gc.tensor(x), 0, 4, 3)
    g, t = gc.tensor(x, device=device), torch.tensor(x)
    for a, b in zip(g.unbind(1), t.unbind(1)):
        _same(a, b)
    for args in ((3,), (4,), ([1, 4],), ([2, -1, 10],), (1,)):
        for dim in (0, 1):
            got, want = gc.tensor_split(g, *args, dim=dim), torch.tensor_split(t, *args, dim=dim)
            assert len(got) == len(want)
            for a, b in zip(got, want):
                _same(a, b)
    for a, b in zip(g.split_with_sizes([1, 4], 0), t.split_with_sizes([1, 4], 0)):
        _same(a, b)
    for a, b in zip(gc.hsplit(g, 3), torch.hsplit(t, 3)):
        _same(a, b)
    for a, b in zip(gc.vsplit(g, [2]), torch.vsplit(t, [2])):
        _same(a, b)
    with pytest.raises(ValueError):
        gc.hsplit(g, 4)
    with pytest.raises(ValueError, match="sum exactly"):
        g.split_with_sizes([1, 1], 0)


def test_stacks(device):
    arrs = [RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))]
    vecs = [RNG.normal(size=(3,)), RNG.normal(size=(3,))]
    for name in ("hstack", "vstack", "dstack", "column_stack", "row_stack"):
        for group in (arrs, vecs):
            _fwd_bwd(lambda *t, n=name: getattr(gc, n)(list(t)),
                     lambda *t, n=name: getattr(torch, n)(list(t)), group, device)
    _same(gc.hstack([gc.tensor(1.0), gc.tensor(2.0)]), torch.hstack([torch.tensor(1.0), torch.tensor(2.0)]))


def test_broadcast_meshgrid_cartesian(device):
    x = RNG.normal(size=(3, 1))
    _fwd_bwd(lambda t: gc.broadcast_to(t, (2, 3, 4)), lambda t: torch.broadcast_to(t, (2, 3, 4)), [x], device)
    a, b = gc.broadcast_tensors(gc.ones(3, 1, device=device), gc.ones(4, device=device))
    assert a.shape == b.shape == (3, 4)
    assert gc.broadcast_shapes((3, 1), (4,), 1) == torch.broadcast_shapes((3, 1), (4,), 1)
    p, q, r = RNG.normal(size=(2,)), RNG.normal(size=(3,)), RNG.normal(size=(4,))
    for indexing in ("ij", "xy"):
        got = gc.meshgrid(gc.tensor(p), gc.tensor(q), gc.tensor(r), indexing=indexing)
        want = torch.meshgrid(torch.tensor(p), torch.tensor(q), torch.tensor(r), indexing=indexing)
        for u, v in zip(got, want):
            _same(u, v)
    _fwd_bwd(lambda u, v: gc.cartesian_prod(u, v), lambda u, v: torch.cartesian_prod(u, v), [p, q], device)


def test_block_diag_rot90_flips_diff(device):
    _fwd_bwd(lambda a, b, c: gc.block_diag(a, b, c), lambda a, b, c: torch.block_diag(a, b, c),
             [RNG.normal(size=(2, 2)), RNG.normal(size=(3,)), RNG.normal(size=(1, 2))], device)
    x = RNG.normal(size=(2, 3, 4))
    for k in (-1, 0, 1, 2, 3, 5):
        for dims in ((0, 1), (2, 0), (1, 2)):
            _fwd_bwd(lambda t, kk=k, dd=dims: gc.rot90(t, kk, dd),
                     lambda t, kk=k, dd=dims: torch.rot90(t, kk, dd), [x], device)
    _same(gc.fliplr(gc.tensor(x)), torch.fliplr(torch.tensor(x)))
    _same(gc.flipud(gc.tensor(x)), torch.flipud(torch.tensor(x)))
    for n in (1, 2, 4):
        for dim in (0, -1):
            _fwd_bwd(lambda t, nn=n, d=dim: gc.diff(t, nn, d), lambda t, nn=n, d=dim: torch.diff(t, nn, d),
                     [x], device)
    pre, app = RNG.normal(size=(2, 3, 1)), RNG.normal(size=(2, 3, 2))
    _fwd_bwd(lambda t, p, a: gc.diff(t, prepend=p, append=a),
             lambda t, p, a: torch.diff(t, prepend=p, append=a),
             [x, pre, app], device)
    b = np.array([True, False, False, True])
    _same(gc.diff(gc.tensor(b)), torch.diff(torch.tensor(b)))
    _same(gc.diff(gc.tensor([1, 4, 9])), torch.diff(torch.tensor([1, 4, 9])))


def test_top_level_utilities(device):
    x = RNG.normal(size=(2, 3))
    g, t = gc.tensor(x, device=device), torch.tensor(x)
    _same(gc.clone(g), torch.clone(t))
    _same(gc.flip(g, [0, 1]), torch.flip(t, [0, 1]))
    _same(gc.roll(g, 1, 1), torch.roll(t, 1, 1))
    _same(gc.tile(g, (2, 1)), torch.tile(t, (2, 1)))
    _same(gc.t(g), torch.t(t))
    assert gc.numel(g) == torch.numel(t) == 6
    assert gc.is_tensor(g) and not gc.is_tensor(x)


def test_strides_offsets_as_strided(device):
    x = np.arange(24.0).reshape(2, 3, 4)
    g, t = gc.tensor(x, device=device), torch.tensor(x)
    for fn in (lambda a: a, lambda a: a.transpose(0, 2), lambda a: a[:, 1:, ::2], lambda a: a[1]):
        assert fn(g).stride() == fn(t).stride()
        assert fn(g).storage_offset() == fn(t).storage_offset()
    assert g.stride(1) == 4 and g.stride(-1) == 1
    assert g[1].data_ptr() - g.data_ptr() == 12 * 8
    v = gc.as_strided(g, (3, 3), (4, 1), 1)
    _same(v, torch.as_strided(t, (3, 3), (4, 1), 1))
    with pytest.raises(ValueError, match="outside"):
        g.as_strided((3, 30), (1, 1))
    e = g.new_empty_strided((2, 3), (1, 2))
    assert e.shape == (2, 3) and e.stride() == (1, 2) and e.dtype is g.dtype and e.device == device


def test_random_helpers(device):
    gc.manual_seed(0)
    p = gc.randperm(10, device=device)
    assert sorted(p.tolist()) == list(range(10)) and p.dtype is gc.int64
    w = gc.tensor([[0.0, 1.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]], device=device)
    s = gc.multinomial(w, 2)
    assert s.shape == (2, 2)
    assert set(s[0].tolist()) == {1, 2}  # zero weights are never drawn without replacement
    assert len(set(s[1].tolist())) == 2
    r = gc.multinomial(w, 200, replacement=True)
    assert r.shape == (2, 200) and set(r[0].tolist()) <= {1, 2}
    frac = (r[0] == 2).float().mean().item()
    assert 0.6 < frac < 0.9
    with pytest.raises(ValueError):
        gc.multinomial(w, 5)
    with pytest.raises(ValueError):
        gc.multinomial(gc.tensor([-1.0, 1.0]), 1)
    m = gc.normal(gc.zeros(2000, device=device) + 3.0, gc.ones(2000, device=device) * 2.0)
    assert abs(m.mean().item() - 3.0) < 0.3 and abs(m.std().item() - 2.0) < 0.3
    assert gc.normal(1.0, 2.0, size=(3,)).shape == (3,)
    assert gc.normal(gc.zeros(2, 1), 1.0).shape == (2, 1)


@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), offset=st.integers(-3, 3),
       transposed=st.booleans())
def test_diagonal_property(shape, offset, transposed):
    x = RNG.normal(size=shape)
    g, t = gc.tensor(x), torch.tensor(x)
    if transposed:
        g, t = g.transpose(0, -1), t.transpose(0, -1)
    _same(g.diagonal(offset, 0, -1), t.diagonal(offset, 0, -1))
    _same(gc.einsum("i...i->...", g) if g.shape[0] == g.shape[-1] else g.sum(),
          torch.einsum("i...i->...", t) if t.shape[0] == t.shape[-1] else t.sum())
