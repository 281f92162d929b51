"""gradcore.autocast against torch.autocast (CPU, bfloat16), mixed-precision training, and GradScaler."""

import numpy as np
import pytest
import torch

import gradcore as gc

F = gc.nn.functional
TF = torch.nn.functional


def _ops(lib, fn, x, w, xb, t):
    """The same op table written once for gradcore and once for torch."""
    return {
        "matmul": lambda: x @ w.T,
        "linear": lambda: fn.linear(x, w),
        "matmul_float64": lambda: x.double() @ w.double().T,
        "relu": lambda: x.relu(),
        "add_bf16_f32": lambda: xb + x,
        "sum_bf16": lambda: xb.sum(),
        "mean_bf16": lambda: xb.mean(),
        "log_softmax_bf16": lambda: fn.log_softmax(xb, dim=1),
        "cross_entropy_bf16": lambda: fn.cross_entropy(xb, t),
        "bce_bf16": lambda: fn.binary_cross_entropy(xb.sigmoid(), xb.sigmoid().detach()),
        "prod_bf16": lambda: xb.prod(),
        "mse_bf16": lambda: fn.mse_loss(xb, xb * 0.5),
        "mse_bf16_f32": lambda: fn.mse_loss(xb, x),
        "l1_bf16": lambda: fn.l1_loss(xb, xb * 0.5),
        "smooth_l1_bf16": lambda: fn.smooth_l1_loss(xb, xb * 0.5),
        "nll_bf16": lambda: fn.nll_loss(xb, t),
        "softmax_bf16": lambda: fn.softmax(xb, dim=1),
        "layer_norm_bf16": lambda: fn.layer_norm(xb, (3,)),
        "cumsum_bf16": lambda: xb.cumsum(1),
        "tanh_bf16": lambda: xb.tanh(),
        "exp_bf16": lambda: xb.exp(),
        "sum_f32": lambda: x.sum(),
    }


def test_which_ops_change_dtype_matches_torch_cpu_bfloat16():
    rng = np.random.default_rng(0)
    x32, w32 = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    t64 = np.array([0, 1, 2, 0])
    gx, gw = gc.from_numpy(x32), gc.from_numpy(w32)
    tx, tw = torch.from_numpy(x32), torch.from_numpy(w32)
    ours_ops = _ops(gc, F, gx, gw, gx.bfloat16(), gc.from_numpy(t64))
    ref_ops = _ops(torch, TF, tx, tw, tx.bfloat16(), torch.from_numpy(t64))
    with gc.autocast("cpu"), torch.autocast("cpu"):
        for name in ours_ops:
            ours, ref = ours_ops[name]().dtype, ref_ops[name]().dtype
            assert ours.name == str(ref).split(".")[1], f"{name}: gradcore {ours}, torch {ref}"
    # outside the region nothing changes
    assert (gx @ gw.T).dtype is gc.float32
    with gc.autocast("cpu", dtype=gc.float16):
        assert (gx @ gw.T).dtype is gc.float16


def test_enabled_false_nesting_decorator_and_errors():
    a, b = gc.randn(2, 3), gc.randn(3, 2)
    assert not gc.is_autocast_enabled("cpu") and gc.get_autocast_dtype("cuda") is gc.float16
    with gc.autocast("cpu"):
        assert (a @ b).dtype is gc.bfloat16
        assert gc.is_autocast_enabled("cpu") and not gc.is_autocast_enabled("cuda")
        assert gc.get_autocast_dtype("cpu") is gc.bfloat16
        with gc.autocast("cpu", enabled=False):
            assert (a @ b).dtype is gc.float32
        with gc.autocast("cuda"):  # another device's region leaves cpu ops as they were
            assert (a @ b).dtype is gc.bfloat16

    @gc.autocast("cpu", dtype=gc.float16)
    def f(x, y):
        return x @ y

    assert f(a, b).dtype is gc.float16 and (a @ b).dtype is gc.float32
    with pytest.raises(ValueError, match="device_type"):
        gc.autocast("tpu")
    with pytest.raises(ValueError, match="float16 or bfloat16"):
        gc.autocast("cpu", dtype=gc.float64)


def test_gradients_reach_float32_parameters_in_float32(device):
    lin = gc.nn.Linear(6, 4).to(device)
    x = gc.randn(5, 6, device=device)
    with gc.autocast(device):
        out = lin(x)
        loss = F.cross_entropy(out, gc.tensor([0, 1, 2, 3, 0], device=device))
    half = gc.float16 if device == "cuda" else gc.bfloat16
    assert out.dtype is half and loss.dtype is gc.float32
    loss.backward()
    assert lin.weight.grad.dtype is gc.float32 and lin.bias.grad.dtype is gc.float32
    # against the float32 gradient: within the half type's rounding of the forward
    ref = gc.nn.Linear(6, 4).to(device)
    ref.load_state_dict(lin.state_dict())
    F.cross_entropy(ref(x), gc.tensor([0, 1, 2, 3, 0], device=device)).backward()
    tol = 2e-2 if half is gc.bfloat16 else 3e-3
    np.testing.assert_allclose(
        lin.weight.grad.cpu().numpy(), ref.weight.grad.cpu().numpy(), atol=tol, rtol=tol
    )


def _mlp(seed):
    gc.manual_seed(seed)
    return gc.nn.Sequential(gc.nn.Linear(20, 32), gc.nn.ReLU(), gc.nn.Linear(32, 5))


def test_mlp_training_under_autocast_tracks_float32():
    """Adam on float32 parameters; 30 steps under bfloat16 autocast reach a loss within 0.05 of the
    float32 run's (bfloat16 keeps 8 mantissa bits: ~0.4% per product)."""
    rng = np.random.default_rng(3)
    x = gc.from_numpy(rng.standard_normal((64, 20)).astype(np.float32))
    y = gc.from_numpy(rng.integers(0, 5, 64))
    losses = {}
    for mode in ("float32", "autocast"):
        model = _mlp(1)
        opt = gc.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(30):
            opt.zero_grad()
            with gc.autocast("cpu", enabled=mode == "autocast"):
                loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        losses[mode] = loss.item()
        assert all(p.dtype is gc.float32 for p in model.parameters())
        for state in opt.state.values():
            assert all(v.dtype is gc.float32 for v in state.values() if isinstance(v, gc.Tensor) and v.ndim)
    assert losses["autocast"] < 1.0  # it learned (the start is ~1.6)
    assert abs(losses["autocast"] - losses["float32"]) < 0.05, losses


def test_grad_scaler_scales_unscales_and_skips_inf_steps():
    w = gc.nn.Parameter(gc.ones(2))
    opt = gc.optim.SGD([w], lr=0.5)
    scaler = gc.amp.GradScaler(init_scale=1024.0, growth_interval=2)
    scaler.scale((w * w).sum()).backward()
    assert w.grad.tolist() == [2048.0, 2048.0]
    scaler.step(opt)
    scaler.update()
    assert w.tolist() == [0.0, 0.0] and scaler.get_scale() == 1024.0
    opt.zero_grad()
    scaler.scale((w * float("inf")).sum()).backward()
    scaler.step(opt)  # skipped: the parameters keep their values
    scaler.update()
    assert w.tolist() == [0.0, 0.0] and scaler.get_scale() == 512.0
    for _ in range(2):
        opt.zero_grad()
        scaler.scale(w.sum()).backward()
        scaler.step(opt)
        scaler.update()
    assert scaler.get_scale() == 1024.0  # grown after growth_interval clean steps
    assert gc.amp.GradScaler(enabled=False).scale(w).tolist() == w.tolist()


@pytest.mark.skipif(not hasattr(F, "conv2d"), reason="conv2d arrives with the conv helper's branch")
def test_conv2d_runs_in_the_half_type_as_torch():
    x, w = (
        np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32),
        np.ones((4, 3, 3, 3), np.float32),
    )
    with gc.autocast("cpu"), torch.autocast("cpu"):
        ours = F.conv2d(gc.from_numpy(x), gc.from_numpy(w))
        ref = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w))
    assert ours.dtype is gc.bfloat16 and ref.dtype == torch.bfloat16
    np.testing.assert_allclose(ours.float().numpy(), ref.float().numpy(), rtol=2**-7, atol=2**-6)
