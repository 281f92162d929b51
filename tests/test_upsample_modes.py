"""nn.Upsample with every F.interpolate mode (size or scale_factor, align_corners, recompute_scale_factor),
nn.UpsamplingBilinear2d and nn.UpsamplingNearest2d against torch (float64): outputs, input gradients, repr."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close

RNG = np.random.default_rng(29)

CASES = [
    ((2, 3, 5), dict(scale_factor=2, mode="nearest")),
    ((2, 3, 5), dict(size=8, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(scale_factor=1.7, mode="linear", recompute_scale_factor=True)),
    ((1, 2, 4, 5), dict(scale_factor=(2, 1.5), mode="bilinear")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="bicubic", align_corners=True)),
    ((1, 2, 4, 5), dict(scale_factor=3, mode="nearest-exact")),
    ((1, 2, 6, 5), dict(size=(3, 2), mode="area")),
    ((1, 2, 3, 4, 2), dict(scale_factor=2, mode="trilinear", align_corners=False)),
    ((1, 2, 3, 4, 2), dict(size=(4, 5, 3), mode="nearest")),
]


@pytest.mark.parametrize("shape,kw", CASES)
def test_upsample_every_mode_matches_torch(device, shape, kw):
    x = RNG.standard_normal(shape)
    ours, theirs = gc.nn.Upsample(**kw), torch.nn.Upsample(**kw)
    assert repr(ours) == repr(theirs)
    g, t = gc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    gy, ty = ours(g), theirs(t)
    assert_close(gy.numpy(), ty.detach().numpy(), atol=1e-12, rtol=1e-9)
    w = RNG.standard_normal(tuple(ty.shape))
    (gy * gc.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(g.grad.numpy(), t.grad.numpy(), atol=1e-12, rtol=1e-9)


@pytest.mark.parametrize("name,kw", [("UpsamplingBilinear2d", dict(scale_factor=2)),
                                     ("UpsamplingBilinear2d", dict(size=(5, 7))),
                                     ("UpsamplingNearest2d", dict(scale_factor=3)),
                                     ("UpsamplingNearest2d", dict(size=(6, 2)))])
def test_upsampling_2d_layers_match_torch(name, kw):
    x = RNG.standard_normal((2, 3, 3, 4))
    ours, theirs = getattr(gc.nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(ours) == repr(theirs)
    assert_close(ours(gc.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), atol=1e-12, rtol=1e-9)


def test_upsample_errors():
    with pytest.raises(NotImplementedError, match="lanczos"):
        gc.nn.Upsample(scale_factor=2, mode="lanczos")
    with pytest.raises(ValueError, match="align_corners"):
        gc.nn.Upsample(scale_factor=2, mode="nearest", align_corners=True)(gc.zeros(1, 1, 2, 2))
