"""conv2d / conv_transpose2d and nn.Conv2d / nn.ConvTranspose2d against torch (CPU, float64): values,
gradients (first and second order) and every bad-input error."""

import doctest
import importlib
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gradcore as gc
from gradcore import _C, nn
from gradcore.nn import functional as F
from gradcore.nn.conv_ops import ConvError
from gradcore.testing import assert_close, gradcheck

# The device fixture is a plain string, so sharing it across hypothesis examples is safe.
CASES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TOL = {gc.float32: dict(atol=1e-4, rtol=1e-4), gc.float64: dict(atol=1e-10, rtol=1e-9)}
TF = torch.nn.functional


@st.composite
def conv_case(draw, transposed=False):
    """Random geometry (groups, channels, kernel, stride, padding, dilation, batch 0..3) torch accepts."""
    groups = draw(st.integers(1, 3))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    if transposed:
        hw = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dil))
        out = [
            (n - 1) * s - 2 * p + d * (kk - 1) + o + 1
            for n, s, p, d, kk, o in zip(hw, stride, pad, dil, k, out_pad)
        ]
        assume(min(out) > 0)
    else:
        hw = tuple(
            draw(st.integers(max(1, d * (kk - 1) + 1 - 2 * p), d * (kk - 1) + 5))
            for kk, d, p in zip(k, dil, pad)
        )
        out_pad = (0, 0)
    return dict(
        n=draw(st.integers(0, 3)),
        groups=groups,
        cg=cg,
        og=og,
        k=k,
        stride=stride,
        dil=dil,
        pad=pad,
        hw=hw,
        out_pad=out_pad,
        bias=draw(st.booleans()),
        strided=draw(st.booleans()),
        dtype=draw(st.sampled_from([gc.float32, gc.float64])),
        seed=draw(st.integers(0, 2**16)),
    )


def _leaf(a, dtype, device, strided):
    """A leaf tensor holding a, and the (possibly non-contiguous, NHWC-permuted) view the op receives."""
    if not strided or a.ndim != 4:
        t = gc.tensor(a.astype(dtype.np), device=device, requires_grad=True)
        return t, t
    t = gc.tensor(
        np.ascontiguousarray(a.transpose(0, 2, 3, 1)).astype(dtype.np), device=device, requires_grad=True
    )
    return t, t.permute(0, 3, 1, 2)


def _compare(gc_fn, torch_fn, arrays, dtype, device, strided=False, seed=0):
    """Forward and every gradient of gc_fn(*tensors) against torch_fn(*float64 tensors)."""
    leaves, views = zip(*[_leaf(a, dtype, device, strided) for a in arrays])
    # torch sees the values gradcore sees (rounded to float32 where that is the dtype), in float64.
    tin = [torch.tensor(a.astype(dtype.np).astype(np.float64), requires_grad=True) for a in arrays]
    got, want = gc_fn(*views), torch_fn(*tin)
    assert got.shape == tuple(want.shape) and got.dtype is dtype
    assert_close(got.cpu(), want.detach().numpy(), name="forward", **TOL[dtype])
    up = np.random.default_rng(seed).uniform(-1, 1, tuple(want.shape))
    want.backward(torch.tensor(up))
    got.backward(gc.tensor(up.astype(dtype.np), device=device))
    for i, (leaf, t) in enumerate(zip(leaves, tin)):
        g = leaf.grad.cpu().numpy()
        if strided and g.ndim == 4:
            g = g.transpose(0, 3, 1, 2)
        assert_close(g, t.grad.numpy(), name=f"grad {i}", **TOL[dtype])


def _arrays(c, in_ch, w_shape):
    rng = np.random.default_rng(c["seed"])
    x = rng.uniform(-1, 1, (c["n"], in_ch) + c["hw"])
    w = rng.uniform(-1, 1, w_shape)
    b = rng.uniform(-1, 1, (w_shape[1] * c["groups"] if c.get("transposed") else w_shape[0],))
    return [x, w, b] if c["bias"] else [x, w]


@CASES
@given(c=conv_case())
def test_conv2d_matches_torch(device, c):
    g = c["groups"]
    arrays = _arrays(c, c["cg"] * g, (c["og"] * g, c["cg"]) + c["k"])
    kw = dict(stride=c["stride"], padding=c["pad"], dilation=c["dil"], groups=g)
    _compare(
        lambda *t: F.conv2d(*t, **kw),
        lambda *t: TF.conv2d(*t, **kw),
        arrays,
        c["dtype"],
        device,
        c["strided"],
        c["seed"],
    )


@CASES
@given(c=conv_case(transposed=True))
def test_conv_transpose2d_matches_torch(device, c):
    g = c["groups"]
    c["transposed"] = True
    arrays = _arrays(c, c["cg"] * g, (c["cg"] * g, c["og"]) + c["k"])
    kw = dict(stride=c["stride"], padding=c["pad"], output_padding=c["out_pad"], dilation=c["dil"], groups=g)
    _compare(
        lambda *t: F.conv_transpose2d(*t, **kw),
        lambda *t: TF.conv_transpose2d(*t, **kw),
        arrays,
        c["dtype"],
        device,
        c["strided"],
        c["seed"],
    )


@pytest.mark.parametrize(
    "n,c,o,hw,k,kw",
    [
        (4, 8, 16, (12, 11), (3, 3), dict(padding=1)),  # whole samples per thread
        (1, 16, 40, (33, 30), (3, 3), dict(padding=1)),  # one sample: the GEMM splits over threads
        (3, 24, 20, (9, 9), (1, 1), {}),  # 1x1: the input is read as its own im2col matrix
        (1, 24, 20, (9, 9), (1, 1), dict(stride=2)),  # strided 1x1: im2col again
        (2, 5, 7, (10, 13), (3, 5), dict(padding=2, dilation=(2, 1))),  # stride 1, OW == W: contiguous taps
        (3, 4, 6, (8, 9), (2, 3), dict(padding=(0, 1))),  # the same with OH == H - 1
        (2, 6, 12, (17, 15), (5, 3), dict(stride=(2, 1), padding=(2, 0), dilation=(1, 2), groups=3)),
    ],
)
@pytest.mark.parametrize("dtype", [gc.float32, gc.float64])
def test_larger_shapes_match_torch(device, n, c, o, hw, k, kw, dtype):
    # Sizes past the GEMM's register tiles (12 x 16/32) and the thresholds where threading starts.
    rng = np.random.default_rng(n + c)
    x, w, b = (
        rng.uniform(-1, 1, (n, c) + hw),
        rng.uniform(-1, 1, (o, c // kw.get("groups", 1)) + k),
        rng.uniform(-1, 1, o),
    )
    _compare(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), [x, w, b], dtype, device)
    wt = rng.uniform(-1, 1, (c, o // kw.get("groups", 1)) + k)
    _compare(
        lambda *t: F.conv_transpose2d(*t, **kw),
        lambda *t: TF.conv_transpose2d(*t, **kw),
        [rng.uniform(-1, 1, (n, c) + hw), wt, b],
        dtype,
        device,
    )


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's, about its own copy
@pytest.mark.parametrize("k", [(3, 3), (2, 4), (4, 1), (1, 1)])
@pytest.mark.parametrize("dilation", [1, 2, (1, 3)])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_padding_strings_match_torch(device, k, dilation, padding):
    # 'same' with an even dilated extent pads one more row on the bottom / right, as torch does.
    rng = np.random.default_rng(7)
    x, w = rng.uniform(-1, 1, (2, 3, 9, 12)), rng.uniform(-1, 1, (4, 3) + k)
    kw = dict(padding=padding, dilation=dilation)
    _compare(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), [x, w], gc.float64, device)


def test_unbatched_input_matches_torch(device):
    rng = np.random.default_rng(3)
    x, w, b = rng.uniform(-1, 1, (3, 6, 5)), rng.uniform(-1, 1, (4, 3, 3, 2)), rng.uniform(-1, 1, 4)
    kw = dict(stride=2, padding=1)
    _compare(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), [x, w, b], gc.float64, device)
    wt = rng.uniform(-1, 1, (3, 2, 3, 3))
    kw = dict(stride=2, padding=1, output_padding=1)
    _compare(
        lambda *t: F.conv_transpose2d(*t, **kw),
        lambda *t: TF.conv_transpose2d(*t, **kw),
        [x, wt],
        gc.float64,
        device,
    )


@pytest.mark.parametrize(
    "kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, groups=2), dict(stride=(1, 2), padding=(0, 1))]
)
def test_gradcheck(device, kw):
    rng = np.random.default_rng(0)

    def t(*shape):
        return gc.tensor(rng.uniform(-1, 1, shape), dtype=gc.float64, device=device, requires_grad=True)

    x, w, b = t(2, 4, 5, 6), t(4, 4 // kw.get("groups", 1), 2, 3), t(4)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), [x, w, b])
    out_pad = 1 if kw.get("stride") == 2 else 0
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, output_padding=out_pad, **kw), [x, w, b])


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize(
    "kw",
    [dict(stride=2, padding=1), dict(dilation=2, groups=2), dict(stride=1, dilation=2, output_padding=1)],
)
def test_double_backward(device, transposed, kw):
    # The gradients (x's and w's, taken with create_graph=True) are themselves checked with gradcheck,
    # and a second-order quantity is compared with torch's.
    if not transposed and "output_padding" in kw:
        kw = {k: v for k, v in kw.items() if k != "output_padding"}
    op, top = (F.conv_transpose2d, TF.conv_transpose2d) if transposed else (F.conv2d, TF.conv2d)
    rng = np.random.default_rng(1)
    xa, wa = rng.uniform(-1, 1, (2, 4, 5, 5)), rng.uniform(-1, 1, (4, 4 // kw.get("groups", 1), 3, 2))
    x = gc.tensor(xa, device=device, requires_grad=True)
    w = gc.tensor(wa, device=device, requires_grad=True)

    def grads(x, w):
        y = op(x, w, **kw)
        gx, gw = gc.autograd.grad((y * y).sum(), [x, w], create_graph=True)
        return (gx * gx).sum() + (gw * gw.tanh()).sum()

    assert gradcheck(grads, [x, w])
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    ty = top(tx, tw, **kw)
    tgx, tgw = torch.autograd.grad((ty * ty).sum(), [tx, tw], create_graph=True)
    ((tgx * tgx).sum() + (tgw * tgw.tanh()).sum()).backward()
    x.grad = w.grad = None  # gradcheck's own backward left gradients behind
    grads(x, w).backward()
    assert_close(x.grad.cpu(), tx.grad.numpy(), atol=1e-9, rtol=1e-9, name="d2/dx")
    assert_close(w.grad.cpu(), tw.grad.numpy(), atol=1e-9, rtol=1e-9, name="d2/dw")


def _state_from_torch(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.Conv2d(3, 6, 3, padding=1),
        lambda m: m.Conv2d(4, 6, (3, 2), stride=2, padding="valid", dilation=(2, 1), groups=2, bias=False),
        lambda m: m.Conv2d(3, 5, 4, padding="same"),
        lambda m: m.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        lambda m: m.ConvTranspose2d(3, 2, (2, 3), dilation=2, bias=False),
    ],
)
def test_modules_match_torch(device, make):
    # torch's module -> state_dict -> gradcore's module: same outputs, same keys, same repr.
    torch.manual_seed(0)
    tm = make(torch.nn).double()
    m = make(nn).to(device, gc.float64)
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict(_state_from_torch(tm))
    x = np.random.default_rng(0).uniform(-1, 1, (2, tm.in_channels, 7, 8))
    assert_close(
        m(gc.tensor(x, device=device)).cpu(), tm(torch.tensor(x)).detach().numpy(), atol=1e-10, rtol=1e-9
    )
    back = {
        k: np.asarray(v.cpu().numpy() if isinstance(v, gc.Tensor) else v) for k, v in m.state_dict().items()
    }
    for k, v in _state_from_torch(tm).items():
        np.testing.assert_array_equal(back[k], v)


def test_conv_transpose_output_size_argument_matches_torch():
    torch.manual_seed(0)
    tm = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    m = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, dtype=gc.float64)
    m.load_state_dict(_state_from_torch(tm))
    x = np.random.default_rng(0).uniform(-1, 1, (1, 2, 4, 5))
    for size in [(7, 9), (8, 10), (1, 3, 8, 9)]:
        want = tm(torch.tensor(x), output_size=size).detach().numpy()
        assert_close(m(gc.tensor(x), output_size=size), want, atol=1e-12, rtol=1e-12)
    with pytest.raises(ConvError, match="valid sizes range from 7 to 8"):
        m(gc.tensor(x), output_size=(9, 9))


@pytest.mark.parametrize("transposed", [False, True])
def test_default_init_matches_torch_bounds(transposed):
    # kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weight and the bias.
    cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    gc.manual_seed(0)
    m = cls(8, 12, (3, 5), groups=4)
    fan_in = m.weight.shape[1] * 15
    bound = 1 / math.sqrt(fan_in)
    for p in (m.weight, m.bias):
        v = p.numpy()
        assert v.dtype == np.float32 and np.abs(v).max() <= bound and np.abs(v).max() > 0.5 * bound
    assert m.weight.shape == ((8, 3, 3, 5) if transposed else (12, 2, 3, 5))
    assert m.bias.shape == (12,)


def test_conv_layers_train_on_device(device):
    # A conv -> relu -> conv-transpose autoencoder step moves the loss the way torch's does.
    gc.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1),
    ).to(device)
    x = gc.tensor(np.random.default_rng(0).uniform(0, 1, (4, 1, 8, 8)).astype(np.float32), device=device)
    opt = gc.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = ((net(x) - x) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------- errors


def _x(*shape, dtype=gc.float32, device="cpu"):
    return gc.zeros(*shape, dtype=dtype, device=device)


CONV2D_ERRORS = [
    (lambda: F.conv2d(_x(2, 3), _x(4, 3, 1, 1)), "3-d .unbatched. or 4-d"),
    (lambda: F.conv2d(_x(1, 2, 3, 4, 5), _x(4, 3, 1, 1)), "3-d .unbatched. or 4-d"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3)), "weight must be 4-d"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 2, 3, 3)), "input has 3 channels but weight"),
    (lambda: F.conv2d(_x(1, 4, 5, 5), _x(3, 2, 3, 3), groups=2), "not divisible by groups=2"),
    (lambda: F.conv2d(_x(1, 4, 5, 5), _x(4, 4, 3, 3), groups=2), "input has 4 channels but weight"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 7, 3)), "larger than the padded input"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), dilation=3), "larger than the padded input"),
    (lambda: F.conv2d(_x(1, 3, 0, 5), _x(4, 3, 1, 1)), "output size would be <= 0"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), stride=0), "stride must be positive"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), stride=(1, -1)), "stride must be positive"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), dilation=0), "dilation must be positive"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), padding=-1), "padding must be non-negative"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), padding=(1, 2, 3)), "padding must be an int or a pair"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), stride=1.5), "stride must be an int or a pair"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), groups=0), "groups must be a positive int"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), padding="full"), "invalid padding string"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), padding="same", stride=2), "not supported for strided"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3, dtype=gc.float64)), "must have the same dtype"),
    (
        lambda: F.conv2d(gc.zeros(1, 3, 5, 5, dtype=gc.int64), gc.zeros(4, 3, 3, 3, dtype=gc.int64)),
        "needs a float32 or float64 input",
    ),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), _x(3)), r"bias must have shape \(4,\)"),
    (
        lambda: F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3), _x(4, dtype=gc.float64)),
        "bias .*float64 on cpu. must match",
    ),
]
TRANSPOSE_ERRORS = [
    (lambda: F.conv_transpose2d(_x(3, 4), _x(3, 2, 3, 3)), "3-d .unbatched. or 4-d"),
    (lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(2, 2, 3, 3)), "input has 3 channels but weight"),
    (lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(3, 2, 3, 3), groups=2), "not divisible by groups=2"),
    (lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(3, 2, 3, 3), stride=0), "stride must be positive"),
    (lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(3, 2, 3, 3), padding=-2), "padding must be non-negative"),
    (
        lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(3, 2, 3, 3), stride=2, output_padding=2),
        "output_padding .2. must be smaller than either stride .2. or dilation .1.",
    ),
    (
        lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(3, 2, 3, 3), output_padding=-1),
        "output_padding must be non",
    ),
    (lambda: F.conv_transpose2d(_x(1, 3, 1, 1), _x(3, 2, 3, 3), padding=2), "output size .* would be <= 0"),
    (lambda: F.conv_transpose2d(_x(1, 3, 0, 2), _x(3, 2, 3, 3)), "spatial size .* must be positive"),
    (lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(3, 2, 3, 3), padding="same"), "padding must be an int"),
    (lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(3, 2, 3, 3), _x(3)), r"bias must have shape \(2,\)"),
    (
        lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(3, 2, 3, 3, dtype=gc.float64)),
        "must have the same dtype",
    ),
]
MODULE_ERRORS = [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), "must be divisible by groups"),
    (lambda: nn.Conv2d(3, 4, 0), "kernel_size must be positive"),
    (lambda: nn.Conv2d(3, 4, 3, padding="half"), "invalid padding string"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), "not supported for strided"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), "padding_mode must be one of"),
    (lambda: nn.Conv2d(3, 4, 3, groups=0), "groups must be a positive int"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, padding="same"), "padding must be an int"),
    (lambda: nn.Conv2d(3, 4, 3)(_x(1, 2, 5, 5)), "input has 2 channels"),
]


@pytest.mark.parametrize("make,message", CONV2D_ERRORS + TRANSPOSE_ERRORS + MODULE_ERRORS)
def test_bad_input_raises_a_clear_error(make, message):
    # Raised in Python before any kernel runs; both a ValueError and (as in torch) a RuntimeError.
    with pytest.raises(ValueError, match=message) as info:
        make()
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "kw", [dict(padding=1), dict(padding=(2, 1), stride=2), dict(padding="same", dilation=(1, 2)), dict()]
)
@pytest.mark.parametrize("unbatched", [False, True])
def test_padding_modes_match_torch(device, mode, kw, unbatched):
    torch.manual_seed(0)
    tm = torch.nn.Conv2d(3, 4, (3, 2), padding_mode=mode, **kw).double()
    m = nn.Conv2d(3, 4, (3, 2), padding_mode=mode, dtype=gc.float64, device=device, **kw)
    m.load_state_dict(_state_from_torch(tm))
    assert repr(m) == repr(tm)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 7, 8) if unbatched else (2, 3, 7, 8))
    _compare(m, tm, [x], gc.float64, device)


def test_padding_mode_errors():
    with pytest.raises(ConvError, match="too large for padding_mode='reflect'"):
        nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")(_x(1, 1, 3, 3))
    with pytest.raises(ConvError, match="only 'zeros' padding mode"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="circular")


@pytest.mark.cuda
@pytest.mark.skipif(not gc.cuda.is_available(), reason="needs a CUDA device (or GRADCORE_EMULATE_CUDA=1)")
def test_device_mismatch_is_refused():
    with pytest.raises(ConvError, match="input is on cpu but weight is on cuda"):
        F.conv2d(_x(1, 3, 5, 5), _x(4, 3, 3, 3, device="cuda"))
    with pytest.raises(ConvError, match="bias .* must match"):
        F.conv2d(_x(1, 3, 5, 5, device="cuda"), _x(4, 3, 3, 3, device="cuda"), _x(4))


def test_native_kernels_check_their_operands():
    # The kernels' own checks (the last line of defence for direct _C callers) raise, never crash.
    x, w, y = (
        np.zeros((1, 3, 5, 5), np.float32),
        np.zeros((4, 3, 3, 3), np.float32),
        np.zeros((1, 4, 3, 3), np.float32),
    )
    _C.cpu.conv2d_forward(x, w, y, 1, 1, 0, 0, 1, 1, 1)
    with pytest.raises(ValueError, match="output spatial size"):
        _C.cpu.conv2d_forward(x, w, np.zeros((1, 4, 4, 4), np.float32), 1, 1, 0, 0, 1, 1, 1)
    with pytest.raises(ValueError, match="dtype mismatch"):
        _C.cpu.conv2d_forward(x, w.astype(np.float64), y, 1, 1, 0, 0, 1, 1, 1)
    with pytest.raises(ValueError, match="stride and dilation must be positive"):
        _C.cpu.conv2d_backward_input(y, w, x, 0, 1, 0, 0, 1, 1, 1)
    with pytest.raises(ValueError, match="not divisible by groups"):
        _C.cpu.conv2d_backward_weight(x, y, w, 1, 1, 0, 0, 1, 1, 2)
    with pytest.raises(ValueError, match="contiguous"):
        _C.cpu.conv2d_forward(
            np.zeros((1, 5, 5, 3), np.float32).transpose(0, 3, 1, 2), w, y, 1, 1, 0, 0, 1, 1, 1
        )
    with pytest.raises(ValueError, match="read-only"):
        _C.cpu.conv2d_forward(x, w, np.broadcast_to(y, y.shape), 1, 1, 0, 0, 1, 1, 1)


@pytest.mark.parametrize("name", ["gradcore.nn.conv", "gradcore.nn.conv_ops"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_weight_gradient_is_reproducible():
    # Threads' partial sums are added in a fixed order, so repeated runs agree bit for bit.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 8, 12, 12)).astype(np.float32)
    gy = rng.standard_normal((16, 6, 12, 12)).astype(np.float32)
    results = []
    for _ in range(3):
        gw = np.empty((6, 8, 3, 3), np.float32)
        _C.cpu.conv2d_backward_weight(x, gy, gw, 1, 1, 1, 1, 1, 1, 1)
        results.append(gw)
    assert all(np.array_equal(results[0], r) for r in results[1:])
    want = torch.nn.grad.conv2d_weight(
        torch.tensor(x, dtype=torch.float64), (6, 8, 3, 3), torch.tensor(gy, dtype=torch.float64), padding=1
    )
    assert_close(results[0], want.numpy(), atol=1e-3, rtol=1e-4)


# ---------------------------------------------------------------- the CPU kernels' paths
# conv_cpu.cpp runs each kernel either as an implicit GEMM over a padded, stride-phase-split copy of each
# sample (conv_implicit_cpu.h; the input gradient as a flipped conv at stride 1, by stride phases above;
# the weight gradient channels-last, conv_wgrad_cpu.h) or by im2col, choosing by the channel and tap counts.
# GRADCORE_CONV_PATH forces one, so both run on the same shapes here (the env is read at every call).
CPU_PATHS = ["im2col", "implicit"]


@pytest.mark.parametrize("path", CPU_PATHS)
@CASES
@given(c=conv_case())
def test_cpu_paths_conv2d_match_torch(monkeypatch, path, c):
    monkeypatch.setenv("GRADCORE_CONV_PATH", path)
    test_conv2d_matches_torch.hypothesis.inner_test("cpu", c)


@pytest.mark.parametrize("path", CPU_PATHS)
@CASES
@given(c=conv_case(transposed=True))
def test_cpu_paths_conv_transpose2d_match_torch(monkeypatch, path, c):
    monkeypatch.setenv("GRADCORE_CONV_PATH", path)
    test_conv_transpose2d_matches_torch.hypothesis.inner_test("cpu", c)


@pytest.mark.parametrize("path", CPU_PATHS + ["auto"])
@pytest.mark.parametrize(
    "n,c,o,hw,k,kw",
    [
        # 12-row strips: 13 and 25 rows leave strips of 1; 32 is 12 + 12 + 8 (the VAE's layers)
        (3, 16, 13, (9, 10), (3, 3), dict(padding=1)),
        (2, 32, 32, (7, 7), (3, 3), dict(stride=2, padding=1)),  # stride 2: phase-split copy
        (2, 24, 25, (11, 13), (3, 2), dict(stride=(2, 3), padding=(1, 0), dilation=(1, 2))),
        (2, 16, 20, (10, 9), (3, 3), dict(stride=(3, 1), padding=2)),  # rows strided more than columns
        (1, 40, 24, (15, 14), (3, 3), dict(padding=1)),  # one sample: its panels split over threads
        (2, 18, 24, (9, 8), (5, 3), dict(padding=(0, 1), groups=3)),  # groups; 6 channels per group
        (2, 40, 16, (6, 7), (3, 3), dict(padding=3)),  # pad > dil * (k - 1): no flipped-conv input grad
        (3, 9, 12, (8, 8), (2, 2), dict(stride=3)),  # kernel < stride: phases without taps (zero grad)
        (2, 48, 12, (5, 6), (1, 1), {}),  # 1x1: 48 taps, panel of 32 plus a part
    ],
)
@pytest.mark.parametrize("dtype", [gc.float32, gc.float64])
def test_cpu_paths_edges_match_torch(monkeypatch, path, n, c, o, hw, k, kw, dtype):
    # Shapes at the implicit GEMM's edges (strip rows, panel columns, stride phases, crops), both ops.
    if path != "auto":
        monkeypatch.setenv("GRADCORE_CONV_PATH", path)
    g = kw.get("groups", 1)
    rng = np.random.default_rng(n * 100 + c + o)
    arrays = [rng.uniform(-1, 1, (n, c) + hw), rng.uniform(-1, 1, (o, c // g) + k), rng.uniform(-1, 1, o)]
    _compare(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), arrays, dtype, "cpu")
    # conv_transpose2d with the same geometry (and an output_padding where the stride allows one)
    tkw = dict(kw)
    stride = kw.get("stride", 1)
    stride = stride if isinstance(stride, tuple) else (stride, stride)
    if max(stride) > 1:
        tkw["output_padding"] = tuple(s - 1 for s in stride)
    arrays = [rng.uniform(-1, 1, (n, c) + hw), rng.uniform(-1, 1, (c, o // g) + k), rng.uniform(-1, 1, o)]
    _compare(
        lambda *t: F.conv_transpose2d(*t, **tkw),
        lambda *t: TF.conv_transpose2d(*t, **tkw),
        arrays,
        dtype,
        "cpu",
    )


def test_cpu_implicit_padding_is_not_stale():
    # The implicit paths zero each thread's padded copy once and then overwrite only its data positions:
    # a sample full of NaN must not leak into its neighbours' outputs or weight gradient terms.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 32, 9, 9))
    x[1] = np.nan
    w = rng.standard_normal((32, 32, 3, 3))
    gy = rng.standard_normal((4, 32, 9, 9))
    y = np.empty_like(gy)
    _C.cpu.conv2d_forward(x, w, y, 1, 1, 1, 1, 1, 1, 1)
    want = TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    assert np.isnan(y[1]).all() and not np.isnan(y[[0, 2, 3]]).any()
    assert_close(y[[0, 2, 3]], want[[0, 2, 3]], atol=1e-10, rtol=1e-10)
    gx = np.empty_like(x)
    _C.cpu.conv2d_backward_input(gy, w, gx, 1, 1, 1, 1, 1, 1, 1)  # flipped conv over gy (all finite)
    assert_close(
        gx,
        torch.nn.grad.conv2d_input(x.shape, torch.tensor(w), torch.tensor(gy), padding=1).numpy(),
        atol=1e-10,
        rtol=1e-10,
    )
    x[1] = 0.0
    gw = np.empty_like(w)
    _C.cpu.conv2d_backward_weight(x, gy, gw, 1, 1, 1, 1, 1, 1, 1)
    want_w = torch.nn.grad.conv2d_weight(torch.tensor(x), w.shape, torch.tensor(gy), padding=1).numpy()
    assert_close(gw, want_w, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("need", [(True, True, True), (False, False, True), (True, False, False)])
def test_bias_in_one_node_matches_torch(device, transposed, need):
    # conv2d / conv_transpose2d with a bias run as one node (the bias added into the conv's own output):
    # values, each requested gradient (others None) and second order through the bias, against torch.
    op, top = (F.conv_transpose2d, TF.conv_transpose2d) if transposed else (F.conv2d, TF.conv2d)
    kw = dict(stride=2, padding=1, output_padding=1) if transposed else dict(stride=2, padding=1)
    rng = np.random.default_rng(7)
    arrays = [rng.uniform(-1, 1, (2, 4, 5, 5)), rng.uniform(-1, 1, (4, 3, 3, 3)), rng.uniform(-1, 1, 3)]
    if not transposed:
        arrays[1] = rng.uniform(-1, 1, (3, 4, 3, 3))
    ours = [gc.tensor(a, device=device, requires_grad=r) for a, r in zip(arrays, need)]
    theirs = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, need)]
    y, ty = op(*ours, **kw), top(*theirs, **kw)
    assert_close(y.cpu(), ty.detach().numpy(), atol=1e-12, rtol=1e-12)
    ((y * y).sum() + y.sum()).backward()
    ((ty * ty).sum() + ty.sum()).backward()
    for a, b, r in zip(ours, theirs, need):
        if r:
            assert_close(a.grad.cpu(), b.grad.numpy(), atol=1e-10, rtol=1e-10)
        else:
            assert a.grad is None
    if all(need):  # gradients of the bias gradient: second order through the fused node
        x, w, b = (gc.tensor(a, device=device, requires_grad=True) for a in arrays)

        def gb_norm(x, w, b):
            (gb,) = gc.autograd.grad((op(x, w, b, **kw) ** 2).sum(), [b], create_graph=True)
            return (gb * gb).sum()

        assert gradcheck(gb_norm, [x, w, b])
