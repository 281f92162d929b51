"""torch-compatible Tensor methods (t, mT, repeat, tile, flip, roll, *_as, type, to, new_*, ...) vs torch."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcore as gc
from gradcore.testing import assert_close, gradcheck, shapes

TOL = dict(atol=1e-12, rtol=1e-10)


def _check(fn_gc, fn_torch, shape, device, seed=0):
    """Forward and backward of a shape method on a float64 input, against torch."""
    x = np.random.default_rng(seed).uniform(-1, 1, shape)
    tx = torch.tensor(x, requires_grad=True)
    ref = fn_torch(tx)
    gx = gc.tensor(x, device=device, requires_grad=True)
    out = fn_gc(gx)
    assert out.shape == tuple(ref.shape)
    assert_close(out.cpu(), ref.detach().numpy(), name="forward", **TOL)
    upstream = np.random.default_rng(seed + 1).uniform(-1, 1, tuple(ref.shape))
    ref.backward(torch.tensor(upstream))
    out.backward(gc.tensor(upstream, device=device))
    assert_close(gx.grad.cpu(), tx.grad.numpy(), name="grad", **TOL)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_t_matches_torch(shape, device):
    _check(lambda x: x.t(), lambda x: x.t(), shape, device)


def test_t_rejects_more_than_2_dims(device):
    with pytest.raises(ValueError, match=r"t\(\) expects a tensor with <= 2 dims"):
        gc.ones(2, 3, 4, device=device).t()


@pytest.mark.parametrize("shape", [(2, 3), (4, 2, 3), (2, 1, 3, 5)])
def test_mT_matches_torch(shape, device):
    _check(lambda x: x.mT, lambda x: x.mT, shape, device)


def test_mT_needs_2_dims(device):
    with pytest.raises(ValueError, match="mT needs a matrix"):
        _ = gc.ones(3, device=device).mT


@pytest.mark.parametrize(
    "shape,sizes",
    [
        ((3,), (2,)),
        ((2, 3), (2, 2)),
        ((2, 3), (3, 1, 2)),
        ((), (3,)),
        ((2, 3), (1, 1)),
        ((2, 3), (0, 2)),
        ((2, 1, 3), (2, 3, 1, 1)),
    ],
)
def test_repeat_matches_torch(shape, sizes, device):
    _check(lambda x: x.repeat(*sizes), lambda x: x.repeat(*sizes), shape, device)
    _check(lambda x: x.repeat(sizes), lambda x: x.repeat(sizes), shape, device)


def test_repeat_of_many_dims_stays_within_the_kernels_8_dims(device):
    # (2,1,2,1,2) repeated in every dim would need 10 interleaved dims at once: done in two groups.
    _check(lambda x: x.repeat(2, 3, 1, 2, 2), lambda x: x.repeat(2, 3, 1, 2, 2), (2, 1, 2, 1, 2), device)
    _check(
        lambda x: x.repeat(2, 2, 2, 2, 2, 2, 2, 2),
        lambda x: x.repeat(2, 2, 2, 2, 2, 2, 2, 2),
        (1,) * 8,
        device,
    )


def test_repeat_copies_and_checks_sizes(device):
    x = gc.zeros(2, 3, device=device)
    y = x.repeat(1, 1)
    y.fill_(1.0)
    assert x.cpu().numpy().sum() == 0  # a copy, never an alias
    with pytest.raises(ValueError, match="at least one per dim"):
        x.repeat(2)
    with pytest.raises(ValueError, match="non-negative"):
        x.repeat(2, -1)


@pytest.mark.parametrize("shape,dims", [((2, 3), (2,)), ((2, 3), (2, 2)), ((3,), (2, 2)), ((2, 3), ())])
def test_tile_matches_torch(shape, dims, device):
    _check(lambda x: x.tile(dims), lambda x: x.tile(dims), shape, device)


@pytest.mark.parametrize(
    "shape,dims",
    [((4,), (0,)), ((2, 3), (1,)), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1,)), ((2, 0), (1,)), ((), ())],
)
def test_flip_matches_torch(shape, dims, device):
    _check(lambda x: x.flip(dims), lambda x: x.flip(dims), shape, device)
    if len(dims) == 1:  # the varargs spelling
        _check(lambda x: x.flip(*dims), lambda x: x.flip(*dims), shape, device)


def test_flip_errors(device):
    with pytest.raises(IndexError, match="out of range"):
        gc.ones(2, 3, device=device).flip(2)
    with pytest.raises(ValueError, match="duplicates"):
        gc.ones(2, 3, device=device).flip((0, -2))


@pytest.mark.parametrize(
    "shape,shifts,dims",
    [
        ((5,), 2, None),
        ((2, 3), 1, None),
        ((2, 3), -4, None),
        ((2, 3), 1, 1),
        ((2, 3), (1, -1), (0, 1)),
        ((3, 4, 2), 7, -2),
        ((2, 3), 3, 1),
        ((2, 0), 1, 1),
        ((2, 3), (1, 2), (1, 1)),
    ],
)
def test_roll_matches_torch(shape, shifts, dims, device):
    _check(lambda x: x.roll(shifts, dims), lambda x: torch.roll(x, shifts, dims), shape, device)


def test_roll_errors(device):
    with pytest.raises(ValueError, match="differ in length"):
        gc.ones(2, 3, device=device).roll((1, 2), 0)
    with pytest.raises(IndexError, match="out of range"):
        gc.ones(2, 3, device=device).roll(1, 2)


def test_as_methods_match_torch(device):
    other = gc.zeros(4, 3, device=device)
    _check(lambda x: x.expand_as(other), lambda x: x.expand_as(torch.zeros(4, 3)), (1, 3), device)
    _check(lambda x: x.view_as(other), lambda x: x.view_as(torch.zeros(4, 3)), (2, 6), device)
    _check(lambda x: x.reshape_as(other), lambda x: x.reshape_as(torch.zeros(4, 3)), (12,), device)
    x = gc.tensor([1.5, -2.5], device=device)
    assert x.type_as(gc.ones(1, dtype=gc.int64)).dtype is gc.int64
    assert x.type_as(gc.ones(1, dtype=gc.int64)).tolist() == torch.tensor([1.5, -2.5]).long().tolist()


def test_type_and_dtype_conversions(device):
    x = gc.tensor([1.7, -2.7], device=device)
    tx = torch.tensor([1.7, -2.7])
    assert x.type() == ("gradcore.cuda.FloatTensor" if device == "cuda" else "gradcore.FloatTensor")
    assert gc.ones(1, dtype=gc.int64).type() == "gradcore.LongTensor"
    assert x.type(gc.float64).dtype is gc.float64
    assert x.type("gradcore.DoubleTensor").dtype is gc.float64
    assert x.type("torch.IntTensor").dtype is gc.int32
    assert x.type("gradcore.HalfTensor").dtype is gc.float16  # half types exist since issue 18's last part
    with pytest.raises(TypeError, match="unknown tensor type"):
        x.type("gradcore.ComplexFloatTensor")
    for name, dtype in [("int", gc.int32), ("long", gc.int64), ("float", gc.float32), ("double", gc.float64)]:
        got = getattr(x, name)()
        assert got.dtype is dtype
        assert got.tolist() == getattr(tx, name)().tolist()


def test_dtype_conversion_is_differentiable(device):
    x = gc.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype is gc.float32 and x.grad.tolist() == [3.0, 3.0]


def test_to_accepts_torch_forms(device):
    x = gc.ones(2, 3, device=device)
    assert x.to(gc.float64).dtype is gc.float64
    assert x.to("float64").dtype is gc.float64
    assert x.to(dtype=gc.int64).dtype is gc.int64
    assert x.to(device=device) is x  # nothing changes: self, as torch
    assert x.to(device, gc.float64).dtype is gc.float64
    y = x.to(device=device, dtype=gc.float64)
    assert (y.dtype, y.device) == (gc.float64, device)
    z = x.to(gc.ones(1, dtype=gc.int32, device=device))
    assert (z.dtype, z.device) == (gc.int32, device)
    c = x.to(gc.float32, copy=True)
    assert c is not x
    c.fill_(5.0)
    assert x.cpu().numpy().max() == 1.0  # copy=True made a new buffer
    assert x.to(gc.float32, False, True) is not x  # positional non_blocking, copy
    with pytest.raises(ValueError, match="unknown device"):
        x.to("tpu")
    with pytest.raises(TypeError, match="unsupported dtype"):
        x.to(dtype="complex64")


def test_layout_and_size_queries(device):
    x = gc.zeros(2, 3, device=device)
    assert x.is_contiguous() and not x.t().is_contiguous() and x.t().contiguous().is_contiguous()
    assert x.is_cuda is (device == "cuda")
    assert x.is_floating_point() and not gc.zeros(1, dtype=gc.int64, device=device).is_floating_point()
    for dtype, size in [(gc.float32, 4), (gc.float64, 8), (gc.int32, 4), (gc.int64, 8)]:
        t = gc.zeros(2, 3, dtype=dtype, device=device)
        tt = torch.zeros(2, 3, dtype=getattr(torch, dtype.name))
        assert (
            (t.element_size(), t.itemsize, t.nbytes)
            == (tt.element_size(), tt.itemsize, tt.nbytes)
            == (size, size, 6 * size)
        )


def test_format_like_torch():
    assert f"{gc.tensor(1.2345):.2f}" == f"{torch.tensor(1.2345):.2f}" == "1.23"
    assert f"{gc.tensor(7):>4d}" == "   7"
    assert f"{gc.tensor([2.5]):.1f}" == "2.5"  # one element: formatted as its number
    assert f"{gc.tensor([1.0, 2.0])}" == str(gc.tensor([1.0, 2.0]))  # empty spec: str
    assert f"{gc.tensor([2.5])}" == str(gc.tensor([2.5]))  # as torch: only 0-d prints as a number
    assert f"{gc.tensor(2.5)}" == f"{torch.tensor(2.5)}" == "2.5"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{gc.tensor([1.0, 2.0]):.2f}"
    with pytest.raises(TypeError):
        f"{torch.tensor([1.0, 2.0]):.2f}"


def test_new_factories_follow_self(device):
    x = gc.ones(2, dtype=gc.float64, device=device)
    tx = torch.ones(2, dtype=torch.float64)
    for got, ref in [
        (x.new_zeros(2, 3), tx.new_zeros(2, 3)),
        (x.new_zeros((2, 3)), tx.new_zeros((2, 3))),
        (x.new_ones(3), tx.new_ones(3)),
        (x.new_full((2,), 7), tx.new_full((2,), 7)),
        (x.new_tensor([1, 2]), tx.new_tensor([1, 2])),
        (x.new_zeros(2, dtype=gc.int64), tx.new_zeros(2, dtype=torch.int64)),
    ]:
        assert got.device == device
        assert got.dtype.name == str(ref.dtype).replace("torch.", "")
        assert got.tolist() == ref.tolist()
    e = x.new_empty(2, 3)
    assert (e.shape, e.dtype, e.device) == ((2, 3), gc.float64, device)
    assert x.new_ones(2, requires_grad=True).requires_grad
    assert not x.new_tensor([1.0]).requires_grad


def test_repeat_flip_roll_double_backward():
    rng = np.random.default_rng(2)
    x = gc.tensor(rng.uniform(-1, 1, (2, 3)), dtype=gc.float64, requires_grad=True)
    assert gradcheck(lambda t: (t.repeat(2, 1).flip(0).roll(1, 1) * t.tile(2, 1)).sigmoid(), [x])


def test_clip_method_matches_torch(device):
    _check(lambda x: x.clip(-0.3, 0.4), lambda x: x.clip(-0.3, 0.4), (3, 4), device)
    _check(lambda x: x.clip(max=0.1), lambda x: x.clip(max=0.1), (5,), device)
    with pytest.raises(ValueError, match="at least one of min and max"):
        gc.ones(2, device=device).clip()


@settings(max_examples=60, deadline=None)
@given(
    shape=shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    data=st.data(),
)
def test_shape_methods_property_match_torch(shape, data):
    # repeat/tile/flip/roll on random shapes (0-d and empty dims included), forward and backward.
    ndim = len(shape)
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=ndim, max_size=ndim + 2)))
    tile = tuple(data.draw(st.lists(st.integers(0, 2), min_size=0, max_size=ndim + 1)))
    dims = tuple(data.draw(st.sets(st.integers(0, max(ndim - 1, 0)), max_size=ndim)))
    shifts = tuple(data.draw(st.integers(-5, 5)) for _ in dims)
    for fn_gc, fn_torch in [
        (lambda x: x.repeat(reps), lambda x: x.repeat(reps)),
        (lambda x: x.tile(tile), lambda x: x.tile(tile)),
        (lambda x: x.flip(dims), lambda x: x.flip(dims)),
        (lambda x: x.roll(3), lambda x: x.roll(3)),
    ] + ([(lambda x: x.roll(shifts, dims), lambda x: x.roll(shifts, dims))] if dims else []):
        _check(fn_gc, fn_torch, shape, "cpu", seed=len(reps))
