"""float16 / bfloat16: casts bit-exact with torch, ops rounded once as torch's, promotion, DLPack, save/load
(the device fixture runs the ops on the emulated cuda device too)."""

import ml_dtypes
import numpy as np
import pytest
import torch

import gradcore as gc

HALF = [(gc.float16, torch.float16), (gc.bfloat16, torch.bfloat16)]
IDS = ["float16", "bfloat16"]


def _bits(t):
    """The 16-bit patterns of a gradcore half tensor, as uint16."""
    return np.ascontiguousarray(t.cpu().numpy()).view(np.uint16)


def _torch_bits(t):
    return t.contiguous().view(torch.int16).numpy().view(np.uint16)


def _from_bits(bits, dtype):
    npdt = np.float16 if dtype is gc.float16 else ml_dtypes.bfloat16
    return gc.from_numpy(np.ascontiguousarray(bits, dtype=np.uint16).view(npdt))


def _assert_bits(ours_t, ref_t, is_f16):
    """Equal bit patterns, except that any NaN matches any NaN (torch's scalar and vector paths differ)."""
    ours, ref = _bits(ours_t), _torch_bits(ref_t)
    inf = 0x7C00 if is_f16 else 0x7F80
    nan_o, nan_r = (ours & 0x7FFF) > inf, (ref & 0x7FFF) > inf
    np.testing.assert_array_equal(nan_o, nan_r)
    bad = np.flatnonzero((ours != ref) & ~nan_o)
    assert bad.size == 0, (
        f"{bad.size} mismatches, first at {bad[0]}: ours {ours[bad[0]]:#06x} torch {ref[bad[0]]:#06x}"
    )


def _float32_sample(n=1 << 18, seed=0):
    """Random float32 bit patterns plus every half/bfloat16 value and the midpoints around them."""
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)
    bf = (np.arange(1 << 16, dtype=np.uint32) << 16).view(np.float32)
    near = np.concatenate([halves, bf])
    near_bits = near.view(np.uint32)
    ties = np.concatenate([near_bits + d for d in (1, 0x1000, 0x0FFF, 0x1001, 0x8000, 0x7FFF, 0x8001)])
    special = np.array(
        [
            65504,
            65519.99,
            65520,
            65536,
            1e-8,
            2.0**-25,
            2.0**-24,
            2.0**-14,
            -0.0,
            np.inf,
            -np.inf,
            3.4e38,
            np.nan,
        ],
        np.float32,
    )
    return np.concatenate([rand, near, ties.astype(np.uint32).view(np.float32), special])


# ------------------------------------------------------------------ casts


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_every_half_bit_pattern_to_float32_matches_torch(dt, tdt):
    bits = np.arange(1 << 16, dtype=np.uint16)
    ours = _from_bits(bits, dt).float().numpy()
    ref = torch.from_numpy(bits.view(np.int16)).view(tdt).float().numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    ok = ~np.isnan(ref)
    np.testing.assert_array_equal(ours[ok].view(np.uint32), ref[ok].view(np.uint32))


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_float32_to_half_rounds_as_torch(dt, tdt):
    x = _float32_sample()
    _assert_bits(gc.from_numpy(x).to(dt), torch.from_numpy(x).to(tdt), dt is gc.float16)


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_float64_and_ints_to_half_as_torch(dt, tdt):
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [rng.standard_normal(5000) * 10.0 ** rng.integers(-9, 6, 5000), [1e300, -1e-300, 65519.5]]
    )
    _assert_bits(gc.from_numpy(x).to(dt), torch.from_numpy(x).to(tdt), dt is gc.float16)
    for npdt in (np.int32, np.int64):
        i = rng.integers(-(1 << 20), 1 << 20, 5000).astype(npdt)
        _assert_bits(gc.from_numpy(i).to(dt), torch.from_numpy(i).to(tdt), dt is gc.float16)
    b = np.array([True, False])
    _assert_bits(gc.from_numpy(b).to(dt), torch.from_numpy(b).to(tdt), dt is gc.float16)


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_half_to_ints_bool_float64_as_torch(dt, tdt):
    x = np.random.default_rng(2).uniform(-3000, 3000, 4000).astype(np.float32)
    x[:4] = [0.0, -0.0, 0.5, -0.75]
    ours, ref = gc.from_numpy(x).to(dt), torch.from_numpy(x).to(tdt)
    for g, t in (
        (gc.int32, torch.int32),
        (gc.int64, torch.int64),
        (gc.bool, torch.bool),
        (gc.float64, torch.float64),
    ):
        np.testing.assert_array_equal(ours.to(g).numpy(), ref.to(t).numpy())
    assert ours.to(dt) is ours or np.array_equal(_bits(ours.to(dt)), _bits(ours))
    other = gc.bfloat16 if dt is gc.float16 else gc.float16
    tother = torch.bfloat16 if dt is gc.float16 else torch.float16
    _assert_bits(ours.to(other), ref.to(tother), other is gc.float16)


def test_tensor_creation_and_methods():
    a = gc.tensor([1.0, 2.0], dtype=gc.float16)
    assert a.dtype is gc.float16 and gc.half is gc.float16 and a.element_size() == 2
    assert gc.tensor(np.ones(2, np.float16)).dtype is gc.float16  # NumPy float16 is kept, as torch
    assert (
        a.half().dtype is gc.float16 and a.bfloat16().dtype is gc.bfloat16 and a.float().dtype is gc.float32
    )
    assert (
        a.is_floating_point()
        and gc.bfloat16.is_floating_point
        and gc.zeros(2, dtype="bfloat16").dtype is gc.bfloat16
    )
    assert a.type() == "gradcore.HalfTensor" and a.bfloat16().type() == "gradcore.BFloat16Tensor"
    # Python floats reach a half type through float32, as torch.tensor(..., dtype=half) rounds
    v = [0.1, 1 / 3, 65519.9, 1e-6]
    for dt, tdt in HALF:
        _assert_bits(gc.tensor(v, dtype=dt), torch.tensor(v, dtype=tdt), dt is gc.float16)
        _assert_bits(gc.full((3,), 0.1, dtype=dt), torch.full((3,), 0.1, dtype=tdt), dt is gc.float16)


# ------------------------------------------------------------------ promotion


def test_promotion_table_matches_torch():
    pairs = [
        (gc.float16, torch.float16),
        (gc.bfloat16, torch.bfloat16),
        (gc.float32, torch.float32),
        (gc.float64, torch.float64),
        (gc.int32, torch.int32),
        (gc.int64, torch.int64),
        (gc.bool, torch.bool),
    ]
    for ga, ta in pairs:
        for gb, tb in pairs:
            if ga not in (gc.float16, gc.bfloat16) and gb not in (gc.float16, gc.bfloat16):
                continue
            ours = (gc.ones(2, dtype=ga) + gc.ones(2, dtype=gb)).dtype
            ref = (torch.ones(2, dtype=ta) + torch.ones(2, dtype=tb)).dtype
            assert ours.name == str(ref).split(".")[1], (ga, gb, ours, ref)
    for dt, tdt in HALF:  # Python scalars keep the half type
        assert (gc.ones(2, dtype=dt) * 2.5).dtype is dt and (torch.ones(2, dtype=tdt) * 2.5).dtype == tdt
        assert (gc.ones(2, dtype=dt) + 3).dtype is dt


# ------------------------------------------------------------------ ops: float32 inside, rounded once


def _rand(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_elementwise_ops_round_once_as_torch(dt, tdt, device):
    a32, b32 = _rand((64, 33), 3), _rand((64, 33), 4)
    a, b = gc.from_numpy(a32).to(dt).to(device), gc.from_numpy(b32).to(dt).to(device)
    ta, tb = torch.from_numpy(a32).to(tdt), torch.from_numpy(b32).to(tdt)
    f16 = dt is gc.float16
    for name in ("add", "sub", "mul", "div", "maximum"):
        dunder = "__truediv__" if name == "div" else f"__{name}__"
        ours = gc.maximum(a, b) if name == "maximum" else getattr(a, dunder)(b)
        ref = getattr(torch, name)(ta, tb)
        assert ours.dtype is dt
        _assert_bits(ours, ref, f16)
    for name in ("relu", "abs"):
        _assert_bits(getattr(a, name)(), getattr(ta, name)(), f16)
    _assert_bits(-a, -ta, f16)
    _assert_bits(a[:, 1:] * b[0, 1:], ta[:, 1:] * tb[0, 1:], f16)  # strided and broadcast operands
    # transcendental ones: float32 kernels differ from torch's by an ulp at most, so one half ulp
    for name in ("exp", "tanh", "sigmoid", "sqrt"):
        x = a.abs() if name == "sqrt" else a
        ours, ref = getattr(x, name)().float().cpu().numpy(), getattr(x.cpu().float(), name)().numpy()
        ref16 = torch.from_numpy(ref).to(tdt).float().numpy()
        ulp = 2.0**-10 if f16 else 2.0**-7
        np.testing.assert_allclose(ours, ref16, rtol=ulp, atol=1e-7)


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_matmul_and_linear_round_once(dt, tdt, device):
    a32, w32 = _rand((17, 40), 5), _rand((9, 40), 6)
    a, w = gc.from_numpy(a32).to(dt).to(device), gc.from_numpy(w32).to(dt).to(device)
    out = a @ w.T
    assert out.dtype is dt
    # reference: the float64 product of the half inputs, rounded once to the half type
    ref = a.double().cpu().numpy() @ w.double().cpu().numpy().T
    ref_h = torch.from_numpy(ref).float().to(tdt).float().numpy()
    ulp = 2.0**-10 if dt is gc.float16 else 2.0**-7
    np.testing.assert_allclose(out.float().cpu().numpy(), ref_h, rtol=ulp, atol=1e-3)
    lin = gc.nn.functional.linear(a, w, gc.zeros(9, dtype=dt, device=device))
    np.testing.assert_allclose(lin.float().cpu().numpy(), ref_h, rtol=ulp, atol=1e-3)


@pytest.mark.parametrize("dt", [gc.float16, gc.bfloat16], ids=IDS)
def test_sum_of_1e5_halves_accumulates_in_float(dt, device):
    x = gc.from_numpy(np.random.default_rng(7).uniform(0, 1, 100_000).astype(np.float32)).to(dt).to(device)
    exact = x.double().sum().item()
    got = x.sum()
    assert got.dtype is dt
    # one rounding to the half type of a sum accurate to float32 (a half accumulator would be off by far more)
    ulp = 2.0**-10 if dt is gc.float16 else 2.0**-7
    assert abs(got.item() - exact) <= ulp * abs(exact)
    assert abs(x.float().sum().item() - exact) <= 1e-6 * exact
    assert abs(x.mean().item() - exact / 1e5) <= ulp * exact / 1e5


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_softmax_family_and_layer_norm_return_half(dt, tdt, device):
    x32 = _rand((8, 10), 8, 3.0)
    x, tx = gc.from_numpy(x32).to(dt).to(device), torch.from_numpy(x32).to(tdt)
    F = gc.nn.functional
    ulp = 2.0**-10 if dt is gc.float16 else 2.0**-7
    for ours, ref in (
        (F.log_softmax(x, dim=1), torch.log_softmax(tx, 1)),
        (F.softmax(x, dim=1), torch.softmax(tx, 1)),
        (F.layer_norm(x, (10,)), torch.nn.functional.layer_norm(tx, (10,))),
    ):
        assert ours.dtype is dt
        np.testing.assert_allclose(
            ours.float().cpu().numpy(), ref.float().numpy(), rtol=2 * ulp, atol=4 * ulp
        )
    t = gc.tensor([1, 0, 3, 9, 2, 2, 0, 5], device=device)
    ce = F.cross_entropy(x, t)
    ref = torch.nn.functional.cross_entropy(tx, torch.tensor(t.cpu().numpy()))
    assert ce.dtype is dt
    np.testing.assert_allclose(ce.float().item(), ref.float().item(), rtol=2 * ulp)


@pytest.mark.parametrize("dt", [gc.float16, gc.bfloat16], ids=IDS)
def test_backward_of_half_tensors_gives_half_gradients(dt, device):
    w = gc.from_numpy(_rand((4, 3), 9)).to(dt).to(device).requires_grad_()
    x = gc.from_numpy(_rand((5, 4), 10)).to(dt).to(device)
    (x @ w).relu().sum().backward()
    assert w.grad.dtype is dt
    ref = x.double().T @ ((x.double() @ w.double()) > 0).double()
    ulp = 2.0**-10 if dt is gc.float16 else 2.0**-7
    np.testing.assert_allclose(w.grad.double().cpu().numpy(), ref.cpu().numpy(), rtol=4 * ulp, atol=4 * ulp)


def test_indexing_where_cat_keep_bits(device):
    x = _from_bits(np.arange(0, 1 << 16, 7, dtype=np.uint16), gc.bfloat16).to(device)
    np.testing.assert_array_equal(_bits(x[5:40:3]), _bits(x)[5:40:3])
    np.testing.assert_array_equal(_bits(gc.cat([x[:3], x[-2:]])), np.r_[_bits(x)[:3], _bits(x)[-2:]])
    m = gc.from_numpy(np.arange(x.numel()) % 2 == 0).to(device)
    h = x.to(gc.float16)
    np.testing.assert_array_equal(
        _bits(gc.where(m, h, h * 0)), np.where(m.cpu().numpy(), _bits(h), _bits(h * 0))
    )


# ------------------------------------------------------------------ interop and checkpoints


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_dlpack_round_trip_with_torch(dt, tdt):
    x = gc.from_numpy(_rand((3, 4), 11)).to(dt)
    t = torch.from_dlpack(x)
    assert t.dtype == tdt
    np.testing.assert_array_equal(_torch_bits(t), _bits(x))
    t[0, 0] = 7.0  # shared memory
    assert x[0, 0].item() == 7.0
    back = gc.from_dlpack(torch.arange(6, dtype=tdt).reshape(2, 3).T)  # strided producer
    assert back.dtype is dt and back.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]


@pytest.mark.parametrize("dt", [gc.float16, gc.bfloat16], ids=IDS)
def test_save_load_round_trip(dt, tmp_path):
    x = _from_bits(np.arange(0, 1 << 16, 3, dtype=np.uint16), dt)
    gc.save({"x": x, "y": (x[:5],)}, tmp_path / "h.npz")
    back = gc.load(tmp_path / "h.npz")
    assert gc.tensor(back["x"]).dtype is dt
    np.testing.assert_array_equal(back["x"].view(np.uint16), _bits(x))
    np.testing.assert_array_equal(back["y"][0].view(np.uint16), _bits(x)[:5])


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_optimizer_steps_half_parameters_as_torch(dt, tdt, opt, device):
    """The fused step runs in float32 on float32 twins of the half parameter, gradient and state, and
    rounds each once; torch's step differs by a half-type ulp at most."""
    p32, g32 = _rand((50,), 14), _rand((50,), 15)
    p = gc.nn.Parameter(gc.from_numpy(p32).to(dt).to(device))
    tp = torch.nn.Parameter(torch.from_numpy(p32).to(tdt))
    kw = {"lr": 0.1, "momentum": 0.9} if opt == "SGD" else {"lr": 0.01}
    ours, ref = getattr(gc.optim, opt)([p], **kw), getattr(torch.optim, opt)([tp], **kw, foreach=False)
    for _ in range(3):
        p.grad = gc.from_numpy(g32).to(dt).to(device)
        tp.grad = torch.from_numpy(g32).to(tdt)
        ours.step()
        ref.step()
    assert p.dtype is dt
    ulp = 2.0**-10 if dt is gc.float16 else 2.0**-7
    got, want = p.float().cpu().numpy(), tp.float().detach().numpy()
    np.testing.assert_allclose(got, want, rtol=2 * ulp, atol=2 * ulp)


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_python_scalars_as_torch(dt, tdt, device):
    x32 = _rand((300,), 12, 100.0)
    x, tx = gc.from_numpy(x32).to(dt).to(device), torch.from_numpy(x32).to(tdt)
    f16 = dt is gc.float16
    # torch's rules: * and / keep the number in float32, + and - round it to the half type first
    for ours, ref in (
        (x * 0.1, tx * 0.1),
        (0.3 * x, 0.3 * tx),
        (x / 3.7, tx / 3.7),
        (x / 100000, tx / 100000),  # 100000 is inf as a float16: the scalar stays float32
        (3.7 / x, 3.7 / tx),
        (0.3 - x, 0.3 - tx),
        (x - 0.3, tx - 0.3),
        (x + 3.7, tx + 3.7),
        (0.1 + x, 0.1 + tx),
    ):
        assert ours.dtype is dt
        _assert_bits(ours, ref, f16)


# ------------------------------------------------------------------ tensor cores (a real GPU only)

real_gpu = pytest.mark.skipif(
    not gc.cuda.is_available() or gc.cuda.EMULATED, reason="tensor-core matmul: needs a real GPU (sm_80+)"
)


@pytest.mark.cuda
@real_gpu
@pytest.mark.parametrize("dt", [gc.float16, gc.bfloat16], ids=IDS)
@pytest.mark.parametrize("shape", [(1, 1, 1), (70, 33, 129), (128, 256, 64), (5, 1000, 3)])
def test_tensor_core_matmul_against_float64(dt, shape):
    """WMMA with float accumulation, rounded once: |C - C64| <= 2 half-ulps of |C64| + K * 2^-24 * sum|a||b|
    (the float32 accumulation error bound) + 2^-24 (float16's subnormal spacing), on ragged shapes, a
    transposed operand and a broadcast batch."""
    M, K, N = shape
    rng = np.random.default_rng(M + K + N)
    a = gc.from_numpy(rng.standard_normal((3, M, K)).astype(np.float32)).to(dt)
    b = gc.from_numpy(rng.standard_normal((N, K)).astype(np.float32)).to(dt)
    out = a.cuda() @ b.cuda().T.expand(3, K, N)
    assert out.dtype is dt
    a64, b64 = a.double().numpy(), b.double().numpy().T
    ref = a64 @ b64
    bound = np.abs(a64) @ np.abs(b64)
    ulp = 2.0**-10 if dt is gc.float16 else 2.0**-7
    err = np.abs(out.double().cpu().numpy() - ref)
    assert (err <= 2 * ulp * np.abs(ref) + K * 2.0**-24 * bound + 2.0**-24).all(), err.max()


def test_finfo_matches_torch():
    for dt, tdt in HALF + [(gc.float32, torch.float32), (gc.float64, torch.float64)]:
        ours, ref = gc.finfo(dt), torch.finfo(tdt)
        for key in ("max", "min", "eps", "tiny", "smallest_normal", "resolution", "bits"):
            assert getattr(ours, key) == getattr(ref, key), (dt, key)
    with pytest.raises(TypeError, match="floating"):
        gc.finfo(gc.int32)
    x = gc.tensor([3e4, -4e4, 100.0], dtype=gc.float16)  # norm scales by finfo(max) of the half type
    np.testing.assert_allclose(x.norm().item(), np.linalg.norm([3e4, -4e4, 100.0]), rtol=1e-3)


@pytest.mark.parametrize("dt", [gc.float16, gc.bfloat16], ids=IDS)
def test_module_in_a_half_type_runs_forward_and_backward(dt, device):
    gc.manual_seed(0)
    nn = gc.nn
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 3)).to(device)
    ref = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 3)).to(device)
    ref.load_state_dict(model.state_dict())
    model.half() if dt is gc.float16 else model.bfloat16()
    assert all(p.dtype is dt for p in model.parameters())
    x = gc.from_numpy(_rand((4, 8), 13)).to(device)
    y = gc.tensor([0, 2, 1, 0], device=device)
    loss = gc.nn.functional.cross_entropy(model(x.to(dt)), y)
    loss.backward()
    gc.nn.functional.cross_entropy(ref(x), y).backward()
    assert loss.dtype is dt and all(p.grad.dtype is dt for p in model.parameters())
    tol = 2e-2 if dt is gc.float16 else 8e-2
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.float().cpu().numpy(), q.grad.cpu().numpy(), atol=tol, rtol=tol)


@pytest.mark.parametrize("dt", [gc.float16, gc.bfloat16], ids=IDS)
def test_dlpack_round_trip_within_gradcore(dt, device):
    """Both devices' capsules carry the half type codes (kDLFloat/16, kDLBfloat/16) and share memory."""
    x = gc.from_numpy(_rand((2, 5), 16)).to(dt).to(device)
    y = gc.from_dlpack(x.T)
    assert y.dtype is dt and y.device == device and y.shape == (5, 2)
    np.testing.assert_array_equal(_bits(y), _bits(x.T))
    x.fill_(2.0)
    assert y.float().cpu().numpy().tolist() == [[2.0, 2.0]] * 5


@pytest.mark.parametrize("dt,tdt", HALF, ids=IDS)
def test_conv2d_in_half_types_against_torch(dt, tdt, device):
    x32, w32 = _rand((2, 3, 7, 7), 17), _rand((4, 3, 3, 3), 18)
    x = gc.from_numpy(x32).to(dt).to(device).requires_grad_()
    w = gc.from_numpy(w32).to(dt).to(device).requires_grad_()
    out = gc.nn.functional.conv2d(x, w, padding=1)
    out.sum().backward()
    tx, tw = torch.from_numpy(x32).to(tdt).requires_grad_(), torch.from_numpy(w32).to(tdt).requires_grad_()
    ref = torch.nn.functional.conv2d(tx, tw, padding=1)
    ref.sum().backward()
    assert out.dtype is dt and w.grad.dtype is dt and x.grad.dtype is dt
    ulp = 2.0**-10 if dt is gc.float16 else 2.0**-7
    for ours, want in ((out, ref), (w.grad, tw.grad), (x.grad, tx.grad)):
        want = want.detach().float().numpy()
        got = ours.float().cpu().numpy()
        np.testing.assert_allclose(got, want, rtol=2 * ulp, atol=2 * ulp * np.abs(want).max())


def test_bfloat16_repr_prints_floats_as_torch():
    # ml_dtypes' bfloat16 made array2string print "2" for 2.0; torch prints "2."
    t = gc.ones(3, dtype=gc.bfloat16) * 2
    assert repr(t) == "tensor([2., 2., 2.], dtype=gradcore.bfloat16)"
    assert repr(torch.ones(3, dtype=torch.bfloat16) * 2).replace("torch", "gradcore") == repr(t)
