"""The bool dtype against PyTorch: creation, casts, comparisons, logical and bitwise ops, promotion."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close


def test_creation_gives_bool():
    assert gc.tensor(True).dtype is gc.bool
    assert gc.tensor([True, False]).dtype is gc.bool
    assert gc.tensor(np.array([True, False])).dtype is gc.bool
    assert gc.tensor(np.bool_(True)).shape == () and gc.tensor(np.bool_(True)).dtype is gc.bool
    assert gc.tensor([1, 0], dtype="bool").tolist() == [True, False]
    assert gc.zeros(2, dtype=gc.bool).tolist() == [False, False]
    assert repr(gc.bool) == "gradcore.bool"


def test_bool_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        gc.tensor([True], requires_grad=True)


def test_casts_both_ways(device):
    x = gc.tensor([-1.5, 0.0, 2.0], device=device)
    b = x.to(gc.bool)
    assert b.dtype is gc.bool and b.cpu().tolist() == [True, False, True]
    assert b.bool().tolist() == [True, False, True] if device == "cpu" else True
    for dt in (gc.float32, gc.float64, gc.int32, gc.int64):
        assert b.to(dt).cpu().tolist() == [1, 0, 1]
        assert b.to(dt).dtype is dt
    assert x.to("bool").dtype is gc.bool


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "ge", "lt", "le"])
def test_comparisons_return_bool(op, device):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    got = getattr(gc.tensor(a, device=device), f"__{op}__")(gc.tensor(b, device=device))
    want = getattr(torch.tensor(a), f"__{op}__")(torch.tensor(b))
    assert got.dtype is gc.bool
    assert got.cpu().tolist() == want.tolist()
    assert (gc.tensor([1, 2], device=device) > 1).dtype is gc.bool
    assert (gc.tensor([True, False], device=device) == True).cpu().tolist() == [True, False]  # noqa: E712


@pytest.mark.parametrize("op", ["and", "or", "xor"])
def test_logical_and_bitwise_ops_match_torch(op, device):
    a, b = np.array([True, True, False, False]), np.array([True, False, True, False])
    f = {"and": lambda x, y: x & y, "or": lambda x, y: x | y, "xor": lambda x, y: x ^ y}[op]
    got = f(gc.tensor(a, device=device), gc.tensor(b, device=device))
    assert got.dtype is gc.bool and got.cpu().tolist() == f(torch.tensor(a), torch.tensor(b)).tolist()
    i, j = np.array([12, -7, 5], np.int64), np.array([10, 3, -1], np.int64)
    got = f(gc.tensor(i, device=device), gc.tensor(j, device=device))
    assert got.dtype is gc.int64 and got.cpu().tolist() == f(torch.tensor(i), torch.tensor(j)).tolist()
    i32 = np.array([6, 1], np.int32)
    assert f(gc.tensor(i32, device=device), 3).dtype is gc.int32
    with pytest.raises(TypeError, match="bool or integer"):
        f(gc.tensor([1.0], device=device), gc.tensor([1.0], device=device))


def test_not_and_logical_functions(device):
    b = gc.tensor([True, False], device=device)
    assert (~b).cpu().tolist() == [False, True]
    assert (~gc.tensor([5, -1], device=device)).cpu().tolist() == [-6, 0]
    x, y = gc.tensor([0.0, 1.5, -2.0], device=device), gc.tensor([3, 0, 1], device=device)
    tx, ty = torch.tensor([0.0, 1.5, -2.0]), torch.tensor([3, 0, 1])
    for name in ("logical_and", "logical_or", "logical_xor"):
        got = getattr(gc, name)(x, y)
        assert got.dtype is gc.bool and got.cpu().tolist() == getattr(torch, name)(tx, ty).tolist()
    assert gc.logical_not(x).cpu().tolist() == torch.logical_not(tx).tolist()
    with pytest.raises(TypeError):
        ~gc.tensor([1.0])


def test_promotion_matches_torch():
    b = np.array([True, False])
    for other in (np.array([True, True]), np.array([2, 3], np.int32), np.array([2, 3]),
                  np.array([0.5, 1.5], np.float32), np.array([0.5, 1.5])):
        for f in (lambda x, y: x + y, lambda x, y: x * y):
            got = f(gc.tensor(b), gc.tensor(other))
            want = f(torch.tensor(b), torch.tensor(other))
            assert got.dtype.name == str(want.dtype).replace("torch.", "")
            assert_close(got.to(gc.float64), want.double().numpy())
    # Python scalars: the tensor's kind wins unless the scalar's kind is higher.
    assert (gc.tensor([True]) + True).dtype is gc.bool
    assert (gc.tensor([True]) + 2).dtype is gc.int64 and (gc.tensor([True]) + 2).tolist() == [3]
    assert (gc.tensor([True]) * 1.5).dtype is gc.float32
    assert (gc.tensor([1], dtype=gc.int32) + True).dtype is gc.int32
    with pytest.raises(TypeError, match="subtraction"):
        gc.tensor([True]) - gc.tensor([False])
    with pytest.raises(TypeError, match="negation"):
        -gc.tensor([True])


def test_sum_of_bool_counts_as_int64():
    m = gc.tensor([[True, False, True], [True, True, True]])
    assert m.sum().dtype is gc.int64 and m.sum().item() == 5
    assert m.sum(1).tolist() == [2, 3]
    assert (gc.tensor([1.0, 2.0, 3.0]) > 1.5).float().mean().item() == pytest.approx(2 / 3)


def test_bool_masks_select(device):
    x = gc.tensor([1.0, -2.0, 3.0], device=device)
    assert x[x > 0].cpu().tolist() == [1.0, 3.0]
    assert x.masked_fill(x < 0, 0.0).cpu().tolist() == [1.0, 0.0, 3.0]
    assert gc.where(x > 0, 1, 0).cpu().tolist() == [1, 0, 1]
