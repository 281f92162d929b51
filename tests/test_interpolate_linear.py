"""F.interpolate's linear modes and nn.UpsamplingBilinear2d against torch: sizes, scale factors,
align_corners, down- and up-sampling; forward and gradients."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
import gradcore.nn.functional as F
from gradcore.testing import assert_close

RNG = np.random.default_rng(41)

CASES = [
    ("linear", (2, 3, 7), dict(size=12)),
    ("linear", (2, 3, 9), dict(scale_factor=0.5, align_corners=True)),
    ("bilinear", (2, 2, 5, 6), dict(scale_factor=2)),
    ("bilinear", (1, 2, 5, 6), dict(size=(8, 3), align_corners=True)),
    ("bilinear", (1, 2, 7, 7), dict(scale_factor=(1.5, 0.7))),
    ("bilinear", (1, 1, 4, 4), dict(scale_factor=3, recompute_scale_factor=True)),
    ("trilinear", (1, 2, 3, 4, 5), dict(size=(5, 6, 2))),
    ("trilinear", (1, 1, 3, 3, 3), dict(scale_factor=2, align_corners=True)),
    ("bicubic", (2, 2, 5, 6), dict(scale_factor=2)),
    ("bicubic", (1, 2, 6, 7), dict(size=(4, 9), align_corners=True)),
    ("bicubic", (1, 1, 8, 8), dict(scale_factor=0.5)),
    ("area", (2, 3, 9), dict(size=4)),
    ("area", (1, 2, 6, 7), dict(size=(3, 2))),
    ("area", (1, 1, 4, 6, 6), dict(scale_factor=0.5)),
]


@pytest.mark.parametrize("mode,shape,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_linear_modes_match_torch(mode, shape, kwargs):
    x = RNG.standard_normal(shape)
    a, b = gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = F.interpolate(a, mode=mode, **kwargs), TF.interpolate(b, mode=mode, **kwargs)
    assert_close(out.detach().numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-10)
    up = RNG.standard_normal(tuple(ref.shape))
    (out * gc.tensor(up)).sum().backward()
    (ref * torch.tensor(up)).sum().backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_upsampling_bilinear2d_and_errors():
    x = RNG.standard_normal((1, 2, 3, 4))
    ours, theirs = gc.nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2)
    assert_close(ours(gc.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-9, atol=1e-10)
    assert repr(ours) == repr(theirs)
    with pytest.raises(NotImplementedError, match="4-d input"):
        F.interpolate(gc.zeros(1, 1, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(gc.zeros(1, 1, 4), scale_factor=2, align_corners=True)
