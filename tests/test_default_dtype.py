"""nn layers and Tensor repr follow the default float dtype as torch does, compared with torch."""

import pytest
import torch

import gradcore as gc


@pytest.fixture
def float64_default():
    gc.set_default_dtype(gc.float64)
    torch.set_default_dtype(torch.float64)
    yield
    gc.set_default_dtype(gc.float32)
    torch.set_default_dtype(torch.float32)


def _layers(lib):
    nn = lib.nn
    return [nn.Linear(3, 2), nn.LayerNorm(4), nn.BatchNorm1d(3), nn.Embedding(5, 2)]


def _dtypes(module):
    return sorted({str(t.dtype).split(".")[-1] for t in module.state_dict().values()})


@pytest.mark.parametrize("default", [None, "float64"])
def test_layers_follow_default_dtype(request, default):
    if default:
        request.getfixturevalue("float64_default")
    for ours, theirs in zip(_layers(gc), _layers(torch)):
        assert _dtypes(ours) == _dtypes(theirs), type(ours).__name__
        assert {p.dtype for p in ours.parameters()} == {gc.get_default_dtype()}


def test_layers_accept_dtype_argument(float64_default):
    nn = gc.nn
    for layer in [nn.Linear(3, 2, dtype=gc.float32), nn.LayerNorm(4, dtype="float32"),
                  nn.BatchNorm1d(3, dtype=gc.float32), nn.Embedding(5, 2, dtype=gc.float32)]:
        assert {p.dtype for p in layer.parameters()} == {gc.float32}
    assert gc.nn.BatchNorm1d(3, dtype=gc.float32).num_batches_tracked.dtype is gc.int64
    out = gc.nn.Linear(3, 2)(gc.randn(4, 3))
    assert out.dtype is gc.float64
    with pytest.raises(TypeError, match="Linear.*floating dtype.*int64"):
        gc.nn.Linear(3, 2, dtype=gc.int64)


@pytest.mark.parametrize("default", [None, "float64"])
def test_repr_shows_dtype_unless_implied(request, default):
    if default:
        request.getfixturevalue("float64_default")
    cases = [("float32", [1.5]), ("float64", [1.5]), ("int64", [1]), ("int32", [1]), ("bool", [True])]
    for name, data in cases:
        ours = repr(gc.tensor(data, dtype=name))
        theirs = repr(torch.tensor(data, dtype=getattr(torch, name)))
        assert ("dtype=" in ours) == ("dtype=" in theirs), (name, ours, theirs)
        if "dtype=" in theirs:
            assert ours.endswith(f"dtype=gradcore.{name})")
