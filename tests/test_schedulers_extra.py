"""The added lr schedulers against torch.optim.lr_scheduler: lr (and momentum) sequences over many steps,
two param groups, composition (SequentialLR, ChainedScheduler), state_dict, bad arguments."""

import pytest
import torch

import gradcore as gc
from gradcore.optim import lr_scheduler as S

TS = torch.optim.lr_scheduler


def _opts(kind="SGD"):
    ours_p = [gc.zeros(2, requires_grad=True), gc.zeros(1, requires_grad=True)]
    theirs_p = [torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)]
    extra = {"momentum": 0.9} if kind == "SGD" else {}
    ours = getattr(gc.optim, kind)(
        [{"params": ours_p[:1]}, {"params": ours_p[1:], "lr": 0.3}], lr=1.0, **extra
    )
    theirs = getattr(torch.optim, kind)(
        [{"params": theirs_p[:1]}, {"params": theirs_p[1:], "lr": 0.3}], lr=1.0, **extra
    )
    return ours, theirs


def _same(a, b):
    """Two lr sequences (lists of per-group lists) agree to the last few ulps."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x == pytest.approx(y, rel=1e-14, abs=1e-15)


def _sequence(opt, sched, steps):
    lrs, moms = [], []
    for _ in range(steps):
        lrs.append(list(sched.get_last_lr()))
        g = opt.param_groups[0]
        moms.append(g.get("momentum", g.get("betas", (None,))[0]))
        opt.step()
        sched.step()
    lrs.append(list(sched.get_last_lr()))
    return lrs, moms


SINGLE = [
    ("MultiplicativeLR", {"lr_lambda": lambda e: 0.95 if e % 3 else 0.8}),
    ("ConstantLR", {}),
    ("ConstantLR", {"factor": 0.25, "total_iters": 7}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.7, "total_iters": 9}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 12}),
    ("PolynomialLR", {}),
    ("PolynomialLR", {"total_iters": 11, "power": 2.5}),
    ("CosineAnnealingWarmRestarts", {"T_0": 5}),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.01}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.5, "step_size_up": 4}),
    (
        "CyclicLR",
        {
            "base_lr": [0.01, 0.02],
            "max_lr": 0.5,
            "step_size_up": 3,
            "step_size_down": 5,
            "mode": "triangular2",
        },
    ),
    (
        "CyclicLR",
        {
            "base_lr": 0.01,
            "max_lr": 0.5,
            "step_size_up": 3,
            "mode": "exp_range",
            "gamma": 0.9,
            "base_momentum": 0.7,
            "max_momentum": 0.95,
        },
    ),
    (
        "CyclicLR",
        {
            "base_lr": 0.01,
            "max_lr": 0.5,
            "step_size_up": 3,
            "scale_fn": lambda x: 0.5**x,
            "scale_mode": "iterations",
            "cycle_momentum": False,
        },
    ),
]


@pytest.mark.parametrize("name,kwargs", SINGLE, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SINGLE)])
def test_lr_sequence_matches_torch(name, kwargs):
    ours, theirs = _opts()
    a = _sequence(ours, getattr(S, name)(ours, **kwargs), 40)
    b = _sequence(theirs, getattr(TS, name)(theirs, **kwargs), 40)
    _same(a[0], b[0])
    assert a[1] == pytest.approx(b[1], rel=1e-14)


def test_cyclic_lr_cycles_adam_beta1_like_torch():
    ours, theirs = _opts("Adam")
    kwargs = {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2}
    a = _sequence(ours, S.CyclicLR(ours, **kwargs), 10)
    b = _sequence(theirs, TS.CyclicLR(theirs, **kwargs), 10)
    assert a == b


def test_cyclic_lr_needs_momentum():
    opt = gc.optim.Adagrad([gc.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum"):
        S.CyclicLR(opt, 0.1, 1.0)
    S.CyclicLR(opt, 0.1, 1.0, cycle_momentum=False)


def _warmup_cosine(mod, opt):
    return mod.SequentialLR(
        opt,
        [mod.LinearLR(opt, start_factor=0.1, total_iters=4), mod.CosineAnnealingLR(opt, T_max=10)],
        milestones=[4],
    )


@pytest.mark.parametrize(
    "build",
    [
        _warmup_cosine,
        lambda m, o: m.SequentialLR(
            o, [m.ConstantLR(o, 0.5, 3), m.ExponentialLR(o, 0.9), m.StepLR(o, 2, 0.5)], milestones=[3, 8]
        ),
        lambda m, o: m.SequentialLR(o, [m.MultiStepLR(o, [2, 4], 0.5), m.PolynomialLR(o, 6, 2.0)], [5]),
        lambda m, o: m.ChainedScheduler([m.ConstantLR(o, 0.5, 4), m.ExponentialLR(o, 0.9)]),
        lambda m, o: m.ChainedScheduler(
            [m.LinearLR(o, 0.2, total_iters=5), m.StepLR(o, 3, 0.5)], optimizer=o
        ),
    ],
    ids=["warmup-cosine", "three-phases", "multistep-poly", "chained", "chained-linear-step"],
)
def test_composed_schedulers_match_torch(build):
    ours, theirs = _opts()
    a = _sequence(ours, build(S, ours), 25)
    b = _sequence(theirs, build(TS, theirs), 25)
    _same(a[0], b[0])


def test_warm_restarts_fractional_epochs_match_torch():
    ours, theirs = _opts()
    a, b = (
        S.CosineAnnealingWarmRestarts(ours, T_0=4, T_mult=2),
        TS.CosineAnnealingWarmRestarts(theirs, T_0=4, T_mult=2),
    )
    for epoch in [0.5, 1.25, 3.9, 4.0, 7.5, 12.0, 13.3, 2.0]:
        a.step(epoch)
        b.step(epoch)
        assert a.get_last_lr() == pytest.approx(b.get_last_lr(), rel=1e-14)
    with pytest.raises(ValueError, match="non-negative"):
        a.step(-1)


def test_step_with_epoch_uses_the_closed_form_like_torch():
    ours, theirs = _opts()
    a, b = S.LinearLR(ours, 0.2, total_iters=6), TS.LinearLR(theirs, 0.2, total_iters=6)
    for epoch in [3, 5, 9]:
        a.step(epoch)
        with pytest.warns(UserWarning):
            b.step(epoch)
        assert a.get_last_lr() == pytest.approx(b.get_last_lr(), rel=1e-14)


def test_state_dict_round_trip_resumes_the_sequence():
    ours, _ = _opts()
    sched = _warmup_cosine(S, ours)
    for _ in range(6):
        ours.step()
        sched.step()
    saved = sched.state_dict()
    expected = _sequence(ours, sched, 5)[0]
    ours2, _ = _opts()
    sched2 = _warmup_cosine(S, ours2)
    sched2.load_state_dict(saved)
    for g, lr in zip(ours2.param_groups, expected[0]):
        g["lr"] = lr
    assert _sequence(ours2, sched2, 5)[0] == expected


@pytest.mark.parametrize(
    "make,err",
    [
        (lambda o: S.ConstantLR(o, factor=1.5), ValueError),
        (lambda o: S.LinearLR(o, start_factor=0.0), ValueError),
        (lambda o: S.LinearLR(o, end_factor=2.0), ValueError),
        (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError),
        (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError),
        (lambda o: S.CyclicLR(o, 0.1, 1.0, mode="bogus"), ValueError),
        (lambda o: S.MultiplicativeLR(o, [lambda e: 1.0] * 3), ValueError),
        (lambda o: S.MultiplicativeLR(o, 0.5), TypeError),
        (lambda o: S.SequentialLR(o, [], []), ValueError),
        (lambda o: S.SequentialLR(o, [S.ConstantLR(o), S.ConstantLR(o)], [1, 2]), ValueError),
        (lambda o: S.SequentialLR(o, [S.ReduceLROnPlateau(o)], []), ValueError),
        (lambda o: S.ChainedScheduler([]), ValueError),
    ],
)
def test_bad_arguments_raise(make, err):
    ours, _ = _opts()
    with pytest.raises(err):
        make(ours)


def test_schedulers_from_another_optimizer_are_refused():
    a, _ = _opts()
    b, _ = _opts()
    with pytest.raises(ValueError, match="same optimizer"):
        S.SequentialLR(a, [S.ConstantLR(a), S.ConstantLR(b)], [2])
