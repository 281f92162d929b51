"""Optimizers (param groups, RMSprop, amsgrad, nesterov), lr schedulers and gradient clipping, each
stepped side by side with torch in float64."""

import math
import warnings

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.optim import lr_scheduler
from gradcore.testing import assert_close


def _twins(device, shapes=((3, 2), (4,)), seed=0):
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=s) for s in shapes]
    ours = [gc.tensor(v, dtype=gc.float64, device=device, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    return ours, theirs


def _run_side_by_side(ours, theirs, opt, topt, device, steps=5, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        opt.zero_grad()
        topt.zero_grad()
        for p, tp in zip(ours, theirs):
            g = rng.normal(size=p.shape)
            (p * gc.tensor(g, dtype=gc.float64, device=device)).sum().backward()
            (tp * torch.tensor(g)).sum().backward()
        opt.step()
        topt.step()
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            assert_close(p.cpu(), tp.detach().numpy(), rtol=1e-11, atol=1e-13, name=f"param {i}")


@pytest.mark.parametrize(
    "make",
    [
        lambda ps, T: T.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps, T: T.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3),
        lambda ps, T: T.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.05),
        lambda ps, T: T.Adam(ps, lr=0.05, amsgrad=True, weight_decay=0.01),
        lambda ps, T: T.AdamW(ps, lr=0.05, amsgrad=True),
        lambda ps, T: T.Adam(ps, lr=0.05, betas=(0.8, 0.9)),
        lambda ps, T: T.RMSprop(ps, lr=0.01),
        lambda ps, T: T.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1),
    ],
)
def test_optimizers_match_torch(device, make):
    ours, theirs = _twins(device)
    _run_side_by_side(ours, theirs, make(ours, gc.optim), make(theirs, torch.optim), device)


def test_param_groups_per_group_hyperparameters_match_torch(device):
    ours, theirs = _twins(device, shapes=((3, 2), (4,), (2,)))

    def groups(ps):
        return [{"params": ps[:2]}, {"params": [ps[2]], "lr": 0.01, "betas": (0.5, 0.6)}]

    opt, topt = gc.optim.Adam(groups(ours), lr=0.1), torch.optim.Adam(groups(theirs), lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01] and opt.param_groups[1]["eps"] == 1e-8
    _run_side_by_side(ours, theirs, opt, topt, device, steps=3)
    for g, tg in zip(opt.param_groups, topt.param_groups):  # editable, as schedulers need
        g["lr"] = tg["lr"] = g["lr"] * 0.5
    _run_side_by_side(ours, theirs, opt, topt, device, steps=2, seed=5)


def test_add_param_group_and_duplicate_parameters():
    a, b = gc.zeros(2, requires_grad=True), gc.zeros(3, requires_grad=True)
    opt = gc.optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        opt2 = gc.optim.SGD([a, a], lr=0.1)
    (a * 1.0).sum().backward()
    opt2.step()
    assert_close(a, [-0.1, -0.1])  # updated once (torch warns the same and steps it twice)
    with pytest.raises(ValueError, match="Nesterov"):
        gc.optim.SGD([b], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        gc.optim.Adam([])


def test_optimizer_zero_grad_set_to_none():
    w = gc.ones(2, requires_grad=True)
    opt = gc.optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad.numpy().tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_optimizer_state_dict_with_groups_round_trip(tmp_path):
    ours, _ = _twins("cpu", shapes=((3,), (2,)))
    opt = gc.optim.Adam([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.01}], lr=0.1, amsgrad=True)
    for _ in range(2):
        opt.zero_grad()
        sum(((p * p).sum() for p in ours), gc.tensor(0.0, dtype=gc.float64)).backward()
        opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]] and sd["state"][0]["step"] == 2
    gc.save(sd, tmp_path / "opt.gc")
    clones = [gc.tensor(p.numpy(), dtype=gc.float64, requires_grad=True) for p in ours]
    opt2 = gc.optim.Adam([{"params": [clones[0]]}, {"params": [clones[1]]}], lr=0.5, amsgrad=True)
    opt2.load_state_dict(gc.load(tmp_path / "opt.gc"))
    assert [g["lr"] for g in opt2.param_groups] == [0.1, 0.01] and opt2.param_groups[0]["betas"] == (
        0.9,
        0.999,
    )
    for o, ps in ((opt, ours), (opt2, clones)):
        o.zero_grad()
        sum(((p * p).sum() for p in ps), gc.tensor(0.0, dtype=gc.float64)).backward()
        o.step()
    for p, q in zip(ours, clones):
        assert_close(q, p.numpy(), atol=0, rtol=0)
    with pytest.raises(ValueError, match="parameter groups"):
        gc.optim.Adam(clones, amsgrad=True).load_state_dict(sd)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1.0 / (1 + epoch) ** 0.5)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=20)),
    (
        "OneCycleLR",
        dict(max_lr=[0.5, 0.2], epochs=4, steps_per_epoch=5, three_phase=True, anneal_strategy="linear"),
    ),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULERS)
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_lr_schedulers_match_torch_exactly(name, kwargs, opt_name):
    ours, theirs = _twins("cpu")
    okw = {"lr": 0.1, "momentum": 0.9} if opt_name == "SGD" else {"lr": 0.1}
    opt = getattr(gc.optim, opt_name)([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.05}], **okw)
    topt = getattr(torch.optim, opt_name)(
        [{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.05}], **okw
    )
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about step order with no optimizer step
        tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
        for _ in range(19):
            assert sched.get_last_lr() == tsched.get_last_lr()
            assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
            for key in ("momentum", "betas"):
                if key in topt.param_groups[0]:
                    assert [tuple(np.atleast_1d(g[key])) for g in opt.param_groups] == [
                        tuple(np.atleast_1d(g[key])) for g in topt.param_groups
                    ]
            opt.step()
            topt.step()
            sched.step()
            tsched.step()


def test_one_cycle_needs_steps_and_refuses_overrun():
    opt = gc.optim.SGD([gc.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        sched.step()
    import gradcore.optim.lr_scheduler as mod  # importable as a submodule, as in torch

    assert mod.StepLR is lr_scheduler.StepLR


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_torch(device, norm_type):
    ours, theirs = _twins(device)
    rng = np.random.default_rng(3)
    for p, tp in zip(ours, theirs):
        g = rng.normal(size=p.shape) * 3
        p.grad = gc.tensor(g, dtype=gc.float64, device=device)
        tp.grad = torch.tensor(g)
    total = gc.nn.utils.clip_grad_norm_(ours, max_norm=1.5, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=norm_type)
    assert_close(total.cpu(), ttotal.numpy(), rtol=1e-12)
    for p, tp in zip(ours, theirs):
        assert_close(p.grad.cpu(), tp.grad.numpy(), rtol=1e-12)
    big = gc.nn.utils.clip_grad_norm_(ours, max_norm=1e6, norm_type=norm_type)  # no clipping: unchanged
    assert_close(big.cpu(), 1.5, rtol=1e-5)


def test_clip_grad_norm_nonfinite_and_clip_value(device):
    w = gc.tensor([1.0, 2.0], dtype=gc.float64, device=device, requires_grad=True)
    w.grad = gc.tensor([np.inf, 1.0], dtype=gc.float64, device=device)
    with pytest.raises(RuntimeError, match="non-finite"):
        gc.nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    w.grad = gc.tensor([-3.0, 0.5], dtype=gc.float64, device=device)
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    t.grad = torch.tensor([-3.0, 0.5])
    gc.nn.utils.clip_grad_value_([w], 1.0)
    torch.nn.utils.clip_grad_value_([t], 1.0)
    assert w.grad.cpu().numpy().tolist() == t.grad.numpy().tolist()


def test_step_closure_and_module_registration_helpers():
    w = gc.tensor([2.0], dtype=gc.float64, requires_grad=True)
    opt = gc.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 4.0 and w.item() == 1.0  # grad 4, lr 0.25
    net = gc.nn.Module()
    net.add_module("body", gc.nn.Sequential(gc.nn.Linear(2, 2)))
    net.register_parameter("scale", gc.nn.Parameter(gc.ones(1)))
    assert [n for n, _ in net.named_parameters()] == ["scale", "body.0.weight", "body.0.bias"]
    assert isinstance(net.get_submodule("body.0"), gc.nn.Linear)
    with pytest.raises(AttributeError, match="no submodule"):
        net.get_submodule("body.3")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(patience=2, factor=0.5),
        dict(mode="max", patience=1, threshold=0.1, threshold_mode="abs", cooldown=2, min_lr=[0.02, 0.03]),
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    ours, theirs = _twins("cpu")
    opt = gc.optim.SGD([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.05}], lr=0.1)
    topt = torch.optim.SGD([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.05}], lr=0.1)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7]
    for m in metrics:
        sched.step(gc.tensor(m))
        tsched.step(m)
        assert sched.get_last_lr() == tsched.get_last_lr()
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert sched.get_last_lr()[0] < 0.1  # the sequence did trigger reductions


@pytest.mark.parametrize("make", [lambda ps: gc.optim.Adam(ps), lambda ps: gc.optim.SGD(ps, lr=0.1)])
def test_fused_step_bumps_parameter_versions(make):
    w = gc.tensor([1.0, 2.0], requires_grad=True)
    opt = make([w])
    before = w._version
    (w * w).sum().backward()
    opt.step()
    assert w._version > before  # a graph that saved w before the step now refuses to backward


def test_sgd_without_momentum_keeps_no_state_and_late_parameters_start_fresh():
    ours, theirs = _twins("cpu", shapes=((3,), (2,)))
    opt = gc.optim.SGD([ours[0]], lr=0.1)
    (ours[0] * 2.0).sum().backward()
    opt.step()
    assert opt.state_dict()["state"] == [{}]
    # a parameter whose first gradient arrives late gets an undampened first buffer, as in torch
    ours, theirs = _twins("cpu", shapes=((3,), (2,)))
    opt = gc.optim.SGD(ours, lr=0.1, momentum=0.9, dampening=0.5, nesterov=False)
    topt = torch.optim.SGD(theirs, lr=0.1, momentum=0.9, dampening=0.5)
    rng = np.random.default_rng(7)
    for step in range(4):
        opt.zero_grad()
        topt.zero_grad()
        active = [0] if step < 2 else [0, 1]
        for i in active:
            g = rng.normal(size=ours[i].shape)
            (ours[i] * gc.tensor(g, dtype=gc.float64)).sum().backward()
            (theirs[i] * torch.tensor(g)).sum().backward()
        opt.step()
        topt.step()
        for p, tp in zip(ours, theirs):
            assert_close(p, tp.detach().numpy(), rtol=1e-12, atol=1e-14)
