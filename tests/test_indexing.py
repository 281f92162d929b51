"""Indexing ops against PyTorch (float64): gather, scatter_add, index_select, advanced __getitem__,
index_put, where, masked_fill, cat, stack, split, chunk, Embedding, one_hot; forward and backward."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_ref import compare_with_torch

import gradcore as gc
from gradcore.nn import functional as F
from gradcore.testing import assert_close, gradcheck, shapes

rng = np.random.default_rng(0)


def empty_dims_shapes(min_dims=1, max_dims=3):
    """Shapes whose sides may be 0: the empty-tensor cases every op must accept."""
    return shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=3)


# ---------------------------------------------------------------- gather / scatter_add / index_select


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_matches_torch(dim, device):
    x = rng.normal(size=(3, 4))
    idx = rng.integers(0, x.shape[dim], size=(2, 3) if dim == 0 else (3, 5))
    if dim == 0:
        idx = rng.integers(0, 3, size=(2, 4))
    compare_with_torch(lambda a, i: a.gather(dim, i), lambda a, i: a.gather(dim, i), x, idx, device=device)


def test_gather_double_backward():
    x = gc.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    idx = gc.tensor([[0, 0, 3], [1, 2, 2], [3, 3, 3]])
    gradcheck(lambda t: (t.gather(1, idx) ** 2), [x])
    (x.gather(1, idx) ** 3).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    xt = torch.tensor(x.numpy(), requires_grad=True)
    (gt,) = torch.autograd.grad((xt.gather(1, torch.tensor(idx.numpy())) ** 3).sum(), [xt], create_graph=True)
    gt.sum().backward()
    assert_close(x.grad, xt.grad.numpy())


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_add_matches_torch(dim, device):
    base = rng.normal(size=(3, 4))
    src = rng.normal(size=(2, 3))
    idx = rng.integers(0, base.shape[dim], size=(2, 3))  # duplicates add up
    compare_with_torch(
        lambda b, s, i: b.scatter_add(dim, i, s), lambda b, s, i: b.scatter_add(dim, i, s), base, src, idx,
        device=device,
    )


def test_scatter_add_src_larger_than_index():
    base, src = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    idx = np.array([[2, 0, 1], [0, 0, 2]])
    got = gc.tensor(base).scatter_add(0, gc.tensor(idx), gc.tensor(src))
    assert_close(got, torch.tensor(base).scatter_add(0, torch.tensor(idx), torch.tensor(src)).numpy())
    b = gc.tensor(base, requires_grad=True)
    s = gc.tensor(src, requires_grad=True)
    gradcheck(lambda b_, s_: b_.scatter_add(0, gc.tensor(idx), s_) ** 2, [b, s])


def test_scatter_matches_torch():
    base, src = rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    idx = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])
    compare_with_torch(lambda b, s, i: b.scatter(0, i, s), lambda b, s, i: b.scatter(0, i, s), base, src, idx)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_index_select_matches_torch(dim, device):
    x = rng.normal(size=(3, 4, 2))
    idx = rng.integers(0, x.shape[dim], size=5)
    compare_with_torch(
        lambda a, i: a.index_select(dim, i), lambda a, i: a.index_select(dim, i), x, idx, device=device
    )


@given(shape=empty_dims_shapes(), data=st.data())
def test_index_select_any_shape_including_empty(shape, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    n = data.draw(st.integers(0, 4))
    idx = np.array(data.draw(st.lists(st.integers(0, max(shape[dim] - 1, 0)), min_size=n, max_size=n)),
                   dtype=np.int64)
    if shape[dim] == 0:
        idx = idx[:0]
    x = rng.normal(size=shape)
    compare_with_torch(lambda a, i: a.index_select(dim, i), lambda a, i: a.index_select(dim, i), x, idx)


def test_index_ops_reject_bad_indices():
    x = gc.zeros(3, 4)
    with pytest.raises(IndexError, match="out of bounds"):
        x.gather(1, gc.tensor([[4]]))
    with pytest.raises(IndexError, match="out of bounds"):
        x.index_select(0, gc.tensor([3]))
    with pytest.raises(IndexError, match="out of bounds"):
        x.scatter_add(0, gc.tensor([[-1]]), gc.ones(1, 1))
    with pytest.raises(TypeError, match="int64 or int32"):
        x.gather(1, gc.tensor([[0.0]]))
    with pytest.raises(ValueError, match="same number of dims|dims"):
        x.gather(1, gc.tensor([0]))
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        x.index_select(2, gc.tensor([0]))
    with pytest.raises(ValueError):  # the C++ check as well, for callers that skip the Python one
        gc._C.cpu.gather(np.zeros((2, 2)), 0, np.zeros((2, 2), np.int32), np.zeros((2, 2)))
    with pytest.raises(IndexError):
        gc._C.cpu.gather(np.zeros((2, 2)), 0, np.full((2, 2), 7), np.zeros((2, 2)))


# ---------------------------------------------------------------- advanced __getitem__

ADVANCED = {
    "list": lambda x: x[[0, 2, 2]],
    "tensor": lambda x: x[torch.tensor([1, -1])] if isinstance(x, torch.Tensor)
    else x[gc.tensor([1, -1], device=x.device)],
    "second dim": lambda x: x[:, [3, 0]],
    "two arrays": lambda x: x[[0, 1, 2], [1, 2, 3]],
    "broadcast arrays": lambda x: x[[[0], [2]], [1, 2, 3]],
    "int and array": lambda x: x[1, [0, 3]],
    "ellipsis": lambda x: x[..., [0, 0, 1]],
    "none": lambda x: x[None, [1]],
    "slice and array": lambda x: x[1:, [2]],
    "negative": lambda x: x[[-1, -3]],
    "empty": lambda x: x[[]] if isinstance(x, gc.Tensor) else x[torch.tensor([], dtype=torch.int64)],
}


@pytest.mark.parametrize("name", sorted(ADVANCED))
def test_advanced_getitem_matches_torch(name, device):
    x = rng.normal(size=(3, 4))
    compare_with_torch(ADVANCED[name], ADVANCED[name], x, device=device)


def test_non_adjacent_index_arrays_go_first():
    x = rng.normal(size=(2, 3, 4))
    f = lambda a: a[[0, 1], :, [3, 1]]  # noqa: E731
    compare_with_torch(f, f, x)
    g = lambda a: a[:, 0, [1, 2]]  # noqa: E731 - int next to an array counts as an index array
    compare_with_torch(g, g, x)


def test_boolean_mask_indexing_matches_torch(device):
    x = rng.normal(size=(3, 4))
    compare_with_torch(lambda a: a[a > 0], lambda a: a[a > 0], x, device=device)
    rows = np.array([True, False, True])
    compare_with_torch(lambda a: a[gc.tensor(rows, device=device)], lambda a: a[torch.tensor(rows)], x,
                       device=device)
    compare_with_torch(lambda a: a[:, [True, False, False, True]],
                       lambda a: a[:, torch.tensor([True, False, False, True])], x, device=device)


def test_advanced_index_errors():
    x = gc.zeros(3, 4)
    with pytest.raises(IndexError, match="out of bounds"):
        x[[3]]
    with pytest.raises(IndexError, match="out of bounds"):
        x[[-4]]
    with pytest.raises(IndexError, match="does not match"):
        x[gc.tensor([True, False])]
    with pytest.raises(IndexError, match="long, int or bool"):
        x[gc.tensor([0.0])]
    with pytest.raises(TypeError, match="indices must be"):
        x["a"]


# ---------------------------------------------------------------- index_put


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_matches_torch(accumulate, device):
    x = rng.normal(size=(4, 3))
    v = rng.normal(size=(2, 3))
    rows = np.array([2, 0])
    compare_with_torch(
        lambda a, b: a.index_put((gc.tensor(rows, device=device),), b, accumulate=accumulate),
        lambda a, b: a.index_put((torch.tensor(rows),), b, accumulate=accumulate),
        x, v, device=device,
    )


def test_index_put_two_indices_duplicates_and_broadcast_values():
    x, v = rng.normal(size=(3, 4)), rng.normal(size=(1,))
    i, j = np.array([0, 2, 0]), np.array([1, 3, 1])
    compare_with_torch(
        lambda a, b: a.index_put((gc.tensor(i), gc.tensor(j)), b, accumulate=True),
        lambda a, b: a.index_put((torch.tensor(i), torch.tensor(j)), b, accumulate=True),
        x, v,
    )
    mask = x > 0
    out = gc.tensor(x).index_put((gc.tensor(mask),), gc.tensor(0.0, dtype=gc.float64))
    assert_close(out, np.where(mask, 0.0, x))


# ---------------------------------------------------------------- where, masked_fill


def test_where_matches_torch_with_broadcasting(device):
    c = rng.normal(size=(3, 1)) > 0
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4,))
    compare_with_torch(
        lambda a_, b_: gc.where(gc.tensor(c, device=device), a_, b_),
        lambda a_, b_: torch.where(torch.tensor(c), a_, b_), a, b, device=device,
    )
    compare_with_torch(lambda a_: gc.where(a_ > 0, a_, 0.0), lambda a_: torch.where(a_ > 0, a_, 0.0), a,
                       device=device)


def test_where_rejects_non_bool_condition():
    with pytest.raises(TypeError, match="bool"):
        gc.where(gc.tensor([1, 0]), gc.zeros(2), gc.ones(2))


def test_masked_fill_matches_torch(device):
    x = rng.normal(size=(2, 3))
    m = np.array([True, False, True])
    compare_with_torch(lambda a: a.masked_fill(gc.tensor(m, device=device), -1.5),
                       lambda a: a.masked_fill(torch.tensor(m), -1.5), x, device=device)
    with pytest.raises(ValueError, match="broadcast"):
        gc.zeros(2, 3).masked_fill(gc.tensor([[[True]]] * 2), 0.0)


@given(shape=empty_dims_shapes(min_dims=0))
def test_where_and_masked_fill_any_shape(shape):
    x = rng.normal(size=shape)
    compare_with_torch(lambda a: a.masked_fill(a > 0.3, 2.0), lambda a: a.masked_fill(a > 0.3, 2.0), x)


# ---------------------------------------------------------------- cat, stack, split, chunk


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_matches_torch(dim, device):
    a, b, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    compare_with_torch(lambda *t: gc.cat(t, dim), lambda *t: torch.cat(t, dim), a, b, c, device=device)


def test_cat_with_empty_pieces_and_promotion():
    a, b = rng.normal(size=(2, 0)), rng.normal(size=(2, 3))
    compare_with_torch(lambda *t: gc.cat(t, 1), lambda *t: torch.cat(t, 1), a, b)
    out = gc.cat([gc.tensor([1, 2]), gc.tensor([0.5], dtype=gc.float64)])
    assert out.dtype is gc.float64 and out.tolist() == [1.0, 2.0, 0.5]
    with pytest.raises(ValueError, match="differ outside dim"):
        gc.cat([gc.zeros(2, 3), gc.zeros(3, 3)], 1)
    with pytest.raises(ValueError, match="zero-dimensional"):
        gc.cat([gc.tensor(1.0), gc.tensor(2.0)])


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack_matches_torch(dim, device):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    compare_with_torch(lambda *t: gc.stack(t, dim), lambda *t: torch.stack(t, dim), a, b, device=device)
    with pytest.raises(ValueError, match="one shape"):
        gc.stack([gc.zeros(2), gc.zeros(3)])


@pytest.mark.parametrize("size", [1, 2, 3, 5, [1, 4], [0, 5]])
def test_split_matches_torch(size):
    x = rng.normal(size=(5, 2))
    got = gc.tensor(x, requires_grad=True)
    want = torch.tensor(x, requires_grad=True)
    gp, tp = got.split(size), want.split(size)
    assert [p.shape for p in gp] == [tuple(p.shape) for p in tp]
    w = [rng.normal(size=tuple(p.shape)) for p in tp]
    sum((p * gc.tensor(wi)).sum() for p, wi in zip(gp, w)).backward()
    sum((p * torch.tensor(wi)).sum() for p, wi in zip(tp, w)).backward()
    assert_close(got.grad, want.grad.numpy())


@pytest.mark.parametrize("chunks,dim,shape", [(2, 0, (5, 3)), (3, 0, (5, 3)), (6, 0, (5, 3)), (2, 1, (5, 3)),
                                              (4, -1, (5, 3)), (4, 0, (5, 3)), (3, 0, (0, 2))])
def test_chunk_matches_torch(chunks, dim, shape):
    x = rng.normal(size=shape)
    gp, tp = gc.tensor(x).chunk(chunks, dim), torch.tensor(x).chunk(chunks, dim)
    assert len(gp) == len(tp)
    for a, b in zip(gp, tp):
        assert_close(a, b.numpy())


# ---------------------------------------------------------------- Embedding, one_hot


def test_embedding_matches_torch_with_padding_idx(device):
    w = rng.normal(size=(6, 3))
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    compare_with_torch(
        lambda w_: F.embedding(gc.tensor(idx, device=device), w_, padding_idx=2),
        lambda w_: torch.nn.functional.embedding(torch.tensor(idx), w_, padding_idx=2), w, device=device,
    )


def test_embedding_layer_trains_and_pads():
    gc.manual_seed(0)
    emb = gc.nn.Embedding(5, 4, padding_idx=-1)
    assert emb.padding_idx == 4 and np.all(emb.weight.numpy()[4] == 0)
    out = emb(gc.tensor([1, 4, 1]))
    assert out.shape == (3, 4)
    out.sum().backward()
    g = emb.weight.grad.numpy()
    assert np.all(g[1] == 2) and np.all(g[4] == 0) and np.all(g[0] == 0)
    with pytest.raises(ValueError, match="padding_idx"):
        gc.nn.Embedding(3, 2, padding_idx=3)


def test_one_hot_nd_matches_torch():
    t = np.array([[0, 4], [2, 1]])
    got = F.one_hot(gc.tensor(t), 5)
    want = torch.nn.functional.one_hot(torch.tensor(t), 5)
    assert got.shape == (2, 2, 5) and got.dtype is gc.int64
    assert_close(got, want.numpy())
    assert F.one_hot(gc.tensor([0, 3])).shape == (2, 4)  # num_classes=-1: max + 1
    assert F.one_hot(gc.tensor(2), 3).tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="class values"):
        F.one_hot(gc.tensor([3]), 3)


@given(shape=empty_dims_shapes(), data=st.data())
def test_advanced_indexing_random_shapes_match_torch(shape, data):
    """One or two int index arrays (negative values too) at random dims, next to full slices."""
    x = rng.normal(size=shape)
    dims = sorted(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1, max_size=min(2, len(shape)))))
    n = data.draw(st.integers(0, 3))
    index = [slice(None)] * len(shape)
    for d in dims:
        if shape[d] == 0:
            index[d] = np.zeros(0 if n else 0, dtype=np.int64)
        else:
            vals = data.draw(st.lists(st.integers(-shape[d], shape[d] - 1), min_size=n, max_size=n))
            index[d] = np.array(vals, dtype=np.int64)
    lens = {len(index[d]) for d in dims}
    if len(lens) > 1:
        return
    f_gc = lambda a: a[tuple(gc.tensor(i) if isinstance(i, np.ndarray) else i for i in index)]  # noqa: E731
    f_t = lambda a: a[tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index)]  # noqa: E731
    compare_with_torch(f_gc, f_t, x)


def test_python_bool_and_0d_bool_index_like_torch():
    x = rng.normal(size=(2, 3))
    for idx in (True, False):
        compare_with_torch(lambda a, i=idx: a[i], lambda a, i=idx: a[i], x)


@given(shape=empty_dims_shapes(), data=st.data())
def test_cat_split_stack_any_shape_including_empty(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[dim] = data.draw(st.integers(0, 3))
    a, b = rng.normal(size=shape), rng.normal(size=tuple(other))
    compare_with_torch(lambda x, y: gc.cat([x, y], dim), lambda x, y: torch.cat([x, y], dim), a, b)
    compare_with_torch(lambda x: gc.stack([x, x * 2], dim), lambda x: torch.stack([x, x * 2], dim), a)
    size = data.draw(st.integers(1, 3))
    compare_with_torch(lambda x: gc.cat(x.split(size, dim)[::-1], dim),
                       lambda x: torch.cat(x.split(size, dim)[::-1], dim), a)


# ---------------------------------------------------------------- advanced __setitem__ and in-place forms


SETITEM = {
    "rows": ([2, 0], (2, 3)),
    "mask": ("mask", (None,)),
    "two arrays": (([0, 2], [1, 2]), (2,)),
    "slice and array": ((slice(None), [0, 2]), (4, 2)),
    "scalar": ([1, 3], ()),
}


@pytest.mark.parametrize("name", sorted(SETITEM))
def test_advanced_setitem_matches_torch(name):
    x = rng.normal(size=(4, 3))
    index, vshape = SETITEM[name]
    if index == "mask":
        index = x > 0
        vshape = (int(index.sum()),)
    v = np.array(rng.normal()) if vshape == () else rng.normal(size=vshape)

    def to(i, mod):
        if isinstance(i, tuple):
            return tuple(to(p, mod) for p in i)
        return mod.tensor(i) if isinstance(i, (list, np.ndarray)) else i

    gx, gv = gc.tensor(x, requires_grad=True), gc.tensor(v, requires_grad=True)
    tx, tv = torch.tensor(x, requires_grad=True), torch.tensor(v, requires_grad=True)
    gy, ty = gx * 1, tx * 1
    gy[to(index, gc)] = gv
    ty[to(index, torch)] = tv
    assert_close(gy, ty.detach().numpy())
    up = rng.normal(size=x.shape)
    (gy * gc.tensor(up)).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    assert_close(gx.grad, tx.grad.numpy())
    assert_close(gv.grad, tv.grad.numpy())


def test_inplace_index_forms_match_torch():
    x = rng.normal(size=(3, 4))
    mask = x > 0
    idx = np.array([[0, 1, 2, 0]])
    cases = [
        (lambda t: t.masked_fill_(gc.tensor(mask), 0.5), lambda t: t.masked_fill_(torch.tensor(mask), 0.5)),
        (lambda t: t.index_put_((gc.tensor([2, 0]),), gc.tensor(1.5, dtype=gc.float64), accumulate=True),
         lambda t: t.index_put_((torch.tensor([2, 0]),), torch.tensor(1.5).double(), accumulate=True)),
        (lambda t: t.scatter_add_(0, gc.tensor(idx), gc.ones(1, 4, dtype=gc.float64)),
         lambda t: t.scatter_add_(0, torch.tensor(idx), torch.ones(1, 4, dtype=torch.float64))),
    ]
    for g_op, t_op in cases:
        gx, tx = gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        gy, ty = gx * 2, tx * 2
        assert g_op(gy) is gy
        t_op(ty)
        assert_close(gy, ty.detach().numpy())
        (gy * gy).sum().backward()
        (ty * ty).sum().backward()
        assert_close(gx.grad, tx.grad.numpy())


def test_nonzero_single_arg_where_and_masked_select_match_torch():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    g, t = gc.tensor(x), torch.tensor(x)
    assert g.nonzero().tolist() == t.nonzero().tolist() and g.nonzero().dtype is gc.int64
    assert [i.tolist() for i in gc.where(g > 0)] == [i.tolist() for i in torch.where(t > 0)]
    assert gc.nonzero(gc.zeros(0, 2)).shape == (0, 2)
    m = np.array([True, False, True])
    compare_with_torch(lambda a: a.masked_select(gc.tensor(m)), lambda a: a.masked_select(torch.tensor(m)), x)
    with pytest.raises(TypeError, match="both"):
        gc.where(g > 0, g)


@given(shape=empty_dims_shapes(), data=st.data())
def test_gather_and_scatter_add_random_shapes_match_torch(shape, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    ishape = tuple(data.draw(st.integers(0, n)) if d != dim else data.draw(st.integers(0, 3))
                   for d, n in enumerate(shape))
    if shape[dim] == 0:
        ishape = tuple(0 if d == dim else n for d, n in enumerate(ishape))
    idx = rng.integers(0, max(shape[dim], 1), size=ishape)
    x = rng.normal(size=shape)
    compare_with_torch(lambda a, i: a.gather(dim, i), lambda a, i: a.gather(dim, i), x, idx)
    src = rng.normal(size=ishape)
    compare_with_torch(lambda a, s, i: a.scatter_add(dim, i, s), lambda a, s, i: a.scatter_add(dim, i, s),
                       x, src, idx)
