"""The native one-call path of plain eager ops (csrc/fastpath_cpu.cpp): same results as the Python path,
and every case it must not take (graph, modes, devices, dtypes, shapes) falls back to it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore import _C, autograd
from gradcore.testing import assert_close

FAST = _C.cpu

DTYPES = [np.float32, np.float64, np.int32, np.int64]


def _pair(dtype, shape=(3, 5)):
    rng = np.random.default_rng(0)
    a = rng.integers(-4, 5, shape).astype(dtype)
    b = rng.integers(1, 5, shape).astype(dtype)
    return a, b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_binary_matches_torch_and_dtype(dtype, op):
    a, b = _pair(dtype)
    x, y = gc.tensor(a), gc.tensor(b)
    fn = {"add": lambda p, q: p + q, "sub": lambda p, q: p - q, "mul": lambda p, q: p * q}[op]
    out = fn(x, y)
    ref = fn(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    assert out.numpy().dtype == ref.dtype
    np.testing.assert_array_equal(out.numpy(), ref)
    assert out.grad_fn is None and not out.requires_grad and out.device == "cpu"
    assert type(out) is gc.Tensor


def test_fast_entry_is_taken_for_the_plain_case_only():
    a, b = _pair(np.float32)
    x, y = gc.tensor(a), gc.tensor(b)
    assert isinstance(FAST.fast_add(x, y), gc.Tensor)
    assert FAST.fast_add(x, 1.0) is None  # a Python scalar: coerced on the Python path
    assert FAST.fast_add(x, gc.tensor(b[:1])) is None  # broadcasting
    assert FAST.fast_add(x, gc.tensor(b.astype(np.float64))) is None  # promotion
    assert FAST.fast_add(x, gc.tensor(b, requires_grad=True)) is None  # a graph to record
    assert FAST.fast_add(x.half(), y.half()) is None  # half types compute through float32 twins
    assert FAST.fast_sub(x.int(), y.int()) is None  # a - b takes floats only (bool - bool raises)
    assert FAST.fast_exp(x.int()) is None  # exp promotes integers
    assert FAST.fast_neg(gc.tensor([True])) is None  # -bool raises
    with pytest.raises(TypeError):
        FAST.fast_add(x)


def test_results_are_fresh_and_strided_inputs_read_correctly():
    a, b = _pair(np.float64, (4, 6))
    x, y = gc.tensor(a), gc.tensor(b)
    xt, yt = x.T, y.T  # strided views, same shape
    out = FAST.fast_mul(xt, yt)
    assert out is not None
    np.testing.assert_array_equal(out.numpy(), a.T * b.T)
    assert out.numpy().flags.c_contiguous and not np.shares_memory(out.numpy(), a)
    e = gc.tensor(a[:1]).expand(4, 6)  # a read-only broadcast view as an input is fine
    np.testing.assert_array_equal((e + x).numpy(), a[:1] + a)
    out.add_(1.0)  # the result is an ordinary tensor: in place works and bumps its own version
    assert out._version == 1 and x._version == 0


def test_unary_ops_match_torch():
    a = np.linspace(-3, 3, 12).astype(np.float32).reshape(3, 4)
    x, t = gc.tensor(a), torch.from_numpy(a)
    assert_close((-x).numpy(), (-t).numpy())
    assert_close(x.exp().numpy(), t.exp().numpy(), rtol=1e-6)
    assert_close(x.relu().numpy(), t.relu().numpy())
    i = gc.tensor(np.arange(-2, 3, dtype=np.int64))
    assert (-i).tolist() == [2, 1, 0, -1, -2] and i.relu().tolist() == [0, 0, 0, 1, 2]
    assert i.exp().dtype == gc.float32  # promoted on the Python path
    with pytest.raises(TypeError):
        -gc.tensor([True])
    with pytest.raises(TypeError):
        gc.tensor([True]) - gc.tensor([False])


def test_graph_is_recorded_when_an_input_requires_grad():
    a, b = _pair(np.float64)
    x, y = gc.tensor(a, requires_grad=True), gc.tensor(b)
    out = (x * y + x - y).exp().relu()
    assert out.grad_fn is not None
    out.sum().backward()
    xt = torch.tensor(a, requires_grad=True)
    (xt * torch.from_numpy(b) + xt - torch.from_numpy(b)).exp().relu().sum().backward()
    assert_close(x.grad.numpy(), xt.grad.numpy())


def test_no_grad_mode_still_takes_the_path_and_records_nothing():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    with gc.no_grad():
        y = x + x  # requires grad: the Python path, which sees grad mode off
    assert not y.requires_grad and y.grad_fn is None


def test_anomaly_mode_checks_plain_ops():
    x = gc.tensor([1000.0])
    assert FAST.fast_exp(x) is not None
    with gc.detect_anomaly():
        assert FAST.fast_exp(x) is None
        with pytest.raises(RuntimeError, match="Exp"):
            x.exp()
    assert not np.isfinite(x.exp().item())  # off again: inf, no error


def test_autocast_hook_sends_ops_to_the_python_path(monkeypatch):
    x = gc.tensor([1.0, 2.0])
    seen = []

    def hook(cls, inputs):
        seen.append(cls.__name__)
        return inputs

    monkeypatch.setattr(autograd, "_autocast_hook", hook)
    assert FAST.fast_add(x, x) is None
    assert (x + x).tolist() == [2.0, 4.0] and seen == ["Add"]


def test_large_outputs_come_from_the_host_cache_on_the_python_path():
    n = _C.cpu.cache_min_bytes // 4  # float32 elements filling the cache threshold exactly
    x = gc.zeros(n)
    assert FAST.fast_add(x, x) is None
    assert FAST.fast_add(x[: n - 1], x[: n - 1]) is not None


def test_parameter_inputs_give_plain_tensors():
    p = gc.nn.Parameter(gc.tensor([1.0, 2.0]), requires_grad=False)
    out = p + p
    assert type(out) is gc.Tensor and out.tolist() == [2.0, 4.0]


def test_every_device(device):
    a, b = _pair(np.float32)
    x, y = gc.tensor(a, device=device), gc.tensor(b, device=device)
    out = x * y - x + (-y).relu()
    assert out.device == x.device
    ref = a * b - a + np.maximum(-b, 0)
    np.testing.assert_allclose(out.cpu().numpy(), ref)


def _slot_values(t):
    out = {}
    for name in gc.Tensor.__slots__:
        if name != "__weakref__":
            out[name] = getattr(t, name, "<unset>")
            if name == "_data":
                out[name] = (type(t._data), t._data.shape, t._data.dtype)
    return out


def test_the_three_tensor_builders_agree():
    """Tensor._wrap, Function.apply's inlined copy and the native fast path set the same slots alike."""
    x = gc.tensor([1.0, 2.0])
    native = FAST.fast_add(x, x)
    python = gc.ops.Add.apply(x, x)
    wrapped = gc.Tensor._wrap(np.zeros(2, np.float32), "cpu")
    assert _slot_values(native) == _slot_values(python) == _slot_values(wrapped)
