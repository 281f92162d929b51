"""F.ctc_loss / nn.CTCLoss against torch: padded and concatenated targets, repeated labels, variable
lengths, every reduction, zero_infinity, unbatched; gradients directly and through log_softmax."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
import gradcore.nn.functional as F
from gradcore.testing import assert_close

RNG = np.random.default_rng(51)
T, N, C = 8, 3, 5
TARGETS = np.array([[1, 2, 2, 3], [3, 0, 0, 0], [4, 4, 1, 0]])  # repeats need a blank between them
TLENS, ILENS = [4, 1, 3], [8, 5, 7]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("concatenated", [False, True])
@pytest.mark.parametrize("blank", [0, 4])
def test_ctc_loss_matches_torch(reduction, concatenated, blank):
    targets = np.where(TARGETS == blank, (blank + 1) % C, TARGETS)
    if concatenated:
        targets = np.concatenate([targets[i, : TLENS[i]] for i in range(N)])
    logits = RNG.standard_normal((T, N, C))
    a, b = gc.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    la = F.ctc_loss(F.log_softmax(a, -1), gc.tensor(targets), ILENS, TLENS, blank, reduction)
    lb = TF.ctc_loss(TF.log_softmax(b, -1), torch.tensor(targets), ILENS, TLENS, blank, reduction)
    assert_close(la.detach().numpy(), lb.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = RNG.standard_normal(tuple(lb.shape))
    (la * gc.tensor(up)).sum().backward()
    (lb * torch.tensor(up)).sum().backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_ctc_gradient_with_respect_to_log_probs_is_torchs():
    lp = np.log(RNG.dirichlet(np.ones(C), (T, N)))
    a, b = gc.tensor(lp, requires_grad=True), torch.tensor(lp, requires_grad=True)
    gc.nn.CTCLoss()(a, gc.tensor(TARGETS), ILENS, TLENS).backward()
    torch.nn.CTCLoss()(b, torch.tensor(TARGETS), ILENS, TLENS).backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_ctc_impossible_alignment_and_zero_infinity_and_unbatched():
    lp = np.log(RNG.dirichlet(np.ones(C), (T, N)))
    short = [2, 5, 7]  # 4 labels with a repeat cannot fit in 2 frames
    la = F.ctc_loss(gc.tensor(lp), gc.tensor(TARGETS), short, TLENS, reduction="none")
    lb = TF.ctc_loss(torch.tensor(lp), torch.tensor(TARGETS), short, TLENS, reduction="none")
    assert np.isinf(la.numpy()[0]) and np.isinf(lb.numpy()[0])
    assert_close(la.numpy()[1:], lb.numpy()[1:], rtol=1e-10)
    a, b = gc.tensor(lp, requires_grad=True), torch.tensor(lp, requires_grad=True)
    za = F.ctc_loss(a, gc.tensor(TARGETS), short, TLENS, zero_infinity=True)
    zb = TF.ctc_loss(b, torch.tensor(TARGETS), short, TLENS, zero_infinity=True)
    assert_close(za.detach().numpy(), zb.detach().numpy(), rtol=1e-10)
    za.backward()
    zb.backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)
    one = lp[:, 0]
    ua = F.ctc_loss(gc.tensor(one), gc.tensor(TARGETS[0]), [T], [4])
    ub = TF.ctc_loss(torch.tensor(one), torch.tensor(TARGETS[0]), [T], [4])
    assert_close(ua.numpy(), ub.numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="reduction"):
        gc.nn.CTCLoss(reduction="avg")
