"""F.grid_sample padding_mode 'reflection' and mode 'bicubic' (every mode x padding x align_corners) against
torch (float64): output, input gradient and grid gradient; bad mode names raise as torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
import gradcore.nn.functional as F
from gradcore.testing import assert_close

RNG = np.random.default_rng(23)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_matches_torch(device, mode, padding_mode, align):
    x = RNG.standard_normal((2, 3, 5, 4))
    grid = RNG.uniform(-2.6, 2.6, (2, 6, 7, 2))  # well outside [-1, 1]: the padding matters
    gx = gc.tensor(x, requires_grad=True, device=device)
    gg = gc.tensor(grid, requires_grad=True, device=device)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(grid, requires_grad=True)
    gy = F.grid_sample(gx, gg, mode=mode, padding_mode=padding_mode, align_corners=align)
    ty = TF.grid_sample(tx, tg, mode=mode, padding_mode=padding_mode, align_corners=align)
    assert_close(gy.numpy(), ty.detach().numpy(), atol=1e-12, rtol=1e-9)
    w = RNG.standard_normal(tuple(ty.shape))
    (gy * gc.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(gx.grad.numpy(), tx.grad.numpy(), atol=1e-12, rtol=1e-9)
    if mode != "nearest":
        assert_close(gg.grad.numpy(), tg.grad.numpy(), atol=1e-10, rtol=1e-8)


def test_grid_sample_one_pixel_reflection_and_errors():
    x = RNG.standard_normal((1, 2, 1, 3))
    grid = RNG.uniform(-2, 2, (1, 2, 2, 2))
    for align in (False, True):
        for mode in ("bilinear", "bicubic"):
            gy = F.grid_sample(gc.tensor(x), gc.tensor(grid), mode, "reflection", align)
            ty = TF.grid_sample(torch.tensor(x), torch.tensor(grid), mode, "reflection", align)
            assert_close(gy.numpy(), ty.numpy(), atol=1e-12, rtol=1e-9)
    with pytest.raises(ValueError, match="mode"):
        F.grid_sample(gc.tensor(x), gc.tensor(grid), mode="area")
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(gc.tensor(x), gc.tensor(grid), padding_mode="circular")
