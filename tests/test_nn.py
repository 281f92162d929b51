"""Modules, layers, losses and optimizers against hand-written NumPy and PyTorch semantics."""

import numpy as np
import pytest

import gradcore as gc
from gradcore import nn
from gradcore.nn import functional as F
from gradcore.testing import assert_close


def test_linear_shapes_and_pytorch_init_bounds():
    gc.manual_seed(0)
    layer = nn.Linear(100, 30)
    assert layer.weight.shape == (30, 100) and layer.bias.shape == (30,)
    bound = 1 / np.sqrt(100)
    w = layer.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01  # variance of U(-b, b) is b^2 / 3
    x = gc.randn(7, 100)
    assert_close(layer(x), x.numpy() @ w.T + layer.bias.numpy(), atol=1e-5)


def test_sequential_indexing_and_parameter_names():
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2, bias=False))
    assert isinstance(net[1], nn.Tanh) and len(net) == 3
    assert isinstance(net[-1], nn.Linear) and len(net[:2]) == 2
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight"]
    assert len(list(net.modules())) == 4


def test_state_dict_round_trip_and_errors():
    a = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    b = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    b.load_state_dict(a.state_dict())
    x = gc.randn(5, 4)
    assert_close(b(x), a(x).numpy(), atol=0, rtol=0)
    sd = a.state_dict()
    sd["0.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: .*shape \(2, 2\)"):
        b.load_state_dict(sd)
    with pytest.raises(RuntimeError, match="Missing key"):
        b.load_state_dict({"0.weight": a.state_dict()["0.weight"]})


def test_train_eval_and_dropout_scaling():
    gc.manual_seed(0)
    drop = nn.Dropout(0.5)
    x = gc.ones(1000, 100)
    y = drop(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0}
    assert abs((y == 0).mean() - 0.5) < 0.02
    drop.eval()
    assert (drop(x).numpy() == 1).all()
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.3))
    net.eval()
    assert not net[1].training
    net.train()
    assert net[1].training


def test_dropout_gradient_matches_mask():
    gc.manual_seed(3)
    x = gc.ones(50, requires_grad=True)
    y = F.dropout(x, 0.4, True)
    y.sum().backward()
    assert_close(x.grad, y.detach().numpy())  # d(mask * x / (1-p))/dx == mask / (1-p) == y for x = 1


def test_losses_against_numpy():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, (6, 1))
    y = rng.integers(0, 2, (6, 1)).astype(np.float64)
    bce = nn.BCELoss()(gc.tensor(p, dtype=gc.float64), gc.tensor(y, dtype=gc.float64))
    assert_close(bce, -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rtol=1e-12)
    z = rng.normal(size=(6, 1))
    bcel = nn.BCEWithLogitsLoss()(gc.tensor(z, dtype=gc.float64), gc.tensor(y, dtype=gc.float64))
    s = 1 / (1 + np.exp(-z))
    assert_close(bcel, -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s)), rtol=1e-10)
    mse = nn.MSELoss()(gc.tensor(p, dtype=gc.float64), gc.tensor(y, dtype=gc.float64))
    assert_close(mse, np.mean((p - y) ** 2), rtol=1e-12)
    logits = rng.normal(size=(4, 5))
    t = np.array([0, 4, 2, 2])
    ce_sum = nn.CrossEntropyLoss(reduction="sum")(gc.tensor(logits, dtype=gc.float64), gc.tensor(t))
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert_close(ce_sum, -logp[np.arange(4), t].sum(), rtol=1e-12)
    assert_close(F.softmax(gc.tensor(logits)), np.exp(logp), atol=1e-6)
    assert_close(F.log_softmax(gc.tensor(logits, dtype=gc.float64)), logp, rtol=1e-12)


def test_sgd_momentum_and_weight_decay_match_pytorch_formula(device):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 2))
    w = gc.tensor(w0, dtype=gc.float64, device=device, requires_grad=True)
    opt = gc.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    ref, buf = w0.copy(), np.zeros_like(w0)
    for step in range(4):
        g = rng.normal(size=(3, 2))
        opt.zero_grad()
        (w * gc.tensor(g, dtype=gc.float64, device=device)).sum().backward()
        opt.step()
        d = g + 0.01 * ref
        buf = d if step == 0 else 0.9 * buf + d
        ref -= 0.1 * buf
        assert_close(w.cpu(), ref, rtol=1e-12)


def test_adamw_decoupled_weight_decay(device):
    w0 = np.array([1.0, -2.0])
    w = gc.tensor(w0, dtype=gc.float64, device=device, requires_grad=True)
    opt = gc.optim.AdamW([w], lr=0.1, weight_decay=0.1)
    (w * 0.0).sum().backward()  # zero gradient: only the decay moves w (Adam's step is 0/(0+eps))
    opt.step()
    assert_close(w.cpu(), w0 * (1 - 0.1 * 0.1), rtol=1e-12)


def test_optimizer_state_dict_round_trip():
    gc.manual_seed(0)
    net = nn.Linear(3, 2)
    opt = gc.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        net(gc.randn(4, 3)).sum().backward()
        opt.step()
    net2 = nn.Linear(3, 2)
    net2.load_state_dict(net.state_dict())
    opt2 = gc.optim.Adam(net2.parameters(), lr=0.5)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.lr == 0.01 and opt2.step_count == 3
    x = gc.randn(4, 3)
    for o, n in ((opt, net), (opt2, net2)):
        o.zero_grad()
        n(x).sum().backward()
        o.step()
    assert_close(net2.weight, net.weight.numpy(), atol=0, rtol=0)
    with pytest.raises(ValueError, match="not SGD"):
        gc.optim.SGD(net.parameters(), lr=0.1).load_state_dict(opt.state_dict())


def test_module_to_keeps_parameter_identity():
    net = nn.Linear(2, 2)
    params = list(net.parameters())
    net.to("cpu")
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]


def test_bce_is_finite_for_saturated_probabilities_like_pytorch():
    p = gc.tensor([0.0, 1.0, 0.5], dtype=gc.float64, requires_grad=True)
    y = gc.tensor([1.0, 0.0, 1.0], dtype=gc.float64)
    loss = F.binary_cross_entropy(p, y)
    loss.backward()
    # log clamped at -100 (PyTorch): (100 + 100 + log 2) / 3
    assert loss.item() == pytest.approx((200 + np.log(2)) / 3)
    assert np.isfinite(p.grad.numpy()).all()
    assert p.grad.numpy()[2] == pytest.approx((0.5 - 1) / 0.25 / 3)


def test_bce_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    p = gc.tensor(rng.uniform(0.1, 0.9, (4, 3)), dtype=gc.float64, requires_grad=True)
    y = gc.tensor(rng.uniform(0, 1, (4, 3)), dtype=gc.float64, requires_grad=True)
    assert gc.testing.gradcheck(F.binary_cross_entropy, [p, y])


def test_maximum_propagates_nan():
    a = gc.tensor([np.nan, 1.0, 2.0])
    assert np.isnan(a.maximum(0.0).numpy()[0]) and np.isnan(a.minimum(5.0).numpy()[0])
    assert np.isnan(gc.tensor([1.0]).maximum(gc.tensor([np.nan])).numpy()[0])


def test_nested_module_repr_has_torchs_layout():
    # children one per line, the closing parenthesis of a container on its own line
    import torch

    def build(m):
        return m.Sequential(m.Conv2d(1, 8, 3, padding=1), m.ReLU(), m.MaxPool2d(2), m.Flatten(),
                            m.Sequential(m.Linear(8, 4), m.Sigmoid()))

    assert repr(build(gc.nn)) == repr(build(torch.nn))
