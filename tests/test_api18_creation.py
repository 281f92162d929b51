"""torch-compatible creation functions, the default dtype and the Tensor constructor, against torch."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close


def _name(dtype):
    return dtype.name if isinstance(dtype, gc.DType) else str(dtype).replace("torch.", "")


@pytest.fixture
def restore_default_dtype():
    yield
    gc.set_default_dtype(gc.float32)
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((5,), {}),
        ((2, 7), {}),
        ((1, 2, 0.25), {}),
        ((0, 1, 0.1), {}),
        ((5, 0, -1), {}),
        ((0.5, 3), {}),
        ((3,), {"dtype": "float64"}),
        ((-1.5, 2, 1.5), {"dtype": "int64"}),  # bounds truncated to ints first, as torch
        ((-2.7, 2, 1.2), {"dtype": "int32"}),
        ((1, 1), {}),
        ((10, 0, -3), {}),
        ((0, 1, 1 / 3), {"dtype": "float64"}),
    ],
)
def test_arange_matches_torch(args, kwargs):
    got = gc.arange(*args, **{k: getattr(gc, v) for k, v in kwargs.items()})
    ref = torch.arange(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    assert got.dtype.name == _name(ref.dtype)
    assert got.shape == tuple(ref.shape)
    assert_close(got, ref.numpy(), atol=0, rtol=1e-7)


def test_arange_keywords_and_errors(device):
    got = gc.arange(start=1, end=7, step=2, device=device)
    assert got.device == device and got.tolist() == [1, 3, 5]
    assert gc.arange(3, dtype=gc.float32, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="step must be nonzero"):
        gc.arange(0, 5, 0)
    with pytest.raises(ValueError, match="sign of step"):
        gc.arange(5, 0, 1)
    with pytest.raises(TypeError, match="must be numbers"):
        gc.arange("5")


@pytest.mark.parametrize(
    "start,end,steps", [(0, 1, 5), (-3, 7, 11), (1, 0, 4), (0, 1, 1), (0, 1, 0), (2.5, 9, 8)]
)
def test_linspace_logspace_match_torch(start, end, steps):
    for dtype in (None, "float64"):
        kw_gc = {} if dtype is None else {"dtype": gc.float64}
        kw_t = {} if dtype is None else {"dtype": torch.float64}
        got, ref = gc.linspace(start, end, steps, **kw_gc), torch.linspace(start, end, steps, **kw_t)
        assert got.dtype.name == _name(ref.dtype)
        assert_close(got, ref.numpy(), atol=1e-6, rtol=1e-6)
        got, ref = gc.logspace(start, end, steps, **kw_gc), torch.logspace(start, end, steps, **kw_t)
        assert_close(got, ref.numpy(), atol=1e-6, rtol=1e-5)
    assert (
        gc.linspace(0, 10, 5, dtype=gc.int64).tolist() == torch.linspace(0, 10, 5, dtype=torch.int64).tolist()
    )
    assert_close(gc.logspace(0, 3, 4, base=2), torch.logspace(0, 3, 4, base=2).numpy())
    with pytest.raises(ValueError, match="steps must be a non-negative int"):
        gc.linspace(0, 1, -1)


@pytest.mark.parametrize("n,m", [(3, None), (2, 4), (4, 2), (0, None), (0, 3)])
def test_eye_matches_torch(n, m, device):
    got = gc.eye(n, m, device=device) if m is not None else gc.eye(n, device=device)
    ref = torch.eye(n, m) if m is not None else torch.eye(n)
    assert got.device == device and got.dtype is gc.float32
    assert np.array_equal(got.cpu().numpy(), ref.numpy())
    assert gc.eye(2, dtype=gc.int64).tolist() == torch.eye(2, dtype=torch.int64).tolist()


def test_randint_forms_and_range(device):
    gc.manual_seed(0)
    t = gc.randint(10, (1000,), device=device)
    assert t.dtype is gc.int64 and t.shape == (1000,) and t.device == device
    v = t.cpu().numpy()
    assert v.min() >= 0 and v.max() <= 9 and len(np.unique(v)) == 10
    t = gc.randint(-3, 3, (20, 30))
    assert t.shape == (20, 30) and t.numpy().min() >= -3 and t.numpy().max() <= 2
    assert gc.randint(0, 5, size=(2,)).shape == (2,)
    t = gc.randint(low=4, high=6, size=(50,))
    assert set(np.unique(t.numpy())) == {4, 5}
    assert set(np.unique(gc.randint(2, size=(50,)).numpy())) == {0, 1}
    assert set(np.unique(gc.randint(3, high=5, size=(50,)).numpy())) == {3, 4}
    assert gc.randint(3, (2,), dtype=gc.float32).dtype is gc.float32
    with pytest.raises(ValueError, match="must be less than high"):
        gc.randint(5, 5, (2,))
    with pytest.raises(TypeError, match="randint"):
        gc.randint(5)


def test_random_like_functions(device):
    x = gc.zeros(3, 4, dtype=gc.float64, device=device)
    for fn in (gc.rand_like, gc.randn_like):
        r = fn(x)
        assert (r.shape, r.dtype, r.device) == (x.shape, gc.float64, device)
    r = gc.rand_like(x).cpu().numpy()
    assert r.min() >= 0 and r.max() < 1
    r = gc.randint_like(x, 7)
    assert r.dtype is gc.float64 and set(np.unique(r.cpu().numpy())) <= set(range(7))
    r = gc.randint_like(gc.zeros(500, dtype=gc.int64), 5, 8)
    assert set(np.unique(r.numpy())) == {5, 6, 7}
    assert gc.randn_like(x, dtype=gc.float32).dtype is gc.float32
    assert gc.rand_like(x, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="floating dtype"):
        gc.rand_like(gc.zeros(2, dtype=gc.int64))
    with pytest.raises(TypeError, match="floating dtype"):
        gc.randn(2, dtype=gc.int64)


def test_like_functions_match_torch(device):
    x = gc.ones(2, 3, dtype=gc.int32, device=device)
    tx = torch.ones(2, 3, dtype=torch.int32)
    for got, ref in [
        (gc.zeros_like(x), torch.zeros_like(tx)),
        (gc.ones_like(x), torch.ones_like(tx)),
        (gc.full_like(x, 7), torch.full_like(tx, 7)),
        (gc.full_like(x, 2.5, dtype=gc.float64), torch.full_like(tx, 2.5, dtype=torch.float64)),
        (gc.zeros_like(x, dtype=gc.float32), torch.zeros_like(tx, dtype=torch.float32)),
    ]:
        assert got.device == device and got.dtype.name == _name(ref.dtype)
        assert got.tolist() == ref.tolist()
    e = gc.empty_like(x)
    assert (e.shape, e.dtype, e.device) == ((2, 3), gc.int32, device)
    assert gc.ones_like(gc.zeros(2), requires_grad=True).requires_grad


def test_full_infers_dtype_as_torch(device):
    for value in (7, 7.5, -1):
        got, ref = gc.full((2, 2), value, device=device), torch.full((2, 2), value)
        assert got.dtype.name == _name(ref.dtype) and got.tolist() == ref.tolist()
    assert gc.full([3], 1, dtype=gc.float64).dtype is gc.float64
    assert gc.full((), 2.0).shape == ()


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_arguments_as_torch(fn, device):
    f = getattr(gc, fn)
    for args in [(2, 3), ((2, 3),), ([2, 3],), (np.int64(2), 3)]:
        t = f(*args, device=device)
        assert t.shape == (2, 3) and t.device == device and t.dtype is gc.float32
    assert f(device=device).shape == ()  # no size: 0-d, as torch
    assert f(0, 4).shape == (0, 4)
    assert f(2, dtype=gc.float64).dtype is gc.float64
    assert f(2, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="sizes must be ints"):
        f(2.5)
    with pytest.raises(TypeError, match="sizes must be ints"):
        f((2, "3"))
    with pytest.raises(ValueError, match="negative dimension"):
        f(2, -1)


def test_empty_has_the_requested_layout(device):
    t = gc.empty(3, 4, dtype=gc.int64, device=device)
    assert (t.shape, t.dtype, t.device) == ((3, 4), gc.int64, device) and t.is_contiguous()


def test_as_tensor_shares_memory_when_it_can():
    a = np.zeros(3)
    t = gc.as_tensor(a)
    a[0] = 5.0
    assert t.dtype is gc.float64 and t.tolist() == [5.0, 0.0, 0.0]  # shared, as torch.as_tensor
    assert gc.as_tensor(t) is t
    c = gc.as_tensor(a, dtype=gc.float32)  # a conversion has to copy
    a[1] = 1.0
    assert c.tolist() == [5.0, 0.0, 0.0]
    assert gc.as_tensor([1, 2]).dtype is gc.int64
    assert gc.as_tensor([1.0, 2.0]).dtype is gc.float32
    assert gc.as_tensor(3.0).shape == ()
    assert gc.as_tensor(np.arange(3, dtype=np.int32)).dtype is gc.int32


def test_default_dtype_governs_python_floats(restore_default_dtype):
    assert gc.get_default_dtype() is gc.float32
    gc.set_default_dtype(gc.float64)
    torch.set_default_dtype(torch.float64)
    assert gc.get_default_dtype() is gc.float64
    cases = [
        (gc.tensor([1.5]), torch.tensor([1.5])),
        (gc.tensor(2.0), torch.tensor(2.0)),
        (gc.zeros(2), torch.zeros(2)),
        (gc.ones(2), torch.ones(2)),
        (gc.randn(2), torch.randn(2)),
        (gc.rand(2), torch.rand(2)),
        (gc.empty(2), torch.empty(2)),
        (gc.arange(0, 1, 0.5), torch.arange(0, 1, 0.5)),
        (gc.linspace(0, 1, 3), torch.linspace(0, 1, 3)),
        (gc.eye(2), torch.eye(2)),
        (gc.full((2,), 1.5), torch.full((2,), 1.5)),
        (gc.tensor([1, 2]) / 2, torch.tensor([1, 2]) / 2),
        (gc.tensor([1, 2]) * 0.5, torch.tensor([1, 2]) * 0.5),
        (gc.tensor([1]), torch.tensor([1])),  # ints stay int64
        (gc.tensor(np.ones(1, np.float32)), torch.tensor(np.ones(1, np.float32))),  # arrays keep theirs
    ]
    for got, ref in cases:
        assert got.dtype.name == _name(ref.dtype), (got, ref)
    gc.set_default_dtype("float32")
    assert gc.tensor([1.5]).dtype is gc.float32 and gc.zeros(1).dtype is gc.float32


def test_set_default_dtype_takes_floats_only(restore_default_dtype):
    with pytest.raises(TypeError, match="only floating-point types"):
        gc.set_default_dtype(gc.int64)
    assert gc.get_default_dtype() is gc.float32


def test_tensor_constructor_is_torch_tensor_only():
    with pytest.raises(TypeError, match=r"gradcore.empty\(2, 3\) or gradcore.zeros\(2, 3\)"):
        gc.Tensor(2, 3)
    with pytest.raises(TypeError, match="does not take sizes"):
        gc.Tensor(5)  # torch.Tensor(5) would be 5 uninitialised floats: ambiguous, so refused
    t = gc.Tensor([[1.0, 2.0]], requires_grad=True)
    assert t.shape == (1, 2) and t.dtype is gc.float32 and t.requires_grad
    assert gc.Tensor([1, 2]).dtype is gc.int64  # torch.tensor's inference, not torch.Tensor's float32
    assert gc.Tensor(2.5).shape == () and gc.Tensor(5, dtype=gc.int32).tolist() == 5
    assert gc.tensor(5).shape == () and gc.tensor(5).dtype is gc.int64  # gc.tensor takes a bare int


def test_creation_device_and_grad_flags(device):
    for t in (
        gc.zeros(2, device=device),
        gc.tensor([1.0], device=device),
        gc.eye(2, device=device),
        gc.linspace(0, 1, 3, device=device),
        gc.randint(3, (2,), device=device),
        gc.full((2,), 1.0, device=device),
        gc.as_tensor(np.zeros(2), device=device),
    ):
        assert t.device == device
    assert gc.zeros(2, device="cuda:0" if device == "cuda" else "cpu").device == device
    with pytest.raises(TypeError, match="only floating point tensors can require gradients"):
        gc.zeros(2, dtype=gc.int64, requires_grad=True)
