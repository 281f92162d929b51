"""max_pool3d / nn.MaxPool3d / adaptive_max_pool3d with return_indices and F.max_unpool1d/2d/3d +
nn.MaxUnpool1d/2d/3d against torch (float64): values, torch's flat index layout, gradients, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
import gradcore.nn.functional as F
from gradcore.testing import assert_close

RNG = np.random.default_rng(8)


def _x(shape, ties=False):
    x = RNG.standard_normal(shape)
    return np.round(x) if ties else x  # rounded values tie often: torch's first-maximum rule


@pytest.mark.parametrize("shape,kw,ties", [
    ((2, 3, 4, 5, 6), dict(kernel_size=2), False),
    ((1, 2, 5, 5, 5), dict(kernel_size=3, stride=2, padding=1), True),
    ((2, 4, 6, 5), dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), dilation=(2, 1, 1), ceil_mode=True), True),
])
def test_max_pool3d_return_indices_matches_torch(device, shape, kw, ties):
    x = _x(shape, ties)
    g, t = gc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    gy, gi = F.max_pool3d(g, return_indices=True, **kw)
    ty, ti = TF.max_pool3d(t, return_indices=True, **kw)
    assert_close(gy.numpy(), ty.detach().numpy())
    assert gi.dtype is gc.int64 and gi.tolist() == ti.tolist()
    w = RNG.standard_normal(tuple(ty.shape))
    (gy * gc.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(g.grad.numpy(), t.grad.numpy())
    mod_y, mod_i = gc.nn.MaxPool3d(return_indices=True, **kw)(g)
    assert mod_i.tolist() == ti.tolist()
    assert F.max_pool3d_with_indices(g, **kw)[1].tolist() == ti.tolist()
    # the unpool inverts it in torch's layout
    ks, st, pad = kw["kernel_size"], kw.get("stride"), kw.get("padding", 0)
    if "dilation" not in kw and not kw.get("ceil_mode"):
        gu = F.max_unpool3d(gy, gi, ks, st, pad, output_size=shape[-3:])
        tu = TF.max_unpool3d(ty, ti, ks, st, pad, output_size=shape[-3:])
        assert_close(gu.numpy(), tu.detach().numpy())
        gm = gc.nn.MaxUnpool3d(ks, st, pad)(gy, gi, output_size=shape[-3:])
        assert_close(gm.numpy(), tu.detach().numpy())


@pytest.mark.parametrize("shape,out,ties", [((2, 3, 5, 6, 7), (2, 3, 4), False), ((3, 4, 4, 5), 2, True),
                                            ((1, 2, 3, 3, 3), (None, 1, 2), True)])
def test_adaptive_max_pool3d_return_indices_matches_torch(device, shape, out, ties):
    x = _x(shape, ties)
    g, t = gc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    gy, gi = F.adaptive_max_pool3d(g, out, return_indices=True)
    ty, ti = TF.adaptive_max_pool3d(t, out, return_indices=True)
    assert_close(gy.numpy(), ty.detach().numpy())
    assert gi.tolist() == ti.tolist()
    (gy * gy).sum().backward()
    (ty * ty).sum().backward()
    assert_close(g.grad.numpy(), t.grad.numpy())
    assert gc.nn.AdaptiveMaxPool3d(out, return_indices=True)(g)[1].tolist() == ti.tolist()


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_max_unpool_matches_torch(device, dims):
    shape = (2, 3) + (6, 5, 4)[:dims]
    x = RNG.standard_normal(shape)
    pool = {1: TF.max_pool1d, 2: TF.max_pool2d, 3: TF.max_pool3d}[dims]
    ty, ti = pool(torch.tensor(x), 2, 2, return_indices=True)
    y = ty.numpy()
    g = gc.tensor(y, requires_grad=True, device=device)
    t = torch.tensor(y, requires_grad=True)
    gi = gc.tensor(ti.numpy(), device=device)
    gu = getattr(F, f"max_unpool{dims}d")(g, gi, 2, output_size=shape[2:])
    tu = getattr(TF, f"max_unpool{dims}d")(t, ti, 2, output_size=shape[2:])
    assert_close(gu.numpy(), tu.detach().numpy())
    w = RNG.standard_normal(tuple(tu.shape))
    (gu * gc.tensor(w, device=device)).sum().backward()
    (tu * torch.tensor(w)).sum().backward()
    assert_close(g.grad.numpy(), t.grad.numpy())
    mod = getattr(gc.nn, f"MaxUnpool{dims}d")(2)
    assert repr(mod) == repr(getattr(torch.nn, f"MaxUnpool{dims}d")(2))
    assert_close(mod(g, gi, shape[2:]).numpy(), tu.detach().numpy())


def test_max_unpool3d_errors():
    y, i = F.max_pool3d(gc.randn(1, 1, 4, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match="indices"):
        F.max_unpool3d(y, i[..., :1], 2)
    with pytest.raises(ValueError, match="output_size"):
        F.max_unpool3d(y, i, 2, output_size=(9, 9, 9))
    with pytest.raises(IndexError, match="out of range"):
        F.max_unpool3d(y, i + 100, 2)
    with pytest.raises(ValueError, match="4-d or 5-d"):
        F.max_unpool3d(y[0, 0], i[0, 0], 2)
