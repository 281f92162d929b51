"""EmbeddingBag / F.embedding_bag max_norm (in-place renorm of the picked rows) and scale_grad_by_freq
against torch (float64), every mode, with offsets, padding_idx and per-sample weights; sparse=True refused
clearly (Embedding too)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
import gradcore.nn.functional as F
from gradcore.testing import assert_close

RNG = np.random.default_rng(17)


ARGS = [(1.0, False, None, False), (None, True, None, False), (0.7, True, 2, False), (1.5, True, None, True),
        (2.0, False, 0, False)]
# torch takes per_sample_weights with mode='sum' only, and no scale_grad_by_freq with mode='max'
CASES = [(m, *a) for m in ("sum", "mean", "max") for a in ARGS
         if not (a[3] and m != "sum") and not (a[1] and m == "max")]


@pytest.mark.parametrize("mode,max_norm,scale,pad,psw", CASES)
def test_embedding_bag_max_norm_and_scale_grad_match_torch(device, mode, max_norm, scale, pad, psw):
    w = RNG.standard_normal((6, 3)) * 1.5
    ids = np.array([1, 2, 1, 4, 1, 2, 0, 5, 2])
    offsets = np.array([0, 3, 3, 7])
    sw = RNG.standard_normal(ids.shape)
    gw, tw = gc.tensor(w, requires_grad=True, device=device), torch.tensor(w, requires_grad=True)
    kw = dict(max_norm=max_norm, mode=mode, padding_idx=pad)
    gy = F.embedding_bag(gc.tensor(ids, device=device), gw, gc.tensor(offsets, device=device),
                         per_sample_weights=gc.tensor(sw, device=device) if psw else None,
                         scale_grad_by_freq=scale, **kw)
    # torch 2.13's CPU kernel divides some rows by another row's count when scale_grad_by_freq (it reads
    # counts[indices[i]] with i the group number), so the reference is its unscaled gradient divided by each
    # row's count: the documented meaning, and what F.embedding and torch's CUDA kernel do.
    ty = TF.embedding_bag(torch.tensor(ids), tw, torch.tensor(offsets),
                          per_sample_weights=torch.tensor(sw) if psw else None, **kw)
    assert_close(gy.numpy(), ty.detach().numpy(), atol=1e-12, rtol=1e-9)
    assert_close(gw.detach().numpy(), tw.detach().numpy(), atol=1e-12, rtol=1e-9)  # renormed in place
    g = RNG.standard_normal(tuple(ty.shape))
    (gy * gc.tensor(g, device=device)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    want = tw.grad.numpy()
    if scale:
        want = want / np.maximum(np.bincount(ids, minlength=6), 1)[:, None]
    assert_close(gw.grad.numpy(), want, atol=1e-12, rtol=1e-9)


def test_embedding_bag_scale_grad_by_freq_is_embedding_scaled():
    w = RNG.standard_normal((6, 3))
    ids = [1, 2, 1, 4, 1, 2, 0, 5, 2]
    a, b = gc.tensor(w, requires_grad=True), gc.tensor(w, requires_grad=True)
    bags = F.embedding_bag(gc.tensor(ids), a, gc.tensor([0, 3, 3, 7]), mode="sum", scale_grad_by_freq=True)
    bags.sum().backward()
    F.embedding(gc.tensor(ids), b, scale_grad_by_freq=True).sum().backward()
    assert_close(a.grad.numpy(), b.grad.numpy())
    assert_close(a.grad.numpy()[:, 0], [1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="max mode does not support"):
        F.embedding_bag(gc.tensor(ids), a, gc.tensor([0]), mode="max", scale_grad_by_freq=True)


def test_embedding_bag_module_max_norm_2d_input():
    ours = gc.nn.EmbeddingBag(5, 4, max_norm=1.0, norm_type=1.0, mode="sum", dtype=gc.float64)
    theirs = torch.nn.EmbeddingBag(5, 4, max_norm=1.0, norm_type=1.0, mode="sum", dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
    assert repr(ours) == repr(theirs)
    ids = np.array([[0, 3, 3], [4, 0, 0]])
    gy, ty = ours(gc.tensor(ids)), theirs(torch.tensor(ids))
    assert_close(gy.numpy(), ty.detach().numpy(), atol=1e-12, rtol=1e-9)
    gy.sum().backward()
    ty.sum().backward()
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-12, rtol=1e-9)
    assert_close(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), atol=1e-12, rtol=1e-9)


def test_sparse_is_refused_by_name():
    with pytest.raises(NotImplementedError, match="sparse=True"):
        gc.nn.EmbeddingBag(4, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding_bag(gc.tensor([0, 1]), gc.ones(3, 2), gc.tensor([0]), sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        gc.nn.Embedding(4, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(gc.tensor([0, 1]), gc.ones(3, 2), sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        gc.nn.Embedding.from_pretrained(gc.ones(3, 2), sparse=True)
