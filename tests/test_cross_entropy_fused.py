"""The fused softmax-CE path of cross_entropy: ignore_index, reductions, int32 targets, against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
from gradcore import ops
from gradcore.nn import functional as F
from gradcore.testing import assert_close, gradcheck


def _run(device, logits, targets, ignore_index=-100, reduction="mean", tdtype=gc.int64):
    """gradcore's and torch's loss and d(sum of a fixed weighting of the loss)/d(logits), float64."""
    x = gc.tensor(logits, dtype=gc.float64, device=device, requires_grad=True)
    t = gc.tensor(targets, device=device).to(tdtype)
    out = F.cross_entropy(x, t, ignore_index=ignore_index, reduction=reduction)
    assert out._ctx is not None and type(out._ctx) is ops.SoftmaxCrossEntropy  # the fused path ran
    tx = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    ref = TF.cross_entropy(tx, torch.tensor(targets), ignore_index=ignore_index, reduction=reduction)
    w = np.random.default_rng(1).uniform(0.5, 1.5, ref.shape)
    (out * gc.tensor(w, dtype=gc.float64, device=device)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    return out.cpu().numpy(), ref.detach().numpy(), x.grad.cpu().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_ignore_index_matches_torch(device, reduction, ignore_index):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(9, 5)) * 3
    targets = rng.integers(0, 5, 9)
    targets[[1, 4, 7]] = ignore_index  # a mix of kept and ignored rows
    out, ref, grad, tgrad = _run(device, logits, targets, ignore_index, reduction)
    assert_close(out, ref, rtol=1e-10, atol=1e-12, name="loss")
    assert_close(grad, tgrad, rtol=1e-10, atol=1e-12, name="grad")
    assert not grad[[1, 4, 7]].any()  # ignored rows get no gradient


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_all_rows_ignored_gives_torch_results(device, reduction):
    logits = np.random.default_rng(2).normal(size=(4, 3))
    out, ref, grad, tgrad = _run(device, logits, np.full(4, -100), reduction=reduction)
    if reduction == "mean":
        assert np.isnan(out) and np.isnan(ref)  # 0/0, as torch
    else:
        assert_close(out, ref, name="loss")
        assert not np.asarray(out).any()
    assert not grad.any() and not tgrad.any()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_int32_targets_match_int64(device, reduction):
    rng = np.random.default_rng(3)
    logits, targets = rng.normal(size=(6, 7)), rng.integers(0, 7, 6)
    targets[2] = -100
    out, ref, grad, tgrad = _run(device, logits, targets, reduction=reduction, tdtype=gc.int32)
    assert_close(out, ref, rtol=1e-10, atol=1e-12, name="loss")
    assert_close(grad, tgrad, rtol=1e-10, atol=1e-12, name="grad")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_double_backward_with_ignored_rows(device, reduction):
    rng = np.random.default_rng(4)
    x = gc.tensor(rng.normal(size=(5, 4)), dtype=gc.float64, device=device, requires_grad=True)
    t = gc.tensor(np.array([0, -100, 3, 1, -100]), device=device)
    # gradcheck of the first derivative: the create_graph backward must agree with the fused one.
    gradcheck(lambda a: F.cross_entropy(a, t, reduction=reduction).sum(), [x])
    x.grad = None
    (g,) = gc.autograd.grad(F.cross_entropy(x, t, reduction=reduction).sum(), [x], create_graph=True)
    tx = torch.tensor(x.detach().cpu().numpy(), requires_grad=True)
    tloss = TF.cross_entropy(tx, torch.tensor([0, -100, 3, 1, -100]), reduction=reduction).sum()
    (tg,) = torch.autograd.grad(tloss, [tx], create_graph=True)
    assert_close(g.cpu(), tg.detach().numpy(), rtol=1e-10, atol=1e-12, name="grad")
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    assert_close(x.grad.cpu(), tx.grad.numpy(), rtol=1e-8, atol=1e-10, name="grad of grad")


def test_bad_target_is_named_and_ignore_index_is_not_bad(device):
    x = gc.zeros(3, 4, device=device)
    with pytest.raises(IndexError, match="target 9 at row 2"):
        F.cross_entropy(x, gc.tensor([-100, 1, 9], device=device), reduction="none").sum().item()
    # -1 is out of range unless it is the ignore_index
    with pytest.raises(IndexError, match="target -1 at row 0"):
        F.cross_entropy(x, gc.tensor([-1, 1, 2], device=device)).item()
    assert F.cross_entropy(x, gc.tensor([-1, 1, 2], device=device), ignore_index=-1).item() == pytest.approx(
        np.log(4.0)
    )


def test_native_kernel_rejects_bad_reduction_and_loss_buffer():
    C = gc._C.cpu
    logits, targets = np.zeros((3, 4)), np.array([0, 1, 2])
    with pytest.raises(ValueError, match="reduction code"):
        C.softmax_ce(logits, targets, np.zeros(()), np.zeros((3, 4)), -100, 7)
    with pytest.raises(ValueError, match="loss buffer"):
        C.softmax_ce(logits, targets, np.zeros(()), np.zeros((3, 4)), -100, 0)
    loss = np.zeros(3)
    C.softmax_ce(logits, targets, loss, np.zeros((3, 4)), -100, 0)
    assert_close(loss, np.full(3, np.log(4.0)), name="per-row loss")
