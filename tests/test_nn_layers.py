"""Norm layers, activations, containers, nn.init and the Module API against torch.nn (float64)."""

import math

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore import nn
from gradcore.nn import functional as F
from gradcore.nn import init
from gradcore.testing import assert_close, gradcheck


def _pair(array, device="cpu"):
    return (
        gc.tensor(array, dtype=gc.float64, device=device, requires_grad=True),
        torch.tensor(array, dtype=torch.float64, requires_grad=True),
    )


def _copy_params(ours, theirs):
    """Copies torch's parameters into ours (matched by name) so both start equal."""
    own = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        with gc.no_grad():
            own[name].copy_(gc.tensor(p.detach().numpy(), dtype=own[name].dtype, device=own[name].device))


def _backward_both(out, ref, device):
    w = np.random.default_rng(1).normal(size=ref.shape)
    (out * gc.tensor(w, dtype=gc.float64, device=device)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: nn.GELU(), lambda: torch.nn.GELU()),
        (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh")),
        (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
        (lambda: nn.ELU(alpha=0.7), lambda: torch.nn.ELU(alpha=0.7)),
        (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
        (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
        (lambda: nn.LogSoftmax(dim=0), lambda: torch.nn.LogSoftmax(dim=0)),
        (lambda: nn.Identity(), lambda: torch.nn.Identity()),
    ],
)
def test_activations_match_torch(device, ours, theirs):
    x, tx = _pair(np.random.default_rng(0).normal(size=(4, 5)) * 3, device)
    out, ref = ours()(x), theirs()(tx)
    assert_close(out.cpu(), ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    _backward_both(out, ref, device)
    assert_close(x.grad.cpu(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_erf_and_gelu_double_backward():
    x = gc.tensor([-2.0, -0.3, 0.4, 1.7], dtype=gc.float64, requires_grad=True)
    assert_close(x.erf(), torch.erf(torch.tensor(x.numpy())).numpy(), rtol=1e-14)
    gradcheck(lambda t: F.gelu(t), [x])
    x.grad = None
    F.gelu(x).sum().backward(create_graph=True)  # second derivative of GELU against torch
    g = x.grad
    tx = torch.tensor(x.numpy(), requires_grad=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.gelu(tx).sum(), tx, create_graph=True)
    assert_close(g, tg.detach().numpy(), rtol=1e-12)
    x.grad = None
    g.sum().backward()
    assert_close(x.grad, torch.autograd.grad(tg.sum(), tx)[0].numpy(), rtol=1e-10)


def test_softmax_of_0d_tensor_is_one():
    assert F.softmax(gc.tensor(3.0), dim=0).item() == 1.0
    assert F.log_softmax(gc.tensor(3.0), dim=-1).item() == 0.0


@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch(device, shape, normalized, affine):
    rng = np.random.default_rng(2)
    theirs = torch.nn.LayerNorm(normalized, eps=1e-4, elementwise_affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            theirs.weight.normal_()
            theirs.bias.normal_()
    ours = nn.LayerNorm(normalized, eps=1e-4, elementwise_affine=affine).double().to(device)
    _copy_params(ours, theirs)
    x, tx = _pair(rng.normal(size=shape) * 2 + 1, device)
    out, ref = ours(x), theirs(tx)
    assert_close(out.cpu(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    _backward_both(out, ref, device)
    assert_close(x.grad.cpu(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad.cpu(), tp.grad.numpy(), rtol=1e-9, atol=1e-11, name=name)


@pytest.mark.parametrize("shape", [(8, 3), (5, 3, 4)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm1d_train_and_eval_match_torch(device, shape, momentum):
    rng = np.random.default_rng(3)
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    ours = nn.BatchNorm1d(3, momentum=momentum).double().to(device)
    _copy_params(ours, theirs)
    for step in range(3):
        x, tx = _pair(rng.normal(size=shape) * 2 + step, device)
        out, ref = ours(x), theirs(tx)
        assert_close(out.cpu(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
        _backward_both(out, ref, device)
        assert_close(x.grad.cpu(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    assert_close(ours.running_mean.cpu(), theirs.running_mean.numpy(), rtol=1e-12)
    assert_close(ours.running_var.cpu(), theirs.running_var.numpy(), rtol=1e-12)
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 3
    ours.eval()
    theirs.eval()
    x, tx = _pair(rng.normal(size=shape), device)
    out, ref = ours(x), theirs(tx)
    assert_close(out.cpu(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    _backward_both(out, ref, device)
    assert_close(x.grad.cpu(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="BatchNorm1d"):
        ours(gc.zeros(4, 5, dtype=gc.float64, device=device))


def test_buffers_in_named_buffers_and_moved_by_to():
    bn = nn.BatchNorm1d(2)
    net = nn.Sequential(nn.Linear(2, 2), bn)
    assert [n for n, _ in net.named_buffers()] == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    net.double()
    assert bn.running_mean.dtype is gc.float64 and bn.weight.dtype is gc.float64
    assert bn.num_batches_tracked.dtype is gc.int64  # integer buffers keep their dtype, as in torch
    assert net[0].weight.dtype is gc.float64
    net.float()
    assert bn.running_var.dtype is gc.float32
    net.to(gc.float64)
    assert net[0].bias.dtype is gc.float64
    with pytest.raises(TypeError, match="floating"):
        net.to(gc.int64)


def test_module_list_and_dict_register_parameters():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    layers.append(nn.Linear(2, 3))
    layers += [nn.ReLU()]
    heads = nn.ModuleDict({"a": nn.Linear(3, 1)})
    heads["b"] = nn.Linear(3, 2)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers, self.heads = layers, heads

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return {k: h(x) for k, h in self.heads.items()}

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names[:2] == ["layers.0.weight", "layers.0.bias"] and "heads.b.bias" in names and len(names) == 10
    out = net(gc.randn(4, 2))
    assert out["a"].shape == (4, 1) and out["b"].shape == (4, 2)
    assert len(layers) == 4 and isinstance(layers[-1], nn.ReLU) and len(layers[1:3]) == 2
    del layers[0]
    assert len(layers) == 3 and [n for n, _ in layers.named_children()] == ["0", "1", "2"]
    assert "a" in heads and list(heads) == ["a", "b"] and len(heads) == 2
    heads.pop("a")
    assert list(heads.keys()) == ["b"]
    with pytest.raises(TypeError, match="Modules"):
        layers.append(3)


def test_named_modules_children_apply_and_requires_grad():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    assert [n for n, _ in net.named_modules()] == ["", "0", "1", "1.0", "1.1"]
    assert [n for n, _ in net.named_children()] == ["0", "1"] and len(list(net.children())) == 2
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]  # children first, like torch
    net.apply(lambda m: init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert net[0].weight.numpy().sum() == 0
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_set_to_none():
    net = nn.Linear(2, 1)
    net(gc.ones(1, 2)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert net.weight.grad is not None and net.weight.grad.numpy().sum() == 0
    net.zero_grad()
    assert net.weight.grad is None


def test_forward_hooks_modify_and_remove():
    lin = nn.Linear(2, 2)
    calls = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = lin(gc.ones(3, 2))
    assert_close(out, np.tile(lin.bias.numpy() + 1, (3, 1)))
    assert calls == [(3, 2)]
    pre.remove()
    post.remove()
    x = gc.ones(3, 2)
    assert_close(lin(x), F.linear(x, lin.weight, lin.bias).numpy())
    assert calls == [(3, 2)]


@pytest.mark.parametrize("shape", [(30, 20), (16, 8, 3, 3)])
def test_init_fans_and_gains_match_torch(shape):
    gc.manual_seed(0)
    fan_in = shape[1] * int(np.prod(shape[2:]))
    fan_out = shape[0] * int(np.prod(shape[2:]))
    n = int(np.prod(shape))
    cases = [
        (
            lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)),
            math.sqrt(2 / 6) * math.sqrt(3 / fan_in),
            "uniform",
        ),
        (
            lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
            math.sqrt(6 / fan_out),
            "uniform",
        ),
        (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / fan_in), "normal"),
        (
            lambda t: init.xavier_uniform_(t, gain=init.calculate_gain("tanh")),
            5 / 3 * math.sqrt(6 / (fan_in + fan_out)),
            "uniform",
        ),
        (lambda t: init.xavier_normal_(t), math.sqrt(2 / (fan_in + fan_out)), "normal"),
    ]
    for fn, scale, kind in cases:
        w = fn(gc.zeros(*shape, dtype=gc.float64))
        values = w.numpy()
        if kind == "uniform":  # scale is the bound
            assert np.abs(values).max() <= scale and np.abs(values).max() > 0.9 * scale
        else:  # scale is the std
            assert abs(values.std() - scale) < 4 * scale / math.sqrt(n)
    for name, param in [
        ("relu", None),
        ("tanh", None),
        ("leaky_relu", 0.2),
        ("selu", None),
        ("linear", None),
    ]:
        assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(gc.zeros(3))
    t = gc.zeros(2, 3)
    assert init.constant_(t, 2.5) is t and t.numpy().tolist() == [[2.5] * 3] * 2
    assert init.ones_(t).numpy().sum() == 6
    u = init.uniform_(gc.zeros(1000), -2, -1).numpy()
    assert u.min() >= -2 and u.max() <= -1
    m = init.normal_(gc.zeros(4000, dtype=gc.float64), mean=3.0, std=0.5).numpy()
    assert abs(m.mean() - 3) < 0.05 and abs(m.std() - 0.5) < 0.05


def test_module_to_moves_parameters_and_buffers(device):
    built = [nn.Linear(3, 2, device=device), nn.LayerNorm(2, device=device), nn.BatchNorm1d(2, device=device)]
    assert all(t.device == device for m in built for t in [*m.parameters(), *m.buffers()])
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).to(device)
    assert all(p.device == device for p in net.parameters())
    assert all(b.device == device for b in net.buffers())
    out = net(gc.randn(4, 3, device=device))
    assert out.device == device
    net.cpu()
    assert net[1].running_mean.device == "cpu"


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_log_softmax_and_softmax_native_rows_match_torch(device, dim):
    x, tx = _pair(np.random.default_rng(4).normal(size=(3, 5, 4)) * 10, device)
    out, ref = F.log_softmax(x, dim=dim), torch.log_softmax(tx, dim=dim)
    assert_close(out.cpu(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    _backward_both(out, ref, device)
    assert_close(x.grad.cpu(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_close(F.softmax(x, dim).cpu(), torch.softmax(tx, dim).detach().numpy(), rtol=1e-12, atol=1e-14)
    assert F.log_softmax(gc.zeros(0, 3, device=device), dim=1).shape == (0, 3)


def test_layer_norm_and_log_softmax_double_backward():
    rng = np.random.default_rng(5)
    x = gc.tensor(rng.normal(size=(3, 4)), dtype=gc.float64, requires_grad=True)
    w = gc.tensor(rng.normal(size=(4,)), dtype=gc.float64, requires_grad=True)
    gradcheck(lambda t, s: F.layer_norm(t, (4,), s), [x, w])
    gradcheck(lambda t: F.log_softmax(t, dim=0), [x])
    for fn, tfn in [
        (lambda t: F.layer_norm(t, (4,)), lambda t: torch.nn.functional.layer_norm(t, (4,))),
        (lambda t: F.log_softmax(t, dim=1), lambda t: torch.log_softmax(t, 1)),
    ]:
        x.grad = None
        v = rng.normal(size=(3, 4))
        (fn(x) * gc.tensor(v, dtype=gc.float64)).sum().backward(create_graph=True)
        g = x.grad
        x.grad = None
        (g * g).sum().backward()
        tx = torch.tensor(x.numpy(), requires_grad=True)
        (tg,) = torch.autograd.grad((tfn(tx) * torch.tensor(v)).sum(), tx, create_graph=True)
        assert_close(g, tg.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert_close(x.grad, torch.autograd.grad((tg * tg).sum(), tx)[0].numpy(), rtol=1e-9, atol=1e-11)


def test_layer_norm_float32_and_errors():
    x = np.random.default_rng(6).normal(size=(16, 33)).astype(np.float32) * 100 + 50
    out = F.layer_norm(gc.tensor(x), (33,))
    ref = torch.nn.functional.layer_norm(torch.tensor(x), (33,)).numpy()
    assert out.dtype is gc.float32
    assert_close(out, ref, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(gc.zeros(3, 4), (3,))
    with pytest.raises(TypeError, match="float"):
        F.layer_norm(gc.tensor([[1, 2]]), (2,))


def test_sequential_ordered_dict_append_and_recurse_flag():
    from collections import OrderedDict

    net = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.GELU())]))
    net.append(nn.Linear(3, 1))
    assert [n for n, _ in net.named_children()] == ["fc", "act", "2"] and net(gc.ones(4, 2)).shape == (4, 1)

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(gc.ones(1))
            self.inner = nn.Linear(1, 1)

    m = Scaled()
    assert len(list(m.parameters(recurse=False))) == 1 and len(list(m.parameters())) == 3
    del m.scale
    assert [n for n, _ in m.named_parameters()] == ["inner.weight", "inner.bias"]
