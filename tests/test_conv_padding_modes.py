"""padding_mode 'reflect' | 'replicate' | 'circular' for nn.Conv1d / Conv2d / Conv3d against torch (float64):
int, tuple, 'same' and 'valid' padding, batched and unbatched; outputs and input / weight / bias
gradients; repr; too-large padding and unknown modes raise."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.nn.conv_ops import ConvError
from gradcore.testing import assert_close

RNG = np.random.default_rng(31)

SPATIAL = {1: (7,), 2: (6, 5), 3: (5, 4, 4)}
PADS = {1: [2, "same", (1,)], 2: [(2, 1), "same", 1], 3: [(1, 2, 1), "same", 1]}


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_conv_padding_modes_match_torch(device, rank, mode, which):
    padding = PADS[rank][which]
    kernel = (3, 2, 3)[:rank] if padding != "same" else (3, 4, 2)[:rank]
    kw = dict(padding=padding, padding_mode=mode)
    if padding != "same" and rank > 1:
        kw["stride"] = 2
    name = f"Conv{rank}d"
    ours = getattr(gc.nn, name)(2, 4, kernel, dtype=gc.float64, device=device, **kw)
    theirs = getattr(torch.nn, name)(2, 4, kernel, dtype=torch.float64, **kw)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
        theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    assert repr(ours) == repr(theirs)
    unbatched = which == 2
    x = RNG.standard_normal(((2,) if not unbatched else ()) + (2,) + SPATIAL[rank])
    g, t = gc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    gy, ty = ours(g), theirs(t)
    assert_close(gy.numpy(), ty.detach().numpy(), atol=1e-12, rtol=1e-9)
    w = RNG.standard_normal(tuple(ty.shape))
    (gy * gc.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(g.grad.numpy(), t.grad.numpy(), atol=1e-12, rtol=1e-9)
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-10, rtol=1e-9)
    assert_close(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), atol=1e-10, rtol=1e-9)


def test_conv3d_padding_mode_errors():
    with pytest.raises(ConvError, match="too large for padding_mode='reflect'"):
        gc.nn.Conv3d(1, 1, 3, padding=3, padding_mode="reflect")(gc.zeros(1, 1, 3, 3, 3))
    with pytest.raises(ConvError, match="padding_mode must be one of"):
        gc.nn.Conv3d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ConvError, match="strided"):
        gc.nn.Conv3d(1, 1, 3, stride=2, padding="same", padding_mode="circular")(gc.zeros(1, 1, 4, 4, 4))
