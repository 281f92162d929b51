"""Pooling, upsampling, padding, BatchNorm2d and the reshaping modules against torch (CPU, float64)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcore as gc
from gradcore import nn
from gradcore.nn import functional as F
from gradcore.testing import assert_close, gradcheck


def _pair(array, device="cpu", dtype=gc.float64):
    return (
        gc.tensor(array, dtype=dtype, device=device, requires_grad=True),
        torch.tensor(array, dtype=torch.float64, requires_grad=True),
    )


def _backward_both(out, ref, device, seed=1):
    w = np.random.default_rng(seed).normal(size=tuple(ref.shape))
    (out * gc.tensor(w, dtype=out.dtype, device=device)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()


def _same_outcome(ours, theirs):
    """Runs both; either both raise (ours a ValueError naming the problem) or both return."""
    try:
        want = theirs()
    except RuntimeError:
        with pytest.raises(ValueError):
            ours()
        return None, None
    return ours(), want


@st.composite
def pool_cases(draw, dilation=True):
    n, c = draw(st.integers(0, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    return (n, c, h, w), k, s, p, d, draw(st.booleans())


@settings(max_examples=60, deadline=None)
@given(case=pool_cases(), seed=st.integers(0, 2**16))
def test_max_pool2d_matches_torch(case, seed):
    shape, k, s, p, d, ceil = case
    # few distinct values, so ties are common and the argmax rule is exercised
    arr = np.random.default_rng(seed).integers(-3, 4, shape).astype(np.float64)
    x, tx = _pair(arr)
    got, want = _same_outcome(
        lambda: F.max_pool2d(x, k, s, p, d, ceil, return_indices=True),
        lambda: TF.max_pool2d(tx, k, s, p, d, ceil, return_indices=True),
    )
    if got is None:
        return
    assert got[0].shape == tuple(want[0].shape)
    np.testing.assert_array_equal(got[0].numpy(), want[0].detach().numpy())
    assert got[1].dtype == gc.int64
    widx = want[1].numpy()
    if np.isneginf(want[0].detach().numpy()).any():
        # a window of padding only (dilation skips every input element; the data has no -inf): torch's
        # index may point anywhere, even outside the plane; ours stays inside it, so backward stays in bounds
        assert got[1].numpy().max(initial=0) < shape[2] * shape[3]
        return
    np.testing.assert_array_equal(got[1].numpy(), widx)
    _backward_both(got[0], want[0], "cpu", seed)
    assert_close(x.grad, tx.grad.numpy(), atol=1e-12, rtol=0, name="grad")


@settings(max_examples=60, deadline=None)
@given(
    case=pool_cases(dilation=False),
    seed=st.integers(0, 2**16),
    cip=st.booleans(),
    div=st.sampled_from([None, 1, 3]),
)
def test_avg_pool2d_matches_torch(case, seed, cip, div):
    shape, k, s, p, _, ceil = case
    arr = np.random.default_rng(seed).normal(size=shape)
    x, tx = _pair(arr)
    got, want = _same_outcome(
        lambda: F.avg_pool2d(x, k, s, p, ceil, cip, div),
        lambda: TF.avg_pool2d(tx, k, s, p, ceil, cip, div),
    )
    if got is None:
        return
    assert_close(got, want.detach().numpy(), atol=1e-12, rtol=1e-12, name="values")
    _backward_both(got, want, "cpu", seed)
    assert_close(x.grad, tx.grad.numpy(), atol=1e-12, rtol=1e-12, name="grad")


@pytest.mark.parametrize("dtype", [gc.float32, gc.float64])
def test_pools_on_device(device, dtype):
    arr = np.random.default_rng(0).normal(size=(2, 3, 9, 8))
    tol = 1e-6 if dtype is gc.float32 else 1e-12
    for ours, theirs in [
        (
            lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
            lambda t: TF.max_pool2d(t, 3, 2, 1, ceil_mode=True),
        ),
        (
            lambda t: F.max_pool2d(t, (2, 3), (1, 2), (1, 0), 2),
            lambda t: TF.max_pool2d(t, (2, 3), (1, 2), (1, 0), 2),
        ),
        (lambda t: F.avg_pool2d(t, 3, 2, 1, True, False), lambda t: TF.avg_pool2d(t, 3, 2, 1, True, False)),
        (lambda t: F.avg_pool2d(t, 2), lambda t: TF.avg_pool2d(t, 2)),
    ]:
        x, tx = _pair(arr, device, dtype)
        out, ref = ours(x), theirs(tx)
        assert out.device == device and out.dtype is dtype
        assert_close(out.cpu(), ref.detach().numpy(), atol=tol, rtol=tol, name="forward")
        _backward_both(out, ref, device)
        assert_close(x.grad.cpu(), tx.grad.numpy(), atol=tol, rtol=tol, name="grad")


def test_gradcheck(device):
    x = gc.tensor(
        np.random.default_rng(2).normal(size=(1, 2, 5, 6)),
        dtype=gc.float64,
        device=device,
        requires_grad=True,
    )
    assert gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1), [x])
    assert gradcheck(
        lambda t: F.avg_pool2d(t, (3, 2), (2, 1), (1, 1), ceil_mode=True, count_include_pad=False), [x]
    )
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=1.5), [x])
    assert gradcheck(lambda t: F.pad(t, (1, -1, 2, 0), value=3.0), [x])
    assert gradcheck(lambda t: F.pad(t, (2, 1, 1, 3), mode="reflect"), [x])
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, (2, 4)), [x])
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, (5, 3)), [x])


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_double_backward_matches_torch(device, pool):
    arr = np.random.default_rng(3).normal(size=(2, 2, 6, 5))
    ours = (lambda t: F.max_pool2d(t, 3, 2, 1)) if pool == "max" else (lambda t: F.avg_pool2d(t, 3, 2, 1))
    theirs = (lambda t: TF.max_pool2d(t, 3, 2, 1)) if pool == "max" else (lambda t: TF.avg_pool2d(t, 3, 2, 1))
    x, tx = _pair(arr, device)
    y, ty = ours(x), theirs(tx)
    rng = np.random.default_rng(4)
    v_np, w_np = rng.normal(size=tuple(ty.shape)), rng.normal(size=arr.shape)
    v = gc.tensor(v_np, dtype=gc.float64, device=device, requires_grad=True)
    tv = torch.tensor(v_np, requires_grad=True)
    (gx,) = gc.autograd.grad(y, x, v, create_graph=True)
    (tgx,) = torch.autograd.grad(ty, tx, tv, create_graph=True)
    assert_close(gx.cpu(), tgx.detach().numpy(), atol=1e-12, rtol=1e-12, name="grad")
    (gx * gc.tensor(w_np, device=device)).sum().backward()
    (tgx * torch.tensor(w_np)).sum().backward()
    assert_close(v.grad.cpu(), tv.grad.numpy(), atol=1e-12, rtol=1e-12, name="double backward")


def test_max_pool2d_nan_inf_and_ties(device):
    nan, inf = float("nan"), float("inf")
    arr = np.array(
        [[[[nan, 1.0, nan, 2.0], [-inf, -inf, 3.0, 3.0], [-inf, -inf, 5.0, nan], [0.0, 0.0, 0.0, 0.0]]]]
    )
    for args in [(2, 2), (2, 1, 1), ((1, 4),), (3, 1, 1, 1, True)]:
        got, gi = F.max_pool2d(gc.tensor(arr, device=device), *args, return_indices=True)
        want, wi = TF.max_pool2d(torch.tensor(arr), *args, return_indices=True)
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy(), err_msg=str(args))
        np.testing.assert_array_equal(gi.cpu().numpy(), wi.numpy())


def test_unbatched_and_modules(device):
    arr = np.random.default_rng(5).normal(size=(3, 6, 6))
    x = gc.tensor(arr, device=device)
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    want, widx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(arr))
    assert out.shape == (3, 3, 3) and idx.shape == (3, 3, 3)
    np.testing.assert_array_equal(out.cpu().numpy(), want.numpy())
    np.testing.assert_array_equal(idx.cpu().numpy(), widx.numpy())
    assert_close(
        nn.AvgPool2d(3, 1, 1)(x).cpu(), torch.nn.AvgPool2d(3, 1, 1)(torch.tensor(arr)).numpy(), atol=1e-12
    )
    assert_close(
        nn.AdaptiveAvgPool2d((4, None))(x).cpu(),
        torch.nn.AdaptiveAvgPool2d((4, None))(torch.tensor(arr)).numpy(),
        atol=1e-12,
    )
    assert "kernel_size=2" in repr(nn.MaxPool2d(2))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kernel_size=5), "larger than the padded input"),
        (dict(kernel_size=3, padding=2), "half the kernel size"),
        (dict(kernel_size=2, stride=0), "stride"),
        (dict(kernel_size=0), "kernel_size"),
        (dict(kernel_size=2, dilation=0), "dilation"),
    ],
)
@pytest.mark.parametrize("fn", [F.max_pool2d, F.avg_pool2d])
def test_pool_bad_arguments(fn, kwargs, message):
    if fn is F.avg_pool2d and "dilation" in kwargs:
        return  # avg_pool2d has no dilation
    with pytest.raises(ValueError, match=message):
        fn(gc.zeros(1, 1, 4, 4), **kwargs)


def test_pool_bad_inputs():
    with pytest.raises(ValueError, match="3-d .* or 4-d"):
        F.max_pool2d(gc.zeros(4, 4), 2)
    with pytest.raises(ValueError, match="3-d .* or 4-d"):
        F.avg_pool2d(gc.zeros(1, 1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match="non-zero C"):
        F.max_pool2d(gc.zeros(1, 0, 4, 4), 2)
    with pytest.raises(TypeError, match="float"):
        F.max_pool2d(gc.zeros(1, 1, 4, 4, dtype=gc.int64), 2)
    with pytest.raises(ValueError, match="divisor_override"):
        F.avg_pool2d(gc.zeros(1, 1, 4, 4), 2, divisor_override=0)
    assert F.max_pool2d(gc.zeros(0, 2, 4, 4), 2).shape == (0, 2, 2, 2)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 6), st.integers(1, 6)),
    size=st.one_of(st.tuples(st.integers(1, 13), st.integers(1, 13)), st.none()),
    scale=st.tuples(
        st.sampled_from([0.5, 0.7, 1.0, 1.3, 1.7, 2.0, 2.5, 3.0]), st.sampled_from([0.6, 1.0, 1.5, 2.0, 2.2])
    ),
    recompute=st.booleans(),
    mode=st.sampled_from(["nearest", "nearest-exact"]),
)
def test_interpolate_nearest_matches_torch(shape, size, scale, recompute, mode):
    arr = np.random.default_rng(6).normal(size=shape)
    x, tx = _pair(arr)
    kw = dict(size=size) if size else dict(scale_factor=scale, recompute_scale_factor=recompute)
    kw["mode"] = mode
    got, want = _same_outcome(lambda: F.interpolate(x, **kw), lambda: TF.interpolate(tx, **kw))
    if got is None:
        return
    assert got.shape == tuple(want.shape)
    assert_close(got, want.detach().numpy(), atol=0, rtol=0)
    _backward_both(got, want, "cpu")
    assert_close(x.grad, tx.grad.numpy(), atol=1e-12, rtol=0, name="grad")


@pytest.mark.parametrize("ndim", [3, 4, 5])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("n, scale", [(3, 1.3), (5, 2.1), (4, 2.0), (6, 0.7), (7, 1.0)])
def test_interpolate_scale_rules_per_rank(ndim, mode, n, scale):
    """torch's 2-d 'nearest' kernel copies an unchanged size and halves a doubled one whatever the scale;
    its 1-d and 3-d kernels, and 'nearest-exact', always use the scale."""
    shape = (1, 2) + (2,) * (ndim - 3) + (n,)
    arr = np.random.default_rng(18).normal(size=shape)
    sf = (1.0,) * (ndim - 3) + (scale,)
    got = F.interpolate(gc.tensor(arr), scale_factor=sf, mode=mode)
    want = TF.interpolate(torch.tensor(arr), scale_factor=sf, mode=mode)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_interpolate_ranks_module_and_errors(device):
    arr = np.random.default_rng(7).normal(size=(1, 2, 5))
    assert_close(
        F.interpolate(gc.tensor(arr, device=device), size=8).cpu(),
        TF.interpolate(torch.tensor(arr), size=8).numpy(),
        atol=0,
    )
    arr4 = np.random.default_rng(8).normal(size=(2, 1, 3, 4))
    up = nn.Upsample(scale_factor=2)
    assert_close(
        up(gc.tensor(arr4, device=device)).cpu(),
        torch.nn.Upsample(scale_factor=2)(torch.tensor(arr4)),
        atol=0,
    )
    with pytest.raises(NotImplementedError, match="lanczos"):  # the linear modes exist now
        F.interpolate(gc.zeros(1, 1, 2, 2), scale_factor=2, mode="lanczos")
    with pytest.raises(NotImplementedError, match="lanczos"):  # other modes: test_upsample_modes.py
        nn.Upsample(scale_factor=2, mode="lanczos")
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(gc.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="3-d, 4-d or 5-d"):
        F.interpolate(gc.zeros(2, 2), size=3)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple),
    pads=st.lists(st.integers(-2, 3), min_size=1, max_size=8),
    value=st.sampled_from([0.0, -1.5]),
)
def test_constant_pad_matches_torch(shape, pads, value):
    pads = tuple(pads[: 2 * len(shape)])
    if len(pads) % 2:
        pads = pads[:-1]
    if not pads:
        return
    arr = np.random.default_rng(9).normal(size=shape)
    x, tx = _pair(arr)
    got, want = _same_outcome(lambda: F.pad(x, pads, value=value), lambda: TF.pad(tx, pads, value=value))
    if got is None:
        return
    assert_close(got, want.detach().numpy(), atol=0, rtol=0)
    if want.numel():
        _backward_both(got, want, "cpu")
        assert_close(x.grad if x.grad is not None else np.zeros(shape), tx.grad.numpy(), atol=0, name="grad")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "shape, pads", [((2, 4, 5), (1, 2)), ((2, 3, 4, 5), (2, 0, 1, 3)), ((3, 4, 5), (0, 1, 1, 0))]
)
def test_other_pad_modes_match_torch(device, mode, shape, pads):
    arr = np.random.default_rng(10).normal(size=shape)
    x, tx = _pair(arr, device)
    got, want = F.pad(x, pads, mode=mode), TF.pad(tx, pads, mode=mode)
    assert_close(got.cpu(), want.detach().numpy(), atol=0, rtol=0)
    _backward_both(got, want, device)
    assert_close(x.grad.cpu(), tx.grad.numpy(), atol=1e-12, name="grad")
    assert nn.ReflectionPad2d(1)(gc.zeros(1, 3, 3)).shape == (1, 5, 5)


def test_pad_errors_and_int_input(device):
    with pytest.raises(ValueError, match="even length"):
        F.pad(gc.zeros(2, 2), (1,))
    with pytest.raises(ValueError, match="crops more"):
        F.pad(gc.zeros(2, 2), (-3, 0))
    with pytest.raises(ValueError, match="less than the dim's size"):
        F.pad(gc.zeros(1, 2, 2), (2, 2), mode="reflect")
    with pytest.raises(NotImplementedError):
        F.pad(gc.zeros(1, 2, 2), (1, 1), mode="wrap")
    out = F.pad(gc.arange(3, device=device), (1, 1), value=7)
    assert out.dtype == gc.int64 and out.cpu().tolist() == [7, 0, 1, 2, 7]
    assert nn.ZeroPad2d((1, 0, 0, 2))(gc.ones(1, 2, 2)).shape == (1, 4, 3)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_matches_torch(device, momentum):
    ours, theirs = (
        nn.BatchNorm2d(3, momentum=momentum, dtype=gc.float64, device=device),
        torch.nn.BatchNorm2d(3, momentum=momentum, dtype=torch.float64),
    )
    with gc.no_grad():
        ours.weight.copy_(gc.tensor([0.5, 1.5, -1.0], dtype=gc.float64, device=device))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, 1.5, -1.0]))
    rng = np.random.default_rng(11)
    for step in range(2):
        arr = rng.normal(2.0, 3.0, size=(4, 3, 5, 2))
        x, tx = _pair(arr, device)
        out, ref = ours(x), theirs(tx)
        assert_close(out.cpu(), ref.detach().numpy(), atol=1e-10, rtol=1e-10, name=f"train forward {step}")
        _backward_both(out, ref, device, seed=step)
        assert_close(x.grad.cpu(), tx.grad.numpy(), atol=1e-10, rtol=1e-10, name="grad input")
        assert_close(
            ours.weight.grad.cpu(), theirs.weight.grad.numpy(), atol=1e-10, rtol=1e-10, name="grad w"
        )
        assert_close(ours.bias.grad.cpu(), theirs.bias.grad.numpy(), atol=1e-10, rtol=1e-10, name="grad b")
    for name in ("running_mean", "running_var"):
        assert_close(
            getattr(ours, name).cpu(), getattr(theirs, name).numpy(), atol=1e-12, rtol=1e-12, name=name
        )
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    assert int(ours.num_batches_tracked.item()) == 2
    ours.eval(), theirs.eval()
    arr = rng.normal(size=(2, 3, 3, 3))
    assert_close(
        ours(gc.tensor(arr, device=device)).cpu(),
        theirs(torch.tensor(arr)).detach().numpy(),
        atol=1e-10,
        rtol=1e-10,
        name="eval forward",
    )
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects \(N, 3, H, W\)"):
        ours(gc.zeros(2, 3, device=device))


def test_flatten_unflatten():
    x = gc.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (3, 2, 2))(gc.randn(4, 12)).shape == (4, 3, 2, 2)
    assert nn.Unflatten(-1, (-1, 4))(gc.randn(4, 12)).shape == (4, 3, 4)
    assert nn.Flatten().state_dict() == {}


@pytest.mark.parametrize(
    "name", ["gradcore.nn.pool_functions", "gradcore.nn.pooling", "gradcore.nn.normalization"]
)
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("affine, track", [(False, True), (True, False)])
def test_batchnorm2d_options_match_torch(affine, track):
    ours = nn.BatchNorm2d(2, affine=affine, track_running_stats=track, dtype=gc.float64)
    theirs = torch.nn.BatchNorm2d(2, affine=affine, track_running_stats=track, dtype=torch.float64)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    arr = np.random.default_rng(12).normal(size=(3, 2, 4, 4))
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        x, tx = _pair(arr)
        out, ref = ours(x), theirs(tx)
        assert_close(out, ref.detach().numpy(), atol=1e-10, rtol=1e-10, name=mode)
        _backward_both(out, ref, "cpu")
        assert_close(x.grad, tx.grad.numpy(), atol=1e-10, rtol=1e-10, name=f"{mode} grad")
    assert_close(
        F.batch_norm(gc.tensor(arr), None, None, training=True),
        TF.batch_norm(torch.tensor(arr), None, None, training=True).numpy(),
        atol=1e-10,
    )
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm2d(2)(gc.zeros(1, 2, 1, 1))


def test_pool1d_matches_torch(device):
    arr = np.random.default_rng(13).normal(size=(2, 3, 9))
    for ours, theirs in [
        (lambda t: F.max_pool1d(t, 3, 2, 1, 2, True), lambda t: TF.max_pool1d(t, 3, 2, 1, 2, True)),
        (lambda t: F.avg_pool1d(t, 4, 3, 2, True, False), lambda t: TF.avg_pool1d(t, 4, 3, 2, True, False)),
        (lambda t: nn.MaxPool1d(2)(t[0]), lambda t: torch.nn.MaxPool1d(2)(t[0])),
        (lambda t: nn.AvgPool1d(3, 1, 1)(t), lambda t: torch.nn.AvgPool1d(3, 1, 1)(t)),
    ]:
        x, tx = _pair(arr, device)
        out, ref = ours(x), theirs(tx)
        assert_close(out.cpu(), ref.detach().numpy(), atol=1e-12, rtol=1e-12, name="forward")
        _backward_both(out, ref, device)
        assert_close(x.grad.cpu(), tx.grad.numpy(), atol=1e-12, rtol=1e-12, name="grad")
    _, idx = F.max_pool1d(gc.tensor(arr, device=device), 2, return_indices=True)
    np.testing.assert_array_equal(
        idx.cpu().numpy(), TF.max_pool1d(torch.tensor(arr), 2, return_indices=True)[1]
    )
    with pytest.raises(ValueError, match="2-d .* or 3-d"):
        F.max_pool1d(gc.zeros(1, 1, 2, 2), 2)


@pytest.mark.cuda
@pytest.mark.skipif(
    not gc.cuda.is_available(), reason="no CUDA device (GRADCORE_EMULATE_CUDA=1 emulates one)"
)
@pytest.mark.parametrize("dtype, shape", [(np.float32, (1, 2, 1700, 1000)), (np.float64, (2, 3, 40, 50))])
def test_cuda_kernels_match_cpu_past_one_grid(dtype, shape):
    """The float32 case has more outputs than one launch of grid_for covers (132 SMs x 32 blocks x 256
    threads on an H100), so every grid-stride loop wraps; overlapping dilated windows with ties and a
    NaN. Max-pool (values, indices, gradient: one summation order on both devices) must agree exactly."""
    rng = np.random.default_rng(14)
    arr = rng.integers(-4, 5, shape).astype(dtype)
    g_max = rng.normal(size=shape[:3] + (shape[3] - 2,)).astype(dtype)
    g_avg = rng.normal(size=shape).astype(dtype)
    out = {}
    for dev in ("cpu", "cuda"):
        nan_arr = arr.copy()
        nan_arr[0, 1, 7, 11] = np.nan
        x = gc.tensor(nan_arr, device=dev, requires_grad=True)
        y, idx = F.max_pool2d(x, 3, 1, 1, (1, 2), return_indices=True)
        y.backward(gc.tensor(g_max, device=dev))
        xa = gc.tensor(arr, device=dev, requires_grad=True)
        a = F.avg_pool2d(xa, 3, 1, 1, ceil_mode=True, count_include_pad=False)
        a.backward(gc.tensor(g_avg, device=dev))
        out[dev] = [t.cpu().numpy() for t in (y, idx, x.grad, a, xa.grad)]
    for got, want, name in zip(out["cuda"], out["cpu"], ["values", "indices", "grad", "avg", "avg grad"]):
        if name.startswith("avg"):
            assert_close(got, want, atol=1e-5, rtol=1e-5, name=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("size", [1, (2, 3), (3, 4), (None, 2), (7, 5)])
def test_adaptive_avg_pool2d_matches_torch(device, size):
    arr = np.random.default_rng(15).normal(size=(2, 3, 6, 9))
    x, tx = _pair(arr, device)
    out, ref = F.adaptive_avg_pool2d(x, size), TF.adaptive_avg_pool2d(tx, size)
    assert_close(out.cpu(), ref.detach().numpy(), atol=1e-12, rtol=1e-12, name="forward")
    _backward_both(out, ref, device)
    assert_close(x.grad.cpu(), tx.grad.numpy(), atol=1e-12, rtol=1e-12, name="grad")


def test_adaptive_1d_and_upsampling_nearest_match_torch(device):
    arr = np.random.default_rng(16).normal(size=(2, 3, 10))
    for size in (1, 3, 5):
        x, tx = _pair(arr, device)
        out, ref = nn.AdaptiveAvgPool1d(size)(x), torch.nn.AdaptiveAvgPool1d(size)(tx)
        assert_close(out.cpu(), ref.detach().numpy(), atol=1e-12, rtol=1e-12, name=f"forward {size}")
        _backward_both(out, ref, device)
        assert_close(x.grad.cpu(), tx.grad.numpy(), atol=1e-12, rtol=1e-12, name=f"grad {size}")
    arr4 = np.random.default_rng(17).normal(size=(1, 2, 3, 4))
    got = nn.UpsamplingNearest2d(size=(5, 7))(gc.tensor(arr4, device=device))
    np.testing.assert_array_equal(
        got.cpu().numpy(), torch.nn.UpsamplingNearest2d(size=(5, 7))(torch.tensor(arr4)).numpy()
    )


def test_batch_norm_training_gradients(device):
    """The closed-form batch-norm gradient: gradcheck, and double backward against torch."""
    rng = np.random.default_rng(19)
    arr, w_np = rng.normal(size=(3, 2, 3, 2)), rng.normal(size=2)
    x = gc.tensor(arr, dtype=gc.float64, device=device, requires_grad=True)
    w = gc.tensor(w_np, dtype=gc.float64, device=device, requires_grad=True)
    assert gradcheck(lambda t, s: F.batch_norm(t, None, None, s, None, training=True), [x, w])
    x.grad = w.grad = None  # gradcheck leaves its gradients there
    tx, tw = torch.tensor(arr, requires_grad=True), torch.tensor(w_np, requires_grad=True)
    y, ty = F.batch_norm(x, None, None, w, None, training=True), TF.batch_norm(tx, None, None, tw, None, True)
    v_np, u_np = rng.normal(size=arr.shape), rng.normal(size=arr.shape)
    (gx,) = gc.autograd.grad(y, x, gc.tensor(v_np, device=device), create_graph=True)
    (tgx,) = torch.autograd.grad(ty, tx, torch.tensor(v_np), create_graph=True)
    assert_close(gx.cpu(), tgx.detach().numpy(), atol=1e-10, rtol=1e-10, name="grad")
    (gx * gc.tensor(u_np, device=device)).sum().backward()
    (tgx * torch.tensor(u_np)).sum().backward()
    assert_close(x.grad.cpu(), tx.grad.numpy(), atol=1e-10, rtol=1e-10, name="double backward x")
    assert_close(w.grad.cpu(), tw.grad.numpy(), atol=1e-10, rtol=1e-10, name="double backward w")


# The CPU max-pool fast paths (no padding or dilation: vectorised rows for windows inside the plane, a
# gather backward when windows tile the plane) against torch, in both dtypes: wide odd planes so the
# vectorised loops run with tails, ceil_mode's partial last windows, ties, NaN, -inf, strided input.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "k, s, ceil",
    [
        (2, 2, False),
        (2, 2, True),
        (2, 1, False),
        ((2, 2), (3, 1), True),
        (3, 3, False),
        (3, 3, True),
        ((2, 3), (2, 3), False),
        ((3, 2), (1, 2), True),
        (1, 1, False),
        (4, 2, False),
    ],
)
def test_max_pool2d_fast_paths_match_torch(dtype, k, s, ceil):
    rng = np.random.default_rng(7)
    arr = rng.integers(-2, 3, (2, 3, 13, 37)).astype(dtype)  # few values: ties everywhere
    arr[0, 0, rng.integers(0, 13, 9), rng.integers(0, 37, 9)] = np.nan
    arr[1, 2, :5, :7] = -np.inf  # windows of -inf only: the index is the window's first element
    arr[1, 1, 3:5, 10:12] = [[-np.inf, np.nan], [np.nan, 1.0]]  # the last NaN wins
    for view in (lambda t: t, lambda t: t.transpose(2, 3)[:, :, ::2]):  # contiguous, then a strided view
        leaf, tleaf = gc.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)
        x, tx = view(leaf), view(tleaf)
        got, gi = F.max_pool2d(x, k, s, ceil_mode=ceil, return_indices=True)
        want, wi = TF.max_pool2d(tx, k, s, ceil_mode=ceil, return_indices=True)
        assert got.dtype == x.dtype and got.shape == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.detach().numpy(), err_msg=f"{k} {s} {ceil}")
        np.testing.assert_array_equal(gi.numpy(), wi.numpy(), err_msg=f"{k} {s} {ceil}")
        g = rng.normal(size=tuple(want.shape)).astype(dtype)
        g[0, 0, 0, :3] = -0.0  # a -0 gradient lands as +0, as torch's zero-fill + add gives
        got.backward(gc.tensor(g))
        want.backward(torch.tensor(g))
        tol = 0 if np.array(s).min() >= np.array(k).max() else 1e-5  # overlapping windows sum in any order
        np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=tol, atol=tol)
        if tol == 0:
            assert (np.signbit(leaf.grad.numpy()) == np.signbit(tleaf.grad.numpy())).all()
