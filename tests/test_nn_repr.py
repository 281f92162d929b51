"""repr() of every module gradcore.nn exports, next to torch.nn's built with the same arguments."""

import pytest
import torch

import gradcore as gc
from gradcore import nn

# name -> constructor calls (args, kwargs) to compare; every exported Module class must appear here.
CASES = {
    "AdaptiveAvgPool1d": [((3,), {})],
    "AdaptiveAvgPool2d": [(((2, 3),), {}), ((1,), {})],
    "AvgPool1d": [((2,), {}), ((3, 2, 1), {"ceil_mode": True, "count_include_pad": False})],
    "AvgPool2d": [
        ((2,), {}),
        ((3, 2, 1), {"ceil_mode": True, "count_include_pad": False, "divisor_override": 2}),
    ],
    "BCELoss": [((), {}), ((), {"reduction": "sum"})],
    "BCEWithLogitsLoss": [((), {}), ((), {"reduction": "none"})],
    "BatchNorm1d": [
        ((3,), {}),
        ((4,), {"eps": 1e-3, "momentum": None, "affine": False}),
        ((2,), {"bias": False}),
    ],
    "BatchNorm2d": [
        ((3,), {}),
        ((4,), {"track_running_stats": False, "momentum": 0.2}),
        ((2,), {"bias": False}),
    ],
    "ConstantPad2d": [((1, 2.5), {}), (((1, 2, 3, 4), 0.0), {})],
    "Conv2d": [
        ((3, 8, 3), {}),
        ((4, 8, (3, 5)), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2, "bias": False}),
        ((2, 4, 3), {"padding": "same"}),
    ],
    "ConvTranspose2d": [
        ((3, 8, 3), {}),
        ((4, 8, 3), {"stride": 2, "padding": 1, "output_padding": 1, "bias": False}),
    ],
    "CrossEntropyLoss": [((), {}), ((), {"ignore_index": 3, "label_smoothing": 0.1, "reduction": "sum"})],
    "Dropout": [((), {}), ((0.2,), {}), ((0.3,), {"inplace": True})],
    "ELU": [((), {}), ((0.5,), {})],
    "Embedding": [((10, 3), {}), ((10, 3), {"padding_idx": 0})],
    "Flatten": [((), {}), ((0, 2), {})],
    "GELU": [((), {}), ((), {"approximate": "tanh"})],
    "HuberLoss": [((), {}), ((), {"delta": 2.0})],
    "Identity": [((), {})],
    "L1Loss": [((), {})],
    "LayerNorm": [
        ((4,), {}),
        (((2, 3),), {"eps": 1e-3, "elementwise_affine": False}),
        ((4,), {"bias": False}),
    ],
    "LeakyReLU": [((), {}), ((0.2,), {})],
    "Linear": [((3, 2), {}), ((3, 2), {"bias": False})],
    "LogSoftmax": [((1,), {}), ((), {"dim": -1})],
    "MSELoss": [((), {}), ((), {"reduction": "sum"})],
    "MaxPool1d": [((2,), {}), ((3, 2, 1), {"ceil_mode": True})],
    "MaxPool2d": [((2,), {}), ((3, 2, 1, 2), {"ceil_mode": True})],
    "Module": [((), {})],
    "ModuleDict": [((), {})],
    "ModuleList": [((), {})],
    "NLLLoss": [((), {}), ((), {"ignore_index": 0})],
    "ReLU": [((), {})],
    "ReflectionPad2d": [((1,), {}), (((1, 0, 2, 0),), {})],
    "ReplicationPad2d": [((2,), {})],
    "Sequential": [((), {})],
    "SiLU": [((), {})],
    "Sigmoid": [((), {})],
    "SmoothL1Loss": [((), {}), ((), {"beta": 0.5})],
    "Softmax": [((1,), {}), ((), {"dim": -1})],
    "Tanh": [((), {})],
    "Unflatten": [((1, (2, 3)), {})],
    "Upsample": [
        ((), {"scale_factor": 2}),
        ((), {"size": (4, 5)}),
        ((), {"scale_factor": 2.0, "mode": "nearest"}),
    ],
    "UpsamplingNearest2d": [((), {"scale_factor": 2}), ((), {"size": 3})],
    "ZeroPad2d": [((1,), {}), (((1, 2, 0, 3),), {})],
}


def _exported_modules():
    return sorted(
        n for n in nn.__all__ if isinstance(getattr(nn, n), type) and issubclass(getattr(nn, n), nn.Module)
    )


def test_every_exported_module_has_a_case():
    assert sorted(set(_exported_modules()) - set(CASES)) == []


@pytest.mark.parametrize(
    "name, args, kwargs", [(n, a, k) for n, calls in sorted(CASES.items()) for a, k in calls]
)
def test_repr_matches_torch(name, args, kwargs):
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


def _containers(lib):
    layers = [lib.Linear(3, 4), lib.ReLU(), lib.Dropout(0.1)]
    return [
        lib.Sequential(*layers),
        lib.ModuleList(layers),
        lib.ModuleDict({"a": lib.Linear(2, 2), "b": lib.Sequential(lib.Tanh(), lib.Flatten())}),
    ]


def test_container_reprs_match_torch():
    for ours, theirs in zip(_containers(nn), _containers(torch.nn)):
        assert repr(ours) == repr(theirs)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, bias=False), nn.MaxPool2d(2), nn.Flatten())
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3),
        torch.nn.BatchNorm2d(2, bias=False),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
    )
    assert repr(net) == repr(ref)


def test_new_options_behave_as_torch():
    import numpy as np

    from gradcore.testing import assert_close

    # BatchNorm(bias=False): a weight and no bias parameter; LayerNorm(bias=False) likewise.
    bn, tbn = nn.BatchNorm2d(2, bias=False), torch.nn.BatchNorm2d(2, bias=False)
    assert bn.bias is None and tbn.bias is None
    assert sorted(bn.state_dict()) == sorted(tbn.state_dict())
    assert [n for n, _ in bn.named_parameters()] == [n for n, _ in tbn.named_parameters()] == ["weight"]
    arr = np.random.default_rng(0).normal(2.0, 1.0, size=(3, 2, 2, 2)).astype(np.float32)
    assert_close(bn(gc.tensor(arr)), tbn(torch.tensor(arr)).detach().numpy(), atol=1e-5)
    ln, tln = nn.LayerNorm(4, bias=False), torch.nn.LayerNorm(4, bias=False)
    assert ln.bias is None and sorted(ln.state_dict()) == sorted(tln.state_dict())
    # Dropout(inplace=True) writes into its input (and returns it), as torch's.
    x = gc.ones(1000)
    out = nn.Dropout(0.5, inplace=True)(x)
    assert out is x and 300 < int((x == 0).sum().item()) < 700
    assert int((x == 2).sum().item()) + int((x == 0).sum().item()) == 1000
    y = gc.ones(10)
    nn.Dropout(0.5, inplace=True).eval()(y)
    assert y.tolist() == [1.0] * 10
