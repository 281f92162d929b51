"""The native BatchNorm kernels (training, running stats, eval, backward, double backward) against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
from gradcore import nn
from gradcore.nn import functional as F
from gradcore.testing import assert_close, gradcheck

TOL = {"atol": 1e-10, "rtol": 1e-10}


def _pair(array, device="cpu", dtype=gc.float64):
    return (
        gc.tensor(array, dtype=dtype, device=device, requires_grad=True),
        torch.tensor(array, dtype=torch.float64, requires_grad=True),
    )


def _grads(out, ref, inputs, tinputs, device, seed=1):
    w = np.random.default_rng(seed).normal(size=tuple(ref.shape))
    ours = gc.autograd.grad((out * gc.tensor(w, dtype=out.dtype, device=device)).sum(), inputs)
    theirs = torch.autograd.grad((ref * torch.tensor(w, dtype=ref.dtype)).sum(), tinputs)
    return ours, theirs


def _grad_fn_name(t):
    return type(t.grad_fn).__name__ if t.grad_fn is not None else None


@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (7, 3), (5, 3, 4), (2, 3, 2, 2, 3)])
def test_functional_training_matches_torch(device, shape):
    rng = np.random.default_rng(0)
    arr = rng.normal(3.0, 2.0, size=shape)
    x, tx = _pair(arr, device)
    w, tw = _pair(rng.normal(size=3), device)
    b, tb = _pair(rng.normal(size=3), device)
    rm, rv = gc.zeros(3, dtype=gc.float64, device=device), gc.ones(3, dtype=gc.float64, device=device)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3, eps=1e-3)
    ref = TF.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.3, eps=1e-3)
    assert type(out._ctx).__name__ == "BatchNormTrain"  # the native primitive, not the composite
    assert_close(out.cpu(), ref.detach().numpy(), **TOL, name="forward")
    assert_close(rm.cpu(), trm.numpy(), **TOL, name="running_mean")
    assert_close(rv.cpu(), trv.numpy(), **TOL, name="running_var")
    ours, theirs = _grads(out, ref, [x, w, b], [tx, tw, tb], device)
    for name, o, t in zip(("x", "weight", "bias"), ours, theirs):
        assert_close(o.cpu(), t.numpy(), atol=1e-9, rtol=1e-9, name=f"grad {name}")


def test_float32_matches_torch_with_large_mean(device):
    # |mean| >> std: a single-pass float32 E[x^2] - E[x]^2 would lose the variance entirely.
    rng = np.random.default_rng(1)
    arr = (rng.normal(size=(16, 4, 7, 7)) * 0.01 + 1000.0).astype(np.float32)
    x = gc.tensor(arr, device=device, requires_grad=True)
    out = F.batch_norm(x, None, None, training=True)
    ref64 = TF.batch_norm(torch.tensor(arr, dtype=torch.float64), None, None, training=True)
    # x - mean itself rounds at float32's step near 1000 (6e-5, 0.006 std): torch float32 is no closer
    assert_close(out.cpu(), ref64.numpy(), atol=1e-2, rtol=0, name="float32 forward")
    g = rng.normal(size=arr.shape).astype(np.float32)
    (gx,) = gc.autograd.grad(out, x, gc.tensor(g, device=device))
    tx = torch.tensor(arr, dtype=torch.float64, requires_grad=True)
    (tgx,) = torch.autograd.grad(TF.batch_norm(tx, None, None, training=True), tx, torch.tensor(g).double())
    assert gx.dtype is gc.float32
    assert_close(gx.cpu(), tgx.numpy(), atol=0.5, rtol=1e-2, name="float32 grad")  # invstd ~ 100


@pytest.mark.parametrize("momentum", [0.1, None])
def test_module_running_stats_eval_and_counter(device, momentum):
    rng = np.random.default_rng(2)
    ours = nn.BatchNorm2d(3, momentum=momentum, dtype=gc.float64, device=device)
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum, dtype=torch.float64)
    for step in range(3):
        arr = rng.normal(step, 1.0 + step, size=(3, 3, 4, 2))
        x, tx = _pair(arr, device)
        out, ref = ours(x), theirs(tx)
        assert_close(out.cpu(), ref.detach().numpy(), **TOL, name=f"step {step}")
    for name in ("running_mean", "running_var"):
        assert_close(
            getattr(ours, name).cpu(), getattr(theirs, name).numpy(), atol=1e-12, rtol=1e-12, name=name
        )
    assert int(ours.num_batches_tracked.item()) == 3
    ours.eval(), theirs.eval()
    with gc.no_grad():
        ours.weight.copy_(gc.tensor([0.5, -2.0, 1.5], dtype=gc.float64, device=device))
        ours.bias.copy_(gc.tensor([0.1, 0.2, -0.3], dtype=gc.float64, device=device))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, -2.0, 1.5]))
        theirs.bias.copy_(torch.tensor([0.1, 0.2, -0.3], dtype=torch.float64))
    x, tx = _pair(rng.normal(size=(2, 3, 3, 3)), device)
    out, ref = ours(x), theirs(tx)
    assert type(out._ctx).__name__ == "BatchNormEval"
    assert_close(out.cpu(), ref.detach().numpy(), **TOL, name="eval forward")
    ours_g, theirs_g = _grads(out, ref, [x, ours.weight, ours.bias], [tx, theirs.weight, theirs.bias], device)
    for name, o, t in zip(("x", "weight", "bias"), ours_g, theirs_g):
        assert_close(o.cpu(), t.numpy(), atol=1e-10, rtol=1e-10, name=f"eval grad {name}")
    before = ours.running_mean.cpu().numpy().copy()
    ours(x)
    assert (
        np.array_equal(ours.running_mean.cpu().numpy(), before) and int(ours.num_batches_tracked.item()) == 3
    )


def test_one_value_per_channel_in_training_raises_as_torch(device):
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3, device=device)(gc.randn(1, 3, device=device))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(gc.randn(1, 2, 1, 1, device=device), None, None, training=True)
    with pytest.raises(ValueError):
        torch.nn.BatchNorm1d(3)(torch.randn(1, 3))
    bn = nn.BatchNorm1d(3, device=device).eval()  # eval uses the running stats: one value is fine
    assert bn(gc.randn(1, 3, device=device)).shape == (1, 3)


def test_eval_without_running_stats_raises_as_torch():
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(gc.randn(4, 3), None, None, training=False)
    with pytest.raises(RuntimeError, match="running_mean must be defined"):
        TF.batch_norm(torch.randn(4, 3), None, None, training=False)


@pytest.mark.parametrize("shape", [(0, 3, 4, 4), (2, 3, 0)])
def test_empty_batch_matches_torch(device, shape):
    ours = nn.BatchNorm2d(3, device=device) if len(shape) == 4 else nn.BatchNorm1d(3, device=device)
    theirs = torch.nn.BatchNorm2d(3) if len(shape) == 4 else torch.nn.BatchNorm1d(3)
    x = gc.zeros(*shape, device=device, requires_grad=True)
    tx = torch.zeros(*shape, requires_grad=True)
    out, ref = ours(x), theirs(tx)
    assert out.shape == tuple(ref.shape)
    out.sum().backward()
    ref.sum().backward()
    assert x.grad.shape == shape
    assert_close(ours.weight.grad.cpu(), theirs.weight.grad.numpy(), name="weight grad")
    assert_close(ours.bias.grad.cpu(), theirs.bias.grad.numpy(), name="bias grad")
    assert_close(ours.running_mean.cpu(), theirs.running_mean.numpy(), name="running_mean")
    assert_close(ours.running_var.cpu(), theirs.running_var.numpy(), name="running_var")
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked.item()) == 1


def test_non_contiguous_input_matches_torch(device):
    arr = np.random.default_rng(4).normal(size=(3, 5, 4, 6))
    x, tx = _pair(arr, device)
    xt, txt = x.transpose(0, 1), tx.transpose(0, 1)  # (5, 3, 4, 6), channel stride 24
    xs, txs = xt[:, :, ::2], txt[:, :, ::2]
    out = F.batch_norm(xs, None, None, training=True)
    ref = TF.batch_norm(txs, None, None, training=True)
    assert_close(out.cpu(), ref.detach().numpy(), **TOL, name="forward")
    ours, theirs = _grads(out, ref, [x], [tx], device)
    assert_close(ours[0].cpu(), theirs[0].numpy(), atol=1e-10, rtol=1e-10, name="grad")


def test_affine_false_and_no_tracking(device):
    arr = np.random.default_rng(5).normal(size=(4, 2, 3, 3))
    for kwargs in ({"affine": False}, {"track_running_stats": False}):
        ours = nn.BatchNorm2d(2, dtype=gc.float64, device=device, **kwargs)
        theirs = torch.nn.BatchNorm2d(2, dtype=torch.float64, **kwargs)
        for mode in ("train", "eval"):
            getattr(ours, mode)(), getattr(theirs, mode)()
            x, tx = _pair(arr, device)
            out, ref = ours(x), theirs(tx)
            assert_close(out.cpu(), ref.detach().numpy(), **TOL, name=f"{kwargs} {mode}")
            ours_g, theirs_g = _grads(out, ref, [x], [tx], device)
            assert_close(
                ours_g[0].cpu(), theirs_g[0].numpy(), atol=1e-10, rtol=1e-10, name=f"{kwargs} {mode}"
            )


def test_double_backward_gradcheck(device):
    rng = np.random.default_rng(6)
    x = gc.tensor(rng.normal(size=(3, 2, 2, 2)), dtype=gc.float64, device=device, requires_grad=True)
    w = gc.tensor(rng.normal(size=2), dtype=gc.float64, device=device, requires_grad=True)
    b = gc.tensor(rng.normal(size=2), dtype=gc.float64, device=device, requires_grad=True)
    v = gc.tensor(rng.normal(size=(3, 2, 2, 2)), dtype=gc.float64, device=device)

    def first(t, s, c):
        gx, gw, gb = gc.autograd.grad(
            F.batch_norm(t, None, None, s, c, training=True), [t, s, c], v, create_graph=True
        )
        return (gx * gx).sum() + (gw * gb).sum()

    assert gradcheck(lambda t, s, c: F.batch_norm(t, None, None, s, c, training=True), [x, w, b])
    assert gradcheck(first, [x, w, b])
    # against torch's double backward
    tx, tw, tb = (torch.tensor(t.cpu().numpy(), requires_grad=True) for t in (x, w, b))
    tv = torch.tensor(v.cpu().numpy())
    tgx, tgw, tgb = torch.autograd.grad(
        TF.batch_norm(tx, None, None, tw, tb, training=True), [tx, tw, tb], tv, create_graph=True
    )
    theirs = torch.autograd.grad((tgx * tgx).sum() + (tgw * tgb).sum(), [tx, tw])  # b: not in the graph
    ours = gc.autograd.grad(first(x, w, b), [x, w])
    for o, t in zip(ours, theirs):
        assert_close(o.cpu(), t.numpy(), atol=1e-9, rtol=1e-8, name="double backward")


def test_eval_double_backward_gradcheck(device):
    rng = np.random.default_rng(7)
    bn = nn.BatchNorm1d(2, dtype=gc.float64, device=device)
    with gc.no_grad():
        bn.running_mean.copy_(gc.tensor([0.3, -0.2], dtype=gc.float64, device=device))
        bn.running_var.copy_(gc.tensor([2.0, 0.5], dtype=gc.float64, device=device))
    bn.eval()
    x = gc.tensor(rng.normal(size=(4, 2, 3)), dtype=gc.float64, device=device, requires_grad=True)
    v = gc.tensor(rng.normal(size=(4, 2, 3)), dtype=gc.float64, device=device)

    def fwd(t, s):
        return F.batch_norm(t, bn.running_mean, bn.running_var, s, bn.bias)

    def first(t, s):  # the weight gradient depends on x, the input gradient on the weight
        gx, gw = gc.autograd.grad(fwd(t, s), [t, s], v, create_graph=True)
        return (gx * gx).sum() + (gw * gw).sum()

    assert type(fwd(x, bn.weight)._ctx).__name__ == "BatchNormEval"
    assert gradcheck(fwd, [x, bn.weight])
    assert gradcheck(first, [x, bn.weight])


def test_float32_and_half(device):
    rng = np.random.default_rng(8)
    arr = rng.normal(size=(4, 3, 5, 5)).astype(np.float32)
    ref = TF.batch_norm(torch.tensor(arr, dtype=torch.float64), None, None, training=True).numpy()
    out32 = F.batch_norm(gc.tensor(arr, device=device), None, None, training=True)
    assert out32.dtype is gc.float32
    assert_close(out32.cpu(), ref, atol=1e-5, rtol=1e-5, name="float32")
    bn = nn.BatchNorm2d(3, device=device).to(gc.float16)
    x16 = gc.tensor(arr, device=device).to(gc.float16).requires_grad_()
    out16 = bn(x16)
    assert out16.dtype is gc.float16 and bn.running_mean.dtype is gc.float16
    assert_close(out16.float().cpu(), ref, atol=1e-2, rtol=1e-2, name="float16")
    out16.float().sum().backward()
    assert x16.grad.dtype is gc.float16 and bn.weight.grad.dtype is gc.float16
    assert_close(bn.running_mean.float().cpu(), 0.1 * arr.mean(axis=(0, 2, 3)), atol=1e-3, name="half stats")


def test_mixed_dtype_parameters_fall_back_to_the_composite(device):
    # float32 running stats and parameters with float64 input: torch's CPU refuses some mixes (float64
    # input), gradcore computes them in Tensor ops with the usual promotion; compared in float64 here.
    arr = np.random.default_rng(9).normal(size=(4, 3, 2))
    bn = nn.BatchNorm1d(3, device=device)
    out = bn(gc.tensor(arr, dtype=gc.float64, device=device))
    ref = TF.batch_norm(torch.tensor(arr), None, None, training=True)
    assert_close(out.cpu(), ref.numpy(), atol=1e-6, rtol=1e-6)
    assert_close(bn.running_mean.cpu(), 0.1 * arr.mean(axis=(0, 2)), atol=1e-6)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(gc.randn(4, 3), None, None, gc.ones(2), training=True)
    with pytest.raises(TypeError, match="float"):
        F.batch_norm(gc.zeros(4, 3, dtype=gc.int64), None, None, training=True)
    with pytest.raises(ValueError, match="2 or more dims"):
        F.batch_norm(gc.randn(4), None, None, training=True)


@pytest.mark.parametrize("shape", [(40, 1400), (8, 600, 20)])  # enough channels to split across threads
def test_many_channels_match_torch(shape):
    rng = np.random.default_rng(10)
    arr = rng.normal(1.0, 2.0, size=shape)
    x, tx = _pair(arr)
    rm, trm = gc.zeros(shape[1], dtype=gc.float64), torch.zeros(shape[1], dtype=torch.float64)
    rv, trv = gc.ones(shape[1], dtype=gc.float64), torch.ones(shape[1], dtype=torch.float64)
    out = F.batch_norm(x, rm, rv, training=True)
    ref = TF.batch_norm(tx, trm, trv, training=True)
    assert_close(out, ref.detach().numpy(), **TOL, name="forward")
    assert_close(rv, trv.numpy(), **TOL, name="running_var")
    ours, theirs = _grads(out, ref, [x], [tx], "cpu")
    assert_close(ours[0], theirs[0].numpy(), atol=1e-9, rtol=1e-9, name="grad")


def test_native_kernels_check_their_operands():
    from gradcore import _C

    x, w = np.zeros((2, 3, 4), np.float32), np.ones(3, np.float32)
    out, m, v = np.empty_like(x), np.empty_like(w), np.empty_like(w)
    with pytest.raises(ValueError, match="dtype mismatch"):
        _C.cpu.batchnorm_fwd_train(x, w, w, out.astype(np.float64), m, v, 1e-5)
    with pytest.raises(ValueError, match="one per channel"):
        _C.cpu.batchnorm_fwd_train(x, np.ones(2, np.float32), w, out, m, v, 1e-5)
    with pytest.raises(ValueError, match=r"contiguous \(N, C, S\)"):
        _C.cpu.batchnorm_bwd(x, x.reshape(6, 4), w, m, v, out, m, v, 1e-5)
    with pytest.raises(ValueError, match="float32 or float64"):
        _C.cpu.batchnorm_fwd_eval(x.astype(np.int32), w, w, w, w, out, 1e-5)
    with pytest.raises(ValueError, match="running statistics"):
        _C.cpu.batchnorm_update_running(w, w, w.copy(), np.ones(3, np.float64), 0.1, 5)
