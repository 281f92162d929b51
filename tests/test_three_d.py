"""F.conv3d / nn.Conv3d and the 3-d pools (avg, max, adaptive) against torch: forward and gradients."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
import gradcore.nn.functional as F
from gradcore.testing import assert_close

RNG = np.random.default_rng(31)


def _check(fn_ours, fn_theirs, arrays, rtol=1e-8, atol=1e-9):
    ours = [gc.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    a, b = fn_ours(*ours), fn_theirs(*theirs)
    assert_close(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)
    up = RNG.standard_normal(tuple(b.shape))
    (a * gc.tensor(up)).sum().backward()
    (b * torch.tensor(up)).sum().backward()
    for x, y in zip(ours, theirs):
        assert_close(x.grad.numpy(), y.grad.numpy(), rtol=rtol, atol=atol, name="grad")


CONV = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(1, 2, 1), padding=(2, 0, 1), dilation=(2, 1, 1), groups=2),
    dict(padding="same", dilation=(1, 2, 1)),
]


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")  # torch's note on its own copy
@pytest.mark.parametrize("kwargs", CONV, ids=[str(i) for i in range(len(CONV))])
def test_conv3d_matches_torch(kwargs):
    x, w, b = (
        RNG.standard_normal((2, 4, 6, 5, 5)),
        RNG.standard_normal((6, 4 // kwargs.get("groups", 1), 3, 3, 2)),
        RNG.standard_normal(6),
    )
    _check(
        lambda a, ww, bb: F.conv3d(a, ww, bb, **kwargs),
        lambda a, ww, bb: TF.conv3d(a, ww, bb, **kwargs),
        [x, w, b],
    )


def test_conv3d_module_matches_torch_and_unbatched():
    ours = gc.nn.Conv3d(2, 3, (2, 3, 3), stride=(1, 2, 2), padding=1, dtype=gc.float64)
    theirs = torch.nn.Conv3d(2, 3, (2, 3, 3), stride=(1, 2, 2), padding=1, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
        theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    assert repr(ours) == repr(theirs)
    x = RNG.standard_normal((2, 4, 5, 5))
    assert_close(ours(gc.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-9)
    bound = 1 / np.sqrt(2 * 2 * 3 * 3)
    assert np.abs(ours.weight.numpy()).max() <= bound


POOLS = [
    (lambda m, t: m.avg_pool3d(t, 2), "avg"),
    (
        lambda m, t: m.avg_pool3d(t, (2, 3, 2), stride=(1, 2, 2), padding=1, count_include_pad=False),
        "avg-pad",
    ),
    (lambda m, t: m.avg_pool3d(t, 3, stride=2, padding=1, ceil_mode=True), "avg-ceil"),
    (lambda m, t: m.max_pool3d(t, 2), "max"),
    (lambda m, t: m.max_pool3d(t, (3, 2, 2), stride=(2, 1, 2), padding=1, dilation=(1, 2, 1)), "max-dil"),
    (lambda m, t: m.adaptive_avg_pool3d(t, (2, 3, 1)), "adaptive-avg"),
    (lambda m, t: m.adaptive_max_pool3d(t, (3, 2, 2)), "adaptive-max"),
]


@pytest.mark.parametrize("fn,name", POOLS, ids=[p[1] for p in POOLS])
def test_3d_pools_match_torch(fn, name):
    x = RNG.standard_normal((2, 3, 5, 6, 7))
    _check(lambda t: fn(F, t), lambda t: fn(TF, t), [x])


def test_3d_pool_modules_and_errors():
    x = gc.randn(1, 2, 4, 4, 4)
    assert gc.nn.MaxPool3d(2)(x).shape == (1, 2, 2, 2, 2)
    assert gc.nn.AvgPool3d(2)(x).shape == (1, 2, 2, 2, 2)
    assert gc.nn.AdaptiveAvgPool3d(1)(x).shape == (1, 2, 1, 1, 1)
    assert gc.nn.AdaptiveMaxPool3d((2, None, 1))(x).shape == (1, 2, 2, 4, 1)
    assert F.max_pool3d(x, 2, return_indices=True)[1].shape == (1, 2, 2, 2, 2)  # tests/test_pool3d_indices.py
    with pytest.raises(ValueError, match="5-d"):
        F.conv3d(gc.zeros(2, 3, 4), gc.zeros(1, 3, 1, 1, 1))
