"""Adadelta, Adagrad, Adamax, NAdam, RAdam, ASGD and Rprop against torch.optim: trajectories over several
steps (weight_decay, maximize and each optimizer's own options), state_dict round trips, bad arguments."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close

CASES = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    ("Adadelta", {"maximize": True, "eps": 1e-4}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.3}),
    ("Adagrad", {"maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.2}),
    ("Adamax", {"maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "betas": (0.9, 0.6), "weight_decay": 0.1}),  # rho_t > 5 from step 2 on
    ("RAdam", {"lr": 0.05, "betas": (0.8, 0.7), "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"maximize": True, "betas": (0.9, 0.5)}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 3, "weight_decay": 0.1}),
    ("ASGD", {"maximize": True, "t0": 2}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("Rprop", {"maximize": True}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-6, 1e-2), "d": 1.5, "weight_decay": 0.1}),
    ("Adafactor", {"maximize": True}),
]


def _grad(p: np.ndarray, c: np.ndarray, step: int) -> np.ndarray:
    """A gradient that changes sign now and then (so Rprop's both branches run)."""
    return 2.0 * p * c + np.cos(3.0 * step + p)


def _run_both(name, kwargs, dtype=np.float64, steps=8, groups=False):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (5,), ()]
    inits = [rng.standard_normal(s).astype(dtype) for s in shapes]
    coefs = [rng.uniform(0.5, 1.5, s).astype(dtype) for s in shapes]
    ours = [gc.tensor(a.copy(), requires_grad=True) for a in inits]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in inits]
    if groups:
        opt = getattr(gc.optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.03}], **kwargs)
        ref = getattr(torch.optim, name)(
            [{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.03}], **kwargs
        )
    else:
        opt = getattr(gc.optim, name)(ours, **kwargs)
        ref = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(steps):
        for a, b, c in zip(ours, theirs, coefs):
            g = _grad(b.detach().numpy(), c, step)
            a.grad = gc.tensor(g.astype(dtype))
            b.grad = torch.tensor(g.astype(dtype))
        opt.step()
        ref.step()
        for a, b in zip(ours, theirs):
            assert_close(
                a.detach().numpy(),
                b.detach().numpy(),
                rtol=1e-5 if dtype == np.float32 else 1e-10,
                atol=1e-6 if dtype == np.float32 else 1e-12,
            )
    return opt, ref, ours, theirs


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_matches_torch(name, kwargs):
    _run_both(name, kwargs)


@pytest.mark.parametrize(
    "name", ["Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "Adafactor"]
)
def test_float32_and_param_groups_match_torch(name):
    _run_both(name, {}, dtype=np.float32, steps=5, groups=True)


@pytest.mark.parametrize(
    "name", ["Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "Adafactor"]
)
def test_defaults_match_torch(name):
    ours = getattr(gc.optim, name)([gc.zeros(2, requires_grad=True)])
    ref = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
    for key, value in ref.defaults.items():
        mine = ours.defaults[key]
        assert (tuple(mine) if isinstance(mine, (list, tuple)) else mine) == (
            tuple(value) if isinstance(value, (list, tuple)) else value
        ), key


@pytest.mark.parametrize(
    "name", ["Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "Adafactor"]
)
def test_state_dict_round_trip_continues_the_trajectory(name, tmp_path):
    kwargs = {"lr": 0.05} if name != "Adadelta" else {}
    opt, ref, ours, theirs = _run_both(name, kwargs, steps=3)
    path = tmp_path / "opt.gc"
    gc.save(opt.state_dict(), path)
    copies = [gc.tensor(a.detach().numpy().copy(), requires_grad=True) for a in ours]
    fresh = getattr(gc.optim, name)(copies, **kwargs)
    fresh.load_state_dict(gc.load(path))
    assert set(fresh.state[copies[0]]) == set(ref.state[theirs[0]])
    rng = np.random.default_rng(1)
    for _ in range(3):
        for a, b in zip(copies, theirs):
            g = rng.standard_normal(a.shape)
            a.grad = gc.tensor(g)
            b.grad = torch.tensor(g)
        fresh.step()
        ref.step()
    for a, b in zip(copies, theirs):
        assert_close(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_official_mnist_setup_adadelta_steplr():
    """The PyTorch MNIST example's optimizer and scheduler (Adadelta lr=1.0, StepLR gamma=0.7)."""
    w = gc.zeros(3, requires_grad=True)
    opt = gc.optim.Adadelta([w], lr=1.0)
    sched = gc.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    for _ in range(3):
        (w * 2).sum().backward()
        opt.step()
        sched.step()
    assert sched.get_last_lr() == pytest.approx([0.7**3])
    assert (w.detach().numpy() < 0).all()


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: gc.optim.Adadelta(p, rho=1.5), "rho"),
        (lambda p: gc.optim.Adagrad(p, lr_decay=-1), "lr_decay"),
        (lambda p: gc.optim.Adamax(p, betas=(1.0, 0.9)), "beta"),
        (lambda p: gc.optim.NAdam(p, momentum_decay=-1), "momentum_decay"),
        (lambda p: gc.optim.RAdam(p, eps=-1), "epsilon"),
        (lambda p: gc.optim.Rprop(p, etas=(1.5, 1.2)), "eta"),
        (lambda p: gc.optim.ASGD(p, lr=-1), "learning rate"),
    ],
)
def test_bad_hyperparameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make([gc.zeros(2, requires_grad=True)])


def test_parameters_without_grad_are_skipped_and_zero_grad_works():
    a, b = gc.ones(2, requires_grad=True), gc.ones(2, requires_grad=True)
    opt = gc.optim.NAdam([a, b], lr=0.1)
    a.grad = gc.ones(2)
    opt.step()
    assert b.tolist() == [1.0, 1.0] and a.tolist()[0] < 1.0
    assert b not in opt.state
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize(
    "name", ["Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "Adafactor"]
)
def test_steps_on_the_device_match_the_cpu(name, device):
    """The same trajectory with the parameters (and so the state) on the device."""
    rng = np.random.default_rng(3)
    init = rng.standard_normal((3, 4)).astype(np.float32)
    runs = []
    for dev in ("cpu", device):
        p = gc.tensor(init.copy(), device=dev, requires_grad=True)
        opt = (
            getattr(gc.optim, name)([p], lr=0.05, weight_decay=0.1)
            if name != "Rprop"
            else gc.optim.Rprop([p])
        )
        for step in range(4):
            p.grad = gc.tensor(_grad(init, np.ones_like(init), step).astype(np.float32), device=dev)
            opt.step()
        state = opt.state[p]
        assert all(v.device == p.device for v in state.values() if isinstance(v, gc.Tensor))
        runs.append(p.detach().cpu().numpy())
    assert_close(runs[1], runs[0], rtol=1e-5, atol=1e-6)


def _closure(opt, loss_of, lib, x):
    def closure():
        opt.zero_grad()
        loss = loss_of(lib, x)
        loss.backward()
        return loss

    return closure


def _rosenbrock(lib, x):
    return ((1.0 - x[:-1]) ** 2 + 100.0 * (x[1:] - x[:-1] ** 2) ** 2).sum()


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"line_search_fn": "strong_wolfe"},
        {"lr": 0.5, "max_iter": 7, "history_size": 3},
        {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 5},
    ],
)
def test_lbfgs_matches_torch_on_rosenbrock_and_least_squares(kwargs):
    rng = np.random.default_rng(4)
    start = rng.uniform(-1.5, 1.5, 5)
    a_np, b_np = rng.standard_normal((8, 3)), rng.standard_normal(8)
    for loss_of in (
        lambda lib, x: _rosenbrock(lib, x),
        lambda lib, x: ((lib.tensor(a_np) @ x[:3] - lib.tensor(b_np)) ** 2).sum() + (x[3:] ** 2).sum(),
    ):
        ours, theirs = (
            gc.tensor(start.copy(), requires_grad=True),
            torch.tensor(start.copy(), requires_grad=True),
        )
        opt, ref = gc.optim.LBFGS([ours], **kwargs), torch.optim.LBFGS([theirs], **kwargs)

        closure_ours, closure_theirs = _closure(opt, loss_of, gc, ours), _closure(ref, loss_of, torch, theirs)

        for _ in range(3):
            la, lb = opt.step(closure_ours), ref.step(closure_theirs)
            assert abs(la.item() - lb.item()) <= 1e-8 * max(1.0, abs(lb.item()))
            assert_close(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-7, atol=1e-9)
        assert opt.state[ours]["func_evals"] == ref.state[theirs]["func_evals"]
        assert opt.state[ours]["n_iter"] == ref.state[theirs]["n_iter"]


def test_lbfgs_refuses_groups_and_bad_line_search():
    a, b = gc.zeros(2, requires_grad=True), gc.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        gc.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(ValueError, match="strong_wolfe"):
        gc.optim.LBFGS([a], line_search_fn="armijo")
    with pytest.raises(RuntimeError, match="closure"):
        gc.optim.LBFGS([a]).step(None)


@pytest.mark.parametrize(
    "name", ["Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "LBFGS", "Adafactor"]
)
def test_repr_matches_torch(name):
    ours = getattr(gc.optim, name)([gc.zeros(2, requires_grad=True)], lr=0.5)
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], lr=0.5)
    assert repr(ours) == repr(theirs)


# torch's keyword flags on the existing optimizers: maximize ascends; foreach/fused/... are accepted.
EXISTING = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "maximize": True}),
    (
        "SGD",
        {
            "lr": 0.05,
            "momentum": 0.9,
            "nesterov": True,
            "weight_decay": 0.1,
            "maximize": True,
            "foreach": False,
        },
    ),
    ("SGD", {"lr": 0.05, "maximize": True, "fused": None, "differentiable": False}),
    ("Adam", {"lr": 0.05, "maximize": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "maximize": True, "amsgrad": True, "foreach": False, "capturable": False}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05, "maximize": True, "fused": None}),
    ("RMSprop", {"lr": 0.01, "maximize": True, "momentum": 0.5, "centered": True, "foreach": False}),
]


@pytest.mark.parametrize("name,kwargs", EXISTING, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EXISTING)])
def test_existing_optimizers_take_torch_flags(name, kwargs):
    _run_both(name, kwargs, dtype=np.float32, steps=5)


def test_lbfgs_state_dict_round_trip_continues_like_torch(tmp_path):
    start = np.array([1.3, -0.7, 0.4])
    ours, theirs = gc.tensor(start.copy(), requires_grad=True), torch.tensor(start.copy(), requires_grad=True)
    kw = {"max_iter": 3, "history_size": 4}
    opt, ref = gc.optim.LBFGS([ours], **kw), torch.optim.LBFGS([theirs], **kw)
    loss = lambda lib, x: _rosenbrock(lib, x)  # noqa: E731
    opt.step(_closure(opt, loss, gc, ours))
    ref.step(_closure(ref, loss, torch, theirs))
    path = tmp_path / "lbfgs.gc"
    gc.save(opt.state_dict(), path)
    copy = gc.tensor(ours.detach().numpy().copy(), requires_grad=True)
    fresh = gc.optim.LBFGS([copy], **kw)
    fresh.load_state_dict(gc.load(path))
    for _ in range(2):
        fresh.step(_closure(fresh, loss, gc, copy))
        ref.step(_closure(ref, loss, torch, theirs))
    assert_close(copy.detach().numpy(), theirs.detach().numpy(), rtol=1e-7, atol=1e-9)
