"""gc.as_strided / Tensor.as_strided against torch (float64): views over the whole storage for any input
(slices, transposes, expanded inputs, explicit storage offsets), overlapping windows' gradients
accumulating, in-place writes through the view, double backward, and torch's errors."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close, gradcheck

RNG = np.random.default_rng(3)

# (make the input from a base of 12 elements, size, stride, storage_offset)
CASES = [
    (lambda b: b, (3, 3), (3, 1), None),
    (lambda b: b, (4, 4), (2, 1), 1),  # overlapping sliding windows
    (lambda b: b.reshape(3, 4)[1:], (2, 2), (4, 1), None),  # the slice's own offset (4)
    (lambda b: b.reshape(3, 4)[1:], (3, 2), (1, 3), 0),  # reaching before the slice, into the storage
    (lambda b: b.reshape(3, 4).t(), (4, 3), (1, 4), 0),  # a transposed input
    (lambda b: b.reshape(3, 4)[:, ::2], (2, 3), (2, 3), 2),  # a strided input
    (lambda b: b[:4].reshape(1, 4).expand(3, 4), (2, 2), (1, 1), None),  # an expanded (overlapping) input
    (lambda b: b, (0, 3), (1, 1), 5),
    (lambda b: b, (), (), 7),
]


@pytest.mark.parametrize("make,size,stride,offset", CASES)
def test_as_strided_forward_and_backward_match_torch(device, make, size, stride, offset):
    base = RNG.standard_normal(12)
    gb = gc.tensor(base, requires_grad=True, device=device)
    tb = torch.tensor(base, requires_grad=True)
    gx, tx = make(gb * 1.0), make(tb * 1.0)  # non-leaf views so the base storage is the product's
    gy = gx.as_strided(size, stride, offset) if offset is not None else gc.as_strided(gx, size, stride)
    ty = tx.as_strided(size, stride, offset) if offset is not None else torch.as_strided(tx, size, stride)
    assert gy.shape == tuple(ty.shape)
    assert gy.stride() == ty.stride() and gy.storage_offset() == ty.storage_offset()
    assert_close(gy.numpy(), ty.detach().numpy())
    w = RNG.standard_normal(tuple(ty.shape))
    (gy * gc.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(gb.grad.numpy(), tb.grad.numpy(), atol=1e-12, rtol=1e-12)


def test_as_strided_is_a_view_and_writes_go_through(device):
    a = gc.arange(6.0, device=device)
    v = a.as_strided((2, 2), (3, 1), 1)
    v.fill_(-1.0)
    assert a.tolist() == [0.0, -1.0, -1.0, 3.0, -1.0, -1.0]
    ta = torch.arange(6.0)
    ta.as_strided((2, 2), (3, 1), 1).fill_(-1.0)
    assert a.tolist() == ta.tolist()


def test_inplace_through_as_strided_view_backward_matches_torch():
    x = RNG.standard_normal(6)
    gx, tx = gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    outs = []
    for lib, t in ((gc, gx), (torch, tx)):
        y = t * 2.0
        v = y.as_strided((2, 2), (3, 1), 1)
        v.mul_(lib.tensor([[1.0, -2.0], [3.0, 0.5]], dtype=lib.float64))
        outs.append((y * lib.arange(6.0, dtype=lib.float64)).sum())
    outs[0].backward()
    outs[1].backward()
    assert_close(outs[0].item(), outs[1].item())
    assert_close(gx.grad.numpy(), tx.grad.numpy(), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("make,size,stride,offset,reduce", [
    (lambda y: y, (2, 2), (3, 1), 1, "sum"),  # the gradient arrives expanded (stride 0)
    (lambda y: y, (2, 2), (3, 1), 1, "weighted"),
    (lambda y: y[1:], (2, 2), (2, 1), 1, "sum"),  # a view of a view, reaching before the slice
    (lambda y: y.reshape(2, 3).t(), (3,), (2,), 0, "weighted"),  # a transposed view's storage
    (lambda y: y.reshape(2, 3).t(), (3,), (2,), 0, "sum"),  # replayed on an expanded gradient: a copy
])
def test_inplace_through_as_strided_replays_match_torch(device, make, size, stride, offset, reduce):
    x = RNG.standard_normal(6)
    w = RNG.standard_normal(6)
    grads, values = [], []
    for lib, dev in ((gc, device), (torch, "cpu")):
        t = lib.tensor(x, requires_grad=True, device=dev) if lib is gc else lib.tensor(x, requires_grad=True)
        y = t * 2.0
        v = make(y).as_strided(size, stride, offset)
        v.mul_(3.0)
        weights = lib.tensor(w, device=dev) if lib is gc else lib.tensor(w)
        out = y.sum() if reduce == "sum" else (y * weights).sum()
        out.backward()
        grads.append(t.grad.numpy())
        values.append(y.detach().numpy())
    assert_close(values[0], values[1], atol=1e-12, rtol=1e-12)
    assert_close(grads[0], grads[1], atol=1e-12, rtol=1e-12)


def test_as_strided_gradcheck_and_double_backward():
    x = gc.tensor(RNG.standard_normal(7), requires_grad=True)
    gradcheck(lambda t: gc.as_strided(t, (4, 3), (1, 1)) ** 2, [x])
    x.grad = None
    y = (gc.as_strided(x, (4, 3), (1, 1)) ** 3).sum()
    (g,) = gc.autograd.grad(y, [x], create_graph=True)
    g.sum().backward()
    tx = torch.tensor(x.numpy(), requires_grad=True)
    (tg,) = torch.autograd.grad((torch.as_strided(tx, (4, 3), (1, 1)) ** 3).sum(), [tx], create_graph=True)
    tg.sum().backward()
    assert_close(g.detach().numpy(), tg.detach().numpy(), atol=1e-12, rtol=1e-12)
    assert_close(x.grad.numpy(), tx.grad.numpy(), atol=1e-12, rtol=1e-12)


def test_as_strided_errors():
    x = gc.zeros(3, 4)[1:]
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.as_strided((4, 4), (4, 1), 0)
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.as_strided((1,), (1,), 13)
    with pytest.raises(RuntimeError, match="Negative strides"):
        x.as_strided((2,), (-1,), 3)
    with pytest.raises(RuntimeError, match="mismatch in length"):
        x.as_strided((2, 2), (1,))
    with pytest.raises(RuntimeError, match="negative dimension"):
        x.as_strided((-1,), (1,))
    with pytest.raises(TypeError):
        gc.as_strided([1.0], (1,), (1,))
