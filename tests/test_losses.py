"""Losses (functional and modules) against torch.nn.functional in float64: forward and input gradients."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
from gradcore import nn
from gradcore.nn import functional as F
from gradcore.testing import assert_close, gradcheck

REDUCTIONS = ["none", "mean", "sum"]


def _pair(array, device, grad=True):
    """The same float64 values as a gradcore tensor (on device) and a torch tensor."""
    g = gc.tensor(array, dtype=gc.float64, device=device, requires_grad=grad)
    t = torch.tensor(array, dtype=torch.float64, requires_grad=grad)
    return g, t


def _check(out, ref, inputs, device, rtol=1e-10, atol=1e-12):
    """Forward values and the gradients of a fixed random weighting of the outputs agree with torch."""
    assert_close(out.cpu(), ref.detach().numpy(), rtol=rtol, atol=atol, name="loss")
    w = np.random.default_rng(1).uniform(0.5, 1.5, ref.shape)
    (out * gc.tensor(w, dtype=gc.float64, device=device)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for i, (g, t) in enumerate(inputs):
        assert_close(g.grad.cpu(), t.grad.numpy(), rtol=rtol, atol=atol, name=f"grad {i}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2, 3), (4,)])
def test_cross_entropy_class_targets_match_torch(device, reduction, shape):
    rng = np.random.default_rng(0)
    x, tx = _pair(rng.normal(size=shape) * 3, device)
    tgt_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    tgt = rng.integers(0, shape[0 if len(shape) == 1 else 1], tgt_shape)
    out = F.cross_entropy(x, gc.tensor(tgt, device=device), reduction=reduction)
    ref = TF.cross_entropy(tx, torch.tensor(tgt), reduction=reduction)
    _check(out, ref, [(x, tx)], device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_weight_ignore_index_label_smoothing_match_torch(device, reduction):
    rng = np.random.default_rng(2)
    x, tx = _pair(rng.normal(size=(6, 5, 3)), device)
    tgt = rng.integers(0, 5, (6, 3))
    tgt[0, 1] = tgt[4, 2] = 255
    wt = rng.uniform(0.2, 2.0, 5)
    kwargs = dict(ignore_index=255, reduction=reduction, label_smoothing=0.15)
    out = F.cross_entropy(x, gc.tensor(tgt, device=device), weight=gc.tensor(wt, device=device), **kwargs)
    ref = TF.cross_entropy(tx, torch.tensor(tgt), weight=torch.tensor(wt), **kwargs)
    _check(out, ref, [(x, tx)], device)


def test_cross_entropy_default_ignore_index_and_fast_path(device):
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(8, 4))
    tgt = rng.integers(0, 4, 8)
    x, tx = _pair(logits, device)
    _check(
        F.cross_entropy(x, gc.tensor(tgt, device=device)),
        TF.cross_entropy(tx, torch.tensor(tgt)),
        [(x, tx)],
        device,
    )
    tgt[[1, 5]] = -100  # default ignore_index: the fused kernel refuses it, the general path skips the rows
    x, tx = _pair(logits, device)
    _check(
        F.cross_entropy(x, gc.tensor(tgt, device=device)),
        TF.cross_entropy(tx, torch.tensor(tgt)),
        [(x, tx)],
        device,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_match_torch(device, reduction):
    rng = np.random.default_rng(4)
    x, tx = _pair(rng.normal(size=(4, 5, 2)), device)
    p = rng.dirichlet(np.ones(5), size=(4, 2)).transpose(0, 2, 1)
    y, ty = _pair(np.ascontiguousarray(p), device)
    wt = rng.uniform(0.5, 2.0, 5)
    out = F.cross_entropy(x, y, weight=gc.tensor(wt, device=device), reduction=reduction, label_smoothing=0.1)
    ref = TF.cross_entropy(tx, ty, weight=torch.tensor(wt), reduction=reduction, label_smoothing=0.1)
    _check(out, ref, [(x, tx), (y, ty)], device)


def test_cross_entropy_out_of_range_target_raises_index_error(device):
    x = gc.zeros(3, 4, device=device)
    # The fused kernel raises at once on the CPU; on CUDA it flags the device and .item() (a sync) raises.
    with pytest.raises(IndexError, match="target 7"):
        F.cross_entropy(x, gc.tensor([0, 7, 1], device=device)).item()
    with pytest.raises(IndexError, match="target -3"):
        F.cross_entropy(x, gc.tensor([0, -3, 1], device=device), reduction="sum").item()
    with pytest.raises(IndexError, match="target 4"):
        F.nll_loss(x, gc.tensor([0, 4, 1], device=device))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, gc.tensor([0, 1, 1], device=device), reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_weight_and_ignore_index_match_torch(device, reduction):
    rng = np.random.default_rng(5)
    x, tx = _pair(rng.normal(size=(7, 3)), device)
    tgt = rng.integers(0, 3, 7)
    tgt[2] = -100
    wt = rng.uniform(0.5, 2.0, 3)
    out = F.nll_loss(
        x, gc.tensor(tgt, device=device), weight=gc.tensor(wt, device=device), reduction=reduction
    )
    ref = TF.nll_loss(tx, torch.tensor(tgt), weight=torch.tensor(wt), reduction=reduction)
    _check(out, ref, [(x, tx)], device)


def test_cross_entropy_double_backward_composite_path():
    rng = np.random.default_rng(6)
    tgt = gc.tensor(rng.integers(0, 3, (2, 2)))
    x = gc.tensor(rng.normal(size=(2, 3, 2)), dtype=gc.float64, requires_grad=True)
    gradcheck(lambda t: F.cross_entropy(t, tgt, label_smoothing=0.2, reduction="sum"), [x])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_weight_and_reduction_match_torch(device, reduction):
    rng = np.random.default_rng(7)
    p, tp = _pair(rng.uniform(0.01, 0.99, (4, 3)), device)
    y, ty = _pair(rng.uniform(0, 1, (4, 3)), device)
    wt = rng.uniform(0.5, 2.0, 3)
    out = F.binary_cross_entropy(p, y, weight=gc.tensor(wt, device=device), reduction=reduction)
    ref = TF.binary_cross_entropy(tp, ty, weight=torch.tensor(wt), reduction=reduction)
    _check(out, ref, [(p, tp), (y, ty)], device)


def test_binary_cross_entropy_saturated_and_out_of_range(device):
    p, tp = _pair(np.array([0.0, 1.0, 0.5, 1.0]), device)
    y, ty = _pair(np.array([1.0, 0.0, 1.0, 1.0]), device, grad=False)
    out = F.binary_cross_entropy(p, y, reduction="none")
    ref = TF.binary_cross_entropy(tp, ty, reduction="none")
    _check(out, ref, [(p, tp)], device, rtol=1e-8)  # torch's clamp 1e-12 is a float32 constant
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(gc.tensor([0.5, 1.5], device=device), gc.tensor([1.0, 0.0], device=device))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        nn.BCELoss()(gc.tensor([-0.1], device=device), gc.tensor([1.0], device=device))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_pos_weight_match_torch(device, reduction):
    rng = np.random.default_rng(8)
    x, tx = _pair(rng.normal(size=(5, 3)) * 30, device)  # large logits: the stable form must hold
    y, ty = _pair(rng.uniform(0, 1, (5, 3)), device)
    pw, wt = rng.uniform(0.5, 3.0, 3), rng.uniform(0.5, 2.0, (5, 1))
    out = F.binary_cross_entropy_with_logits(
        x,
        y,
        weight=gc.tensor(wt, device=device),
        reduction=reduction,
        pos_weight=gc.tensor(pw, device=device),
    )
    ref = TF.binary_cross_entropy_with_logits(
        tx, ty, weight=torch.tensor(wt), reduction=reduction, pos_weight=torch.tensor(pw)
    )
    _check(out, ref, [(x, tx), (y, ty)], device, rtol=1e-9, atol=1e-10)
    module = nn.BCEWithLogitsLoss(
        weight=gc.tensor(wt, device=device), pos_weight=gc.tensor(pw, device=device), reduction=reduction
    )
    assert_close(module(x, y).cpu(), ref.detach().numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("mse_loss", {}),
        ("l1_loss", {}),
        ("smooth_l1_loss", {"beta": 0.7}),
        ("smooth_l1_loss", {"beta": 0.0}),
        ("huber_loss", {"delta": 0.8}),
    ],
)
def test_regression_losses_match_torch(device, reduction, name, kwargs):
    rng = np.random.default_rng(9)
    a, ta = _pair(rng.normal(size=(4, 5)), device)
    b, tb = _pair(rng.normal(size=(4, 5)), device)
    out = getattr(F, name)(a, b, reduction=reduction, **kwargs)
    ref = getattr(TF, name)(ta, tb, reduction=reduction, **kwargs)
    _check(out, ref, [(a, ta), (b, tb)], device)


def test_loss_modules_pass_their_options():
    rng = np.random.default_rng(10)
    x, tx = _pair(rng.normal(size=(6, 4)), "cpu", grad=False)
    tgt = rng.integers(0, 4, 6)
    wt = rng.uniform(0.5, 2, 4)
    pairs = [
        (
            nn.CrossEntropyLoss(weight=gc.tensor(wt), reduction="sum", label_smoothing=0.1),
            torch.nn.CrossEntropyLoss(weight=torch.tensor(wt), reduction="sum", label_smoothing=0.1),
            True,
        ),
        (nn.NLLLoss(reduction="none"), torch.nn.NLLLoss(reduction="none"), True),
        (nn.MSELoss(reduction="sum"), torch.nn.MSELoss(reduction="sum"), False),
        (nn.L1Loss(), torch.nn.L1Loss(), False),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), False),
        (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), False),
    ]
    y = rng.normal(size=(6, 4))
    for ours, theirs, classes in pairs:
        target_g = gc.tensor(tgt) if classes else gc.tensor(y, dtype=gc.float64)
        target_t = torch.tensor(tgt) if classes else torch.tensor(y)
        assert_close(ours(x, target_g), theirs(tx, target_t).numpy(), rtol=1e-10, name=type(ours).__name__)


def test_mse_broadcast_warns_like_torch():
    with pytest.warns(UserWarning, match="broadcast"):
        out = F.mse_loss(gc.zeros(3, 1), gc.ones(3))
    assert out.item() == 1.0
