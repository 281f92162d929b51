"""Dropout on the counter-based Philox4x32-10 mask kernel: known answers, statistics, seeding, gradients."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore import _C, backend
from gradcore.nn import functional as F
from gradcore.testing import assert_close

# Random123's published known-answer vectors for Philox4x32-10 (its tests/kat_vectors).
PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize("ctr,key,expected", PHILOX_KAT)
def test_philox_known_answers(ctr, key, expected):
    assert tuple(_C.cpu.philox4x32_10(list(ctr), list(key))) == expected


def _mask(device, shape, p, seed, offset=0, dtype=np.float32):
    out = backend.get(device).empty(shape, np.dtype(dtype))
    backend.kernel(device, "dropout_mask")(out, p, seed, offset)
    return backend.get(device).to_numpy(out)


def test_mask_is_the_documented_philox_draw():
    # Element i keeps iff philox(counter = i + offset, key = seed)[0] / 2^32 >= p; seeds above 2^32 use both
    # key words and offsets above 2^32 both counter words.
    seed, offset, p = (7 << 32) | 12345, (3 << 32) + 5, 0.3
    mask = _mask("cpu", (17,), p, seed, offset)
    for i in range(17):
        c = i + offset
        r0 = _C.cpu.philox4x32_10([c & 0xFFFFFFFF, c >> 32, 0, 0], [seed & 0xFFFFFFFF, seed >> 32])[0]
        assert mask[i] == (np.float32(1 / (1 - p)) if r0 / 2**32 >= p else 0.0), i


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_mask_statistics(p):
    mask = _mask("cpu", (200_000,), p, seed=42, dtype=np.float64)
    kept = mask != 0
    assert set(np.unique(mask)) == {0.0, 1 / (1 - p)}
    # 200k Bernoulli draws: the kept fraction is within 5 standard deviations of 1-p.
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / kept.size)
    assert abs(mask.mean() - 1.0) < 0.02  # unbiased scaling
    # Neighbouring counters are uncorrelated (a broken counter mapping repeats or pairs draws).
    a, b = kept[:-1].astype(float), kept[1:].astype(float)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02


def test_mask_offset_shifts_the_stream():
    whole = _mask("cpu", (64,), 0.5, seed=9)
    tail = _mask("cpu", (32,), 0.5, seed=9, offset=32)
    assert np.array_equal(whole[32:], tail)
    assert not np.array_equal(whole, _mask("cpu", (64,), 0.5, seed=10))


def test_mask_bad_arguments():
    with pytest.raises(ValueError, match="float32 or float64"):
        _mask("cpu", (4,), 0.5, 1, dtype=np.int32)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        _mask("cpu", (4,), 1.5, 1)


def test_dropout_same_seed_reproduces_and_calls_differ(device):
    x = gc.ones(1000, device=device)
    gc.manual_seed(123)
    a, b = F.dropout(x, 0.5).numpy(), F.dropout(x, 0.5).numpy()
    gc.manual_seed(123)
    assert np.array_equal(F.dropout(x, 0.5).numpy(), a)
    assert not np.array_equal(a, b)


def test_dropout_mask_same_on_every_device(device):
    gc.manual_seed(5)
    on_device = F.dropout(gc.ones(4, 300, device=device, dtype=gc.float64), 0.25).numpy()
    gc.manual_seed(5)
    on_cpu = F.dropout(gc.ones(4, 300, dtype=gc.float64), 0.25).numpy()
    assert np.array_equal(on_device, on_cpu)


@pytest.mark.parametrize("dtype", [gc.float32, gc.float64])
def test_dropout_gradient_is_mask_times_grad(device, dtype):
    rng = np.random.default_rng(0)
    xv, gv = rng.normal(size=(3, 40)), rng.normal(size=(3, 40))
    x = gc.tensor(xv, dtype=dtype, device=device, requires_grad=True)
    y = F.dropout(x, 0.3)
    mask = (y.detach().numpy() != 0) / 0.7
    assert_close(y, xv * mask, rtol=1e-6)
    y.backward(gc.tensor(gv, dtype=dtype, device=device))
    assert_close(x.grad, gv * mask, rtol=1e-6)


def test_dropout_edge_cases_as_torch(device):
    xv = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    x = gc.tensor(xv, device=device, requires_grad=True)
    tx = torch.tensor(xv, requires_grad=True)
    # p=0 and eval mode return the input unchanged (same values, gradient 1).
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.7, training=False) is x
    # p=1 zeroes everything and its gradient.
    y, ty = F.dropout(x, 1.0), torch.nn.functional.dropout(tx, 1.0)
    assert_close(y, ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    assert_close(x.grad, tx.grad.numpy())
    # 0-d and empty tensors keep their shapes.
    assert F.dropout(gc.tensor(3.0, device=device), 0.5).shape == ()
    assert F.dropout(gc.zeros(0, 4, device=device), 0.5).shape == (0, 4)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, bad)
        with pytest.raises(ValueError):
            torch.nn.functional.dropout(tx, bad)
    with pytest.raises(TypeError, match="floating"):
        F.dropout(gc.tensor([1, 2], device=device), 0.5)
