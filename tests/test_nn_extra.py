"""The nn additions against torch (float64, same weights copied in): activations, channel dropout, Conv1d /
ConvTranspose1d, GroupNorm / InstanceNorm / RMSNorm, parameter containers, adaptive max pooling, pads,
pixel shuffle, unfold / fold, bilinear, distances, the added losses, parameters_to_vector."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcore as gc
import gradcore.nn.functional as F
from gradcore.testing import assert_close

RNG = np.random.default_rng(0)


def _both(arrays, requires_grad=True, nograd=()):
    flags = [requires_grad and a.dtype.kind == "f" and i not in nograd for i, a in enumerate(arrays)]
    ours = [gc.tensor(a, requires_grad=f) for a, f in zip(arrays, flags)]
    theirs = [torch.tensor(a, requires_grad=f) for a, f in zip(arrays, flags)]
    return ours, theirs


def _check(fn_ours, fn_theirs, arrays, rtol=1e-9, atol=1e-10, grad=True, nograd=()):
    """Forward and (with a random upstream gradient) backward of both agree, for every float input
    (but those at the positions in ``nograd``: class or sign targets)."""
    ours, theirs = _both(arrays, grad, nograd)
    a, b = fn_ours(*ours), fn_theirs(*theirs)
    assert tuple(a.shape) == tuple(b.shape)
    assert_close(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)
    if not grad:
        return
    up = RNG.standard_normal(tuple(b.shape))
    (a * gc.tensor(up)).sum().backward()
    (b * torch.tensor(up)).sum().backward()
    for x, y in zip(ours, theirs):
        if y.requires_grad:
            assert_close(x.grad.numpy(), y.grad.numpy(), rtol=rtol, atol=atol, name="grad")


def randn(*shape):
    return RNG.standard_normal(shape)


# ---------------------------------------------------------------- activations

ACTIVATIONS = [
    ("relu6", {}),
    ("hardtanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 3.0}),
    ("mish", {}),
    ("selu", {}),
    ("celu", {}),
    ("celu", {"alpha": 0.5}),
    ("logsigmoid", {}),
    ("hardswish", {}),
    ("hardsigmoid", {}),
    ("softsign", {}),
    ("tanhshrink", {}),
    ("softshrink", {}),
    ("softshrink", {"lambd": 1.0}),
    ("hardshrink", {}),
    ("hardshrink", {"lambd": 1.2}),
    ("threshold", {"threshold": 0.3, "value": -2.0}),
    ("glu", {}),
    ("glu", {"dim": 0}),
    ("softmin", {"dim": 1}),
    ("softmin", {"dim": 0}),
]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ACTIVATIONS)])
def test_functional_activation_matches_torch(name, kwargs):
    x = randn(4, 6) * 3.0
    x[0, :3] = [40.0, -40.0, 25.0]  # far tails: finite, and softplus' threshold branch
    _check(lambda t: getattr(F, name)(t, **kwargs), lambda t: getattr(TF, name)(t, **kwargs), [x])


MODULES = [
    ("ReLU6", ()),
    ("Hardtanh", (-2.0, 1.5)),
    ("Softplus", (1.5, 10.0)),
    ("Mish", ()),
    ("SELU", ()),
    ("CELU", (0.7,)),
    ("GLU", ()),
    ("Softmin", (1,)),
    ("LogSigmoid", ()),
    ("Hardswish", ()),
    ("Hardsigmoid", ()),
    ("Threshold", (0.1, 20.0)),
    ("Softsign", ()),
    ("Tanhshrink", ()),
    ("Softshrink", (0.3,)),
    ("Hardshrink", (0.3,)),
]


@pytest.mark.parametrize("name,args", MODULES, ids=[n for n, _ in MODULES])
def test_activation_module_matches_torch_and_repr(name, args):
    ours, theirs = getattr(gc.nn, name)(*args), getattr(torch.nn, name)(*args)
    # torch's celu backward scales by 1 / float32(alpha) (its derivatives.yaml), 5e-8 off for alpha = 0.7
    _check(ours, theirs, [randn(3, 4) * 4.0], rtol=1e-7 if name == "CELU" else 1e-9)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("shape,num", [((3, 4), 1), ((2, 4, 5), 4), ((2, 3, 4, 4), 3), ((5,), 1), ((), 1)])
def test_prelu_matches_torch_including_weight_grad(shape, num):
    ours = gc.nn.PReLU(num, init=0.1, dtype=gc.float64)
    theirs = torch.nn.PReLU(num, init=0.1, dtype=torch.float64)
    x = randn(*shape)
    _check(ours, theirs, [x])
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-9, atol=1e-10)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == ["weight"]


def test_activation_errors():
    with pytest.raises(ValueError, match="even"):
        F.glu(gc.zeros(2, 3))
    with pytest.raises(ValueError, match="channels"):
        F.prelu(gc.zeros(2, 3), gc.zeros(4))
    with pytest.raises(ValueError, match="channels"):  # torch: a 1-d input has one channel
        F.prelu(gc.zeros(5), gc.zeros(5))
    with pytest.raises(ValueError, match="min_val"):
        gc.nn.Hardtanh(1.0, -1.0)
    with pytest.raises(TypeError, match="floating"):
        F.softplus(gc.tensor([1, 2]))
    with pytest.raises(ValueError, match="3 or 4"):
        gc.nn.Softmax2d()(gc.zeros(2, 3))


def test_softmax2d_matches_torch():
    _check(gc.nn.Softmax2d(), torch.nn.Softmax2d(), [randn(2, 3, 4, 5)])
    _check(gc.nn.Softmax2d(), torch.nn.Softmax2d(), [randn(3, 4, 5)])


def test_activations_run_on_the_device(device):
    x = gc.tensor(randn(3, 4), device=device)
    for fn in (F.softplus, F.mish, F.selu, F.hardswish, F.logsigmoid, F.relu6):
        assert_close(fn(x).cpu().numpy(), fn(x.cpu()).numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- dropout


@pytest.mark.parametrize(
    "cls,shape",
    [
        (gc.nn.Dropout1d, (8, 16, 5)),
        (gc.nn.Dropout1d, (16, 5)),
        (gc.nn.Dropout2d, (8, 16, 3, 3)),
        (gc.nn.Dropout3d, (4, 16, 2, 2, 2)),
        (gc.nn.Dropout3d, (16, 2, 2, 2)),
    ],
)
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    gc.manual_seed(0)
    layer = cls(p=0.5)
    y = layer(gc.ones(*shape)).numpy()
    lead = 2 if len(shape) == layer_batched(cls) else 1
    per_channel = y.reshape(shape[:lead] + (-1,))
    assert (per_channel == per_channel[..., :1]).all()  # one value per channel
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8
    layer.eval()
    assert (layer(gc.ones(*shape)).numpy() == 1).all()


def layer_batched(cls):
    return {gc.nn.Dropout1d: 3, gc.nn.Dropout2d: 4, gc.nn.Dropout3d: 5}[cls]


def test_dropout2d_gradient_is_the_mask_and_3d_input_warns():
    gc.manual_seed(1)
    x = gc.ones(4, 6, 3, 3, requires_grad=True)
    y = F.dropout2d(x, 0.3)
    y.sum().backward()
    assert_close(x.grad.numpy(), y.detach().numpy())
    with pytest.warns(UserWarning, match="3D input"):
        F.dropout2d(gc.ones(2, 3, 4), 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        gc.nn.Dropout2d(1.5)
    assert repr(gc.nn.Dropout2d(0.25)) == repr(torch.nn.Dropout2d(0.25))


def test_alpha_dropout_keeps_mean_and_variance():
    gc.manual_seed(2)
    x = gc.tensor(RNG.standard_normal(200_000))
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    assert F.alpha_dropout(x, 0.2, training=False) is x
    feat = F.feature_alpha_dropout(gc.ones(64, 8, 5), 0.5, training=True).numpy()
    assert (feat == feat[..., :1]).all()
    layer = gc.nn.AlphaDropout(0.1)
    assert layer(x).shape == x.shape


# ---------------------------------------------------------------- conv1d


def _copy(ours, theirs):
    with torch.no_grad():
        for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert n1 == n2
            p2.copy_(torch.tensor(p1.numpy()))


CONV1D = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=4, out_channels=6, kernel_size=5, stride=2, padding=2, dilation=1, groups=2),
    dict(in_channels=2, out_channels=4, kernel_size=3, padding="same", dilation=2, bias=False),
    dict(in_channels=2, out_channels=3, kernel_size=4, padding="valid"),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=2, padding_mode="reflect"),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="circular"),
    dict(in_channels=2, out_channels=3, kernel_size=4, padding="same", padding_mode="replicate"),
]


@pytest.mark.parametrize("kwargs", CONV1D, ids=[str(i) for i in range(len(CONV1D))])
def test_conv1d_matches_torch(kwargs):
    ours = gc.nn.Conv1d(**kwargs, dtype=gc.float64)
    theirs = torch.nn.Conv1d(**kwargs, dtype=torch.float64)
    _copy(ours, theirs)
    _check(ours, theirs, [randn(2, kwargs["in_channels"], 11)])
    for p1, p2 in zip(ours.parameters(), theirs.parameters()):
        assert_close(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-9, atol=1e-10)
    assert repr(ours) == repr(theirs)
    _check(ours, theirs, [randn(kwargs["in_channels"], 9)], grad=False)  # unbatched


CONVT1D = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=4, out_channels=6, kernel_size=4, stride=2, padding=1, output_padding=1, groups=2),
    dict(in_channels=2, out_channels=2, kernel_size=3, stride=3, dilation=2, bias=False),
]


@pytest.mark.parametrize("kwargs", CONVT1D, ids=[str(i) for i in range(len(CONVT1D))])
def test_conv_transpose1d_matches_torch(kwargs):
    ours = gc.nn.ConvTranspose1d(**kwargs, dtype=gc.float64)
    theirs = torch.nn.ConvTranspose1d(**kwargs, dtype=torch.float64)
    _copy(ours, theirs)
    _check(ours, theirs, [randn(2, kwargs["in_channels"], 7)])
    for p1, p2 in zip(ours.parameters(), theirs.parameters()):
        assert_close(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-9, atol=1e-10)
    assert repr(ours) == repr(theirs)


def test_conv_transpose1d_output_size_and_functional_forms():
    up = gc.nn.ConvTranspose1d(2, 2, 3, stride=2, padding=1)
    assert up(gc.zeros(1, 2, 5), output_size=[10]).shape == (1, 2, 10)
    with pytest.raises(ValueError, match="output size"):
        up(gc.zeros(1, 2, 5), output_size=[13])
    x, w = randn(2, 4, 9), randn(6, 2, 3)
    _check(
        lambda a, b: F.conv1d(a, b, stride=2, padding=1, groups=2),
        lambda a, b: TF.conv1d(a, b, stride=2, padding=1, groups=2),
        [x, w],
    )
    _check(
        lambda a, b: F.conv_transpose1d(a, b, stride=2),
        lambda a, b: TF.conv_transpose1d(a, b, stride=2),
        [randn(2, 6, 5), randn(6, 3, 3)],
    )


def test_conv1d_errors_and_default_init_scale():
    with pytest.raises(ValueError, match="3-d"):
        F.conv1d(gc.zeros(1, 2, 5), gc.zeros(3, 2))
    with pytest.raises(ValueError, match="2-d .* or 3-d"):
        F.conv1d(gc.zeros(1, 1, 2, 5), gc.zeros(3, 1, 2))
    with pytest.raises(ValueError, match="divisible"):
        gc.nn.Conv1d(3, 4, 3, groups=2)
    w = gc.nn.Conv1d(16, 32, 3).weight.numpy()
    bound = 1 / math.sqrt(16 * 3)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound


def test_conv1d_on_the_device(device):
    conv = gc.nn.Conv1d(2, 3, 3, padding=1).to(device)
    x = gc.tensor(randn(2, 2, 8).astype(np.float32), device=device)
    ref = gc.nn.Conv1d(2, 3, 3, padding=1)
    ref.load_state_dict(conv.state_dict())
    assert_close(conv(x).cpu().numpy(), ref(x.cpu()).numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- normalization


@pytest.mark.parametrize(
    "shape,groups,affine",
    [((2, 6, 5), 3, True), ((3, 4, 3, 3), 2, False), ((2, 4), 4, True), ((2, 6, 2, 2, 2), 1, True)],
)
def test_group_norm_matches_torch(shape, groups, affine):
    ours = gc.nn.GroupNorm(groups, shape[1], affine=affine, dtype=gc.float64)
    theirs = torch.nn.GroupNorm(groups, shape[1], affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(randn(shape[1])))
            theirs.bias.copy_(torch.tensor(randn(shape[1])))
        ours.weight.detach().copy_(gc.tensor(theirs.weight.detach().numpy()))
        ours.bias.detach().copy_(gc.tensor(theirs.bias.detach().numpy()))
    _check(ours, theirs, [randn(*shape) * 2 + 1], rtol=1e-8, atol=1e-9)
    if affine:
        assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-8, atol=1e-9)
    assert repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match="divisible"):
        F.group_norm(gc.zeros(2, 5, 3), 2)


@pytest.mark.parametrize(
    "cls,shape",
    [
        ("InstanceNorm1d", (3, 4, 7)),
        ("InstanceNorm2d", (2, 3, 4, 5)),
        ("InstanceNorm2d", (3, 4, 5)),
        ("InstanceNorm3d", (2, 2, 3, 3, 3)),
    ],
)
@pytest.mark.parametrize("affine,track", [(False, False), (True, True)])
def test_instance_norm_matches_torch_train_and_eval(cls, shape, affine, track):
    batched = len(shape) == int(cls[-2]) + 2  # InstanceNorm{k}d takes k + 2 dims batched
    ours = getattr(gc.nn, cls)(
        shape[1] if batched else shape[0], affine=affine, track_running_stats=track, dtype=gc.float64
    )
    theirs = getattr(torch.nn, cls)(
        ours.num_features, affine=affine, track_running_stats=track, dtype=torch.float64
    )
    _check(ours, theirs, [randn(*shape) * 3 + 2], rtol=1e-8, atol=1e-9)
    if track:
        assert_close(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-10)
        assert_close(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-10)
        ours.eval()
        theirs.eval()
        _check(ours, theirs, [randn(*shape)], rtol=1e-8, atol=1e-9)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("shape,norm,eps", [((3, 8), 8, None), ((2, 3, 4), (3, 4), 1e-5), ((5,), 5, 0.1)])
def test_rms_norm_matches_torch(shape, norm, eps):
    ours = gc.nn.RMSNorm(norm, eps=eps, dtype=gc.float64)
    theirs = torch.nn.RMSNorm(norm, eps=eps, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(randn(*theirs.weight.shape)))
    ours.weight.detach().copy_(gc.tensor(theirs.weight.detach().numpy()))
    _check(ours, theirs, [randn(*shape)], rtol=1e-8, atol=1e-9)
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-8, atol=1e-9)
    assert repr(ours) == repr(theirs)


# ---------------------------------------------------------------- containers


def test_parameter_list_and_dict_register_their_parameters():
    class Net(gc.nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = gc.nn.ParameterList([gc.nn.Parameter(gc.zeros(2)), gc.ones(3)])
            self.pd = gc.nn.ParameterDict({"a": gc.nn.Parameter(gc.zeros(1))})
            self.ps.append(gc.nn.Parameter(gc.zeros(4)))
            self.pd["b"] = gc.ones(2)

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["ps.0", "ps.1", "ps.2", "pd.a", "pd.b"]
    assert isinstance(net.ps[1], gc.nn.Parameter) and net.ps[-1].shape == (4,)
    assert len(net.ps) == 3 and [p.shape for p in net.ps] == [(2,), (3,), (4,)]
    assert list(net.pd.keys()) == ["a", "b"] and "a" in net.pd and len(net.pd) == 2
    assert set(net.state_dict()) == {"ps.0", "ps.1", "ps.2", "pd.a", "pd.b"}
    assert len(net.ps[1:]) == 2
    del net.pd["a"]
    assert [n for n, _ in net.named_parameters()][-1] == "pd.b" and len(net.pd) == 1
    with pytest.raises(IndexError):
        net.ps[5]
    with pytest.raises(KeyError):
        net.pd["zzz"]
    opt = gc.optim.SGD(net.parameters(), lr=0.1)
    assert len(opt.params) == 4


# ---------------------------------------------------------------- pooling, padding, shuffles


@pytest.mark.parametrize(
    "shape,out", [((2, 3, 7, 5), (3, 2)), ((3, 9, 9), 4), ((1, 2, 5, 6), (None, 3)), ((1, 1, 4, 4), 4)]
)
def test_adaptive_max_pool2d_matches_torch_with_indices(shape, out):
    x = randn(*shape)
    _check(lambda t: F.adaptive_max_pool2d(t, out), lambda t: TF.adaptive_max_pool2d(t, out), [x])
    v, i = F.adaptive_max_pool2d(gc.tensor(x), out, return_indices=True)
    tv, ti = TF.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
    assert (i.numpy() == ti.numpy()).all() and i.dtype == gc.int64
    mod = gc.nn.AdaptiveMaxPool2d(out)
    assert repr(mod) == repr(torch.nn.AdaptiveMaxPool2d(out))


@pytest.mark.parametrize("shape,out", [((2, 3, 10), 4), ((3, 7), 3), ((1, 2, 5), 5)])
def test_adaptive_max_pool1d_matches_torch_with_indices(shape, out):
    x = randn(*shape)
    _check(lambda t: gc.nn.AdaptiveMaxPool1d(out)(t), lambda t: torch.nn.AdaptiveMaxPool1d(out)(t), [x])
    _, i = F.adaptive_max_pool1d(gc.tensor(x), out, return_indices=True)
    _, ti = TF.adaptive_max_pool1d(torch.tensor(x), out, return_indices=True)
    assert (i.numpy() == ti.numpy()).all()


@pytest.mark.parametrize(
    "name,args,shape",
    [
        ("ZeroPad1d", ((1, 2),), (2, 3, 5)),
        ("ConstantPad1d", (2, 3.5), (3, 4)),
        ("ReflectionPad1d", ((2, 1),), (2, 3, 5)),
        ("ReplicationPad1d", (3,), (2, 3, 5)),
        ("CircularPad1d", ((1, 2),), (2, 3, 5)),
        ("CircularPad2d", ((1, 0, 2, 1),), (2, 3, 4, 5)),
    ],
)
def test_pad_layers_match_torch(name, args, shape):
    ours, theirs = getattr(gc.nn, name)(*args), getattr(torch.nn, name)(*args)
    _check(ours, theirs, [randn(*shape)])
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("shape,r", [((2, 8, 3, 3), 2), ((18, 2, 4), 3), ((2, 1, 4, 3, 3), 2)])
def test_pixel_shuffle_and_unshuffle_match_torch(shape, r):
    x = randn(*shape)
    _check(lambda t: F.pixel_shuffle(t, r), lambda t: TF.pixel_shuffle(t, r), [x])
    y = TF.pixel_shuffle(torch.tensor(x), r).numpy()
    _check(gc.nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), [y])
    assert repr(gc.nn.PixelShuffle(r)) == repr(torch.nn.PixelShuffle(r))
    with pytest.raises(ValueError, match="divisible"):
        F.pixel_shuffle(gc.zeros(1, 3, 2, 2), 2)


UNFOLD = [
    dict(kernel_size=2),
    dict(kernel_size=(2, 3), stride=2, padding=1),
    dict(kernel_size=3, dilation=2, padding=(2, 1), stride=(1, 2)),
]


@pytest.mark.parametrize("kwargs", UNFOLD, ids=[str(i) for i in range(len(UNFOLD))])
def test_unfold_and_fold_match_torch(kwargs):
    x = randn(2, 3, 7, 6)
    _check(lambda t: F.unfold(t, **kwargs), lambda t: TF.unfold(t, **kwargs), [x])
    cols = TF.unfold(torch.tensor(x), **kwargs).numpy()
    _check(gc.nn.Fold((7, 6), **kwargs), torch.nn.Fold((7, 6), **kwargs), [cols])
    _check(gc.nn.Unfold(**kwargs), torch.nn.Unfold(**kwargs), [x[0]])  # unbatched
    assert repr(gc.nn.Unfold(**kwargs)) == repr(torch.nn.Unfold(**kwargs))
    with pytest.raises(ValueError, match="sliding blocks"):
        F.fold(gc.zeros(1, cols.shape[1], cols.shape[2] + 1), (7, 6), **kwargs)


def test_bilinear_matches_torch():
    ours = gc.nn.Bilinear(3, 4, 5, dtype=gc.float64)
    theirs = torch.nn.Bilinear(3, 4, 5, dtype=torch.float64)
    _copy(ours, theirs)
    _check(ours, theirs, [randn(6, 3), randn(6, 4)])
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-9, atol=1e-10)
    _check(ours, theirs, [randn(2, 3, 3), randn(2, 3, 4)])
    assert repr(ours) == repr(theirs)
    w = gc.nn.Bilinear(16, 2, 4).weight.numpy()
    assert np.abs(w).max() <= 0.25


# ---------------------------------------------------------------- distances


@pytest.mark.parametrize("dim,eps", [(1, 1e-8), (0, 1e-8), (-1, 0.5)])
def test_cosine_similarity_matches_torch(dim, eps):
    a, b = randn(4, 5), randn(4, 5)
    a[0] = 1e-9  # below eps: clamped norm, torch's gradient
    _check(
        lambda x, y: F.cosine_similarity(x, y, dim, eps),
        lambda x, y: TF.cosine_similarity(x, y, dim, eps),
        [a, b],
    )
    _check(gc.nn.CosineSimilarity(dim, eps), torch.nn.CosineSimilarity(dim, eps), [a, randn(1, 5)])


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
def test_pairwise_distance_matches_torch(p):
    a, b = randn(4, 5), randn(4, 5)
    _check(lambda x, y: F.pairwise_distance(x, y, p), lambda x, y: TF.pairwise_distance(x, y, p), [a, b])
    _check(gc.nn.PairwiseDistance(p, keepdim=True), torch.nn.PairwiseDistance(p, keepdim=True), [a, b])
    _check(
        lambda x, y: F.pairwise_distance(x, y, p),
        lambda x, y: TF.pairwise_distance(x, y, p),
        [randn(5), randn(5)],
    )


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize_matches_torch(p, dim):
    x = randn(3, 4)
    x[1] = 0.0
    _check(lambda t: F.normalize(t, p, dim), lambda t: TF.normalize(t, p, dim), [x])


# ---------------------------------------------------------------- losses

LOSSES = [
    (
        "kl_div",
        lambda: [np.log(RNG.dirichlet(np.ones(5), 4)), RNG.dirichlet(np.ones(5), 4)],
        [{"reduction": "batchmean"}, {"reduction": "sum"}, {"reduction": "none"}],
    ),
    ("kl_div", lambda: [randn(3, 4), randn(3, 4)], [{"reduction": "batchmean", "log_target": True}]),
    (
        "cosine_embedding_loss",
        lambda: [randn(5, 4), randn(5, 4), np.array([1, -1, 1, -1, -1])],
        [{}, {"margin": 0.2, "reduction": "sum"}, {"reduction": "none"}],
    ),
    (
        "margin_ranking_loss",
        lambda: [randn(6), randn(6), np.sign(randn(6))],
        [{}, {"margin": 0.5, "reduction": "none"}],
    ),
    (
        "hinge_embedding_loss",
        lambda: [randn(3, 4), np.sign(randn(3, 4))],
        [{}, {"margin": 0.5, "reduction": "sum"}],
    ),
    (
        "triplet_margin_loss",
        lambda: [randn(5, 4), randn(5, 4), randn(5, 4)],
        [{}, {"margin": 2.0, "p": 1, "swap": True}, {"reduction": "none", "p": 3}],
    ),
    (
        "gaussian_nll_loss",
        lambda: [randn(4, 3), randn(4, 3), np.abs(randn(4, 3)) + 0.1],
        [{}, {"full": True, "reduction": "sum"}, {"eps": 0.5, "reduction": "none"}],
    ),
    ("gaussian_nll_loss", lambda: [randn(4, 3), randn(4, 3), np.abs(randn(4, 1)) + 0.1], [{}]),
    ("gaussian_nll_loss", lambda: [randn(4, 3), randn(4, 3), np.abs(randn(4)) + 0.1], [{}]),
    (
        "poisson_nll_loss",
        lambda: [randn(4, 3), np.abs(randn(4, 3)) * 3],
        [{}, {"full": True}, {"reduction": "none"}],
    ),
    (
        "poisson_nll_loss",
        lambda: [np.abs(randn(4, 3)) + 0.1, np.abs(randn(4, 3)) * 3],
        [{"log_input": False}, {"log_input": False, "full": True, "reduction": "sum"}],
    ),
    ("soft_margin_loss", lambda: [randn(4, 3) * 30, np.sign(randn(4, 3))], [{}, {"reduction": "none"}]),
    (
        "multilabel_soft_margin_loss",
        lambda: [randn(4, 3) * 3, (randn(4, 3) > 0).astype(np.float64)],
        [{}, {"reduction": "none"}, {"weight": "w3"}],
    ),
    (
        "multi_margin_loss",
        lambda: [randn(5, 4), RNG.integers(0, 4, 5)],
        [{}, {"p": 2, "margin": 0.5}, {"weight": "w4", "reduction": "sum"}, {"reduction": "none"}],
    ),
    ("multi_margin_loss", lambda: [randn(4), np.array(2)], [{}]),
]
# Positions of the arguments that are targets (no gradient asked); the rest are differentiated.
_TARGETS = {
    "cosine_embedding_loss": (2,),
    "margin_ranking_loss": (2,),
    "triplet_margin_loss": (),
    "gaussian_nll_loss": (1,),
}
_MODULE_TARGETS = {"CosineEmbeddingLoss": (2,), "MarginRankingLoss": (2,), "TripletMarginLoss": ()}
LOSS_CASES = [(name, make, kw) for name, make, kws in LOSSES for kw in kws]


@pytest.mark.parametrize(
    "name,make,kwargs", LOSS_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(LOSS_CASES)]
)
def test_functional_loss_matches_torch(name, make, kwargs):
    arrays = make()
    weight = kwargs.get("weight")
    if isinstance(weight, str):
        w = np.abs(randn(int(weight[1:]))) + 0.5
        ours_kw = {**kwargs, "weight": gc.tensor(w)}
        theirs_kw = {**kwargs, "weight": torch.tensor(w)}
    else:
        ours_kw = theirs_kw = kwargs
    _check(
        lambda *t: getattr(F, name)(*t, **ours_kw),
        lambda *t: getattr(TF, name)(*t, **theirs_kw),
        arrays,
        rtol=1e-8,
        atol=1e-9,
        nograd=_TARGETS.get(name, (1,)),
    )


MODULE_LOSSES = [
    (
        "KLDivLoss",
        {"reduction": "batchmean"},
        lambda: [np.log(RNG.dirichlet(np.ones(3), 2)), RNG.dirichlet(np.ones(3), 2)],
    ),
    ("CosineEmbeddingLoss", {"margin": 0.1}, lambda: [randn(3, 4), randn(3, 4), np.array([1, -1, 1])]),
    ("MarginRankingLoss", {"margin": 0.3}, lambda: [randn(4), randn(4), np.sign(randn(4))]),
    ("HingeEmbeddingLoss", {"margin": 2.0}, lambda: [randn(4), np.sign(randn(4))]),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0}, lambda: [randn(3, 4), randn(3, 4), randn(3, 4)]),
    ("GaussianNLLLoss", {"full": True}, lambda: [randn(3, 2), randn(3, 2), np.abs(randn(3, 2)) + 0.2]),
    ("PoissonNLLLoss", {"log_input": False, "eps": 1e-6}, lambda: [np.abs(randn(3)) + 0.1, np.abs(randn(3))]),
    ("SoftMarginLoss", {"reduction": "sum"}, lambda: [randn(5), np.sign(randn(5))]),
    ("MultiLabelSoftMarginLoss", {}, lambda: [randn(3, 4), (randn(3, 4) > 0).astype(np.float64)]),
    ("MultiMarginLoss", {"p": 2}, lambda: [randn(3, 4), RNG.integers(0, 4, 3)]),
]


@pytest.mark.parametrize("name,kwargs,make", MODULE_LOSSES, ids=[m[0] for m in MODULE_LOSSES])
def test_loss_module_matches_torch_and_repr(name, kwargs, make):
    ours, theirs = getattr(gc.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    _check(ours, theirs, make(), rtol=1e-8, atol=1e-9, nograd=_MODULE_TARGETS.get(name, (1,)))
    assert repr(ours) == repr(theirs)


def test_loss_errors_and_legacy_flags():
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(gc.zeros(2), gc.zeros(2), gc.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(gc.zeros(2, 3), gc.zeros(2, 3), gc.ones(3, 3))
    with pytest.raises(ValueError, match="p == 1"):
        gc.nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="reduction"):
        gc.nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match="margin"):
        gc.nn.TripletMarginLoss(margin=0.0)
    with pytest.warns(UserWarning, match="deprecated"):
        loss = gc.nn.SoftMarginLoss(size_average=False)
    assert loss.reduction == "sum"
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(gc.zeros(2, 2), gc.ones(2, 2) / 2)


# ---------------------------------------------------------------- utils


def test_parameters_to_vector_and_back_match_torch():
    ours = gc.nn.Sequential(gc.nn.Linear(3, 4), gc.nn.Conv1d(2, 2, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Conv1d(2, 2, 3))
    _copy(ours, theirs)
    v = gc.nn.utils.parameters_to_vector(ours.parameters())
    tv = torch.nn.utils.parameters_to_vector(theirs.parameters())
    assert_close(v.detach().numpy(), tv.detach().numpy())
    (v * v).sum().backward()
    assert_close(ours[0].weight.grad.numpy(), 2 * ours[0].weight.detach().numpy())
    new = randn(v.shape[0])
    gc.nn.utils.vector_to_parameters(gc.tensor(new, dtype=gc.float32), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new, dtype=torch.float32), theirs.parameters())
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert_close(a.detach().numpy(), b.detach().numpy())
    with pytest.raises(ValueError, match="elements"):
        gc.nn.utils.vector_to_parameters(gc.zeros(3), ours.parameters())
    with pytest.raises(TypeError):
        gc.nn.utils.vector_to_parameters([0.0], ours.parameters())


# ---------------------------------------------------------------- docstring examples

DOC_MODULES = [
    "gradcore.optim_extra",
    "gradcore.optim_lbfgs",
    "gradcore.lr_scheduler",
    "gradcore.nn.activation",
    "gradcore.nn.activation_functions",
    "gradcore.nn.conv1d",
    "gradcore.nn.distance",
    "gradcore.nn.embedding_bag",
    "gradcore.nn.dropout",
    "gradcore.nn.layers_extra",
    "gradcore.nn.layers_more",
    "gradcore.nn.loss_functions_extra",
    "gradcore.nn.losses_extra",
    "gradcore.nn.normalization_extra",
    "gradcore.nn.sampling",
    "gradcore.nn.rnn_utils",
    "gradcore.nn.interpolate_linear",
    "gradcore.nn.three_d",
    "gradcore.nn.ctc",
    "gradcore.nn.utils",
]


@pytest.mark.parametrize("name", DOC_MODULES)
def test_docstring_examples_of_the_additions(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and (result.attempted > 0 or name == "gradcore.nn.activation")


def test_channel_dropout_and_norms_on_the_device(device):
    gc.manual_seed(5)
    y = F.dropout2d(gc.ones(4, 8, 2, 2, device=device), 0.5).cpu().numpy()
    assert (y.reshape(4, 8, -1) == y.reshape(4, 8, -1)[..., :1]).all()
    x = gc.tensor(randn(2, 4, 3, 3).astype(np.float32))
    for fn in (
        lambda t: F.group_norm(t, 2),
        F.instance_norm,
        lambda t: F.rms_norm(t, (3, 3)),
        lambda t: F.unfold(t, 2, padding=1),
        lambda t: F.adaptive_max_pool2d(t, 2),
        lambda t: F.pixel_unshuffle(t[..., :2, :2], 2),
        lambda t: F.normalize(t),
    ):
        assert_close(fn(x.to(device)).cpu().numpy(), fn(x).numpy(), rtol=1e-5, atol=1e-6)


def test_softplus_family_keeps_relative_precision_in_the_tails():
    """softplus(-30) is about 1e-13: log(1 + exp(x)) gives 0 in float32; torch's log1p keeps it."""
    x = np.array([-30.0, -20.0, -17.0, -5.0, 0.5, 3.0], dtype=np.float32)
    for ours, theirs, arg in [
        (F.softplus, TF.softplus, x),
        (F.logsigmoid, TF.logsigmoid, -x),
        (F.soft_margin_loss, None, None),
    ]:
        if theirs is None:
            got = ours(gc.tensor(x), gc.ones(6), reduction="none").numpy()
            want = TF.soft_margin_loss(torch.tensor(x), torch.ones(6), reduction="none").numpy()
        else:
            got, want = ours(gc.tensor(arg)).numpy(), theirs(torch.tensor(arg)).numpy()
        assert_close(got, want, rtol=2e-7, atol=0.0)


# ---------------------------------------------------------------- double backward

DOUBLE = [
    (lambda m, x: m.softplus(x, beta=2.0), (3, 4)),
    (lambda m, x: m.mish(x), (3, 4)),
    (lambda m, x: m.selu(x), (3, 4)),
    (lambda m, x: m.logsigmoid(x), (3, 4)),
    (lambda m, x: m.glu(x, 1), (3, 4)),
    (lambda m, x: m.group_norm(x, 2), (2, 4, 3)),
    (lambda m, x: m.instance_norm(x), (2, 3, 5)),
    (lambda m, x: m.cosine_similarity(x, x.flip(0)), (3, 4)),
    (lambda m, x: m.normalize(x), (3, 4)),
    (lambda m, x: m.pairwise_distance(x, x * 0.5), (3, 4)),
    (lambda m, x: m.kl_div(x, x * x, reduction="sum", log_target=True), (2, 4)),
    (lambda m, x: m.multilabel_soft_margin_loss(x, (x.detach() > 0).double()), (3, 4)),
    (lambda m, x: m.triplet_margin_loss(x, x.flip(0), x * 2.0, margin=5.0), (3, 4)),
    (lambda m, x: m.gaussian_nll_loss(x, x * 0.0 + 0.3, x * x + 0.5), (3, 2)),
    (lambda m, x: m.conv1d(x, x.reshape(-1)[:6].reshape(2, 1, 3), groups=1), (2, 1, 5)),
]


@pytest.mark.parametrize("fn,shape", DOUBLE, ids=[str(i) for i in range(len(DOUBLE))])
def test_second_derivatives_match_torch(fn, shape):
    """grad of (sum of squared first gradients), taken through create_graph, as torch computes it."""
    x = randn(*shape)
    a, b = gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    up = randn(*tuple(fn(TF, torch.tensor(x)).shape))
    (ga,) = gc.autograd.grad((fn(F, a) * gc.tensor(up)).sum(), [a], create_graph=True)
    (gb,) = torch.autograd.grad((fn(TF, b) * torch.tensor(up)).sum(), [b], create_graph=True)
    assert_close(ga.detach().numpy(), gb.detach().numpy(), rtol=1e-8, atol=1e-9)
    (ga * ga).sum().backward()
    (gb * gb).sum().backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-8)


# ---------------------------------------------------------------- the second batch (layers_more)


@pytest.mark.parametrize(
    "ours,theirs,shape",
    [
        (lambda t: F.lp_pool1d(t, 2, 3, 2), lambda t: TF.lp_pool1d(t, 2, 3, 2), (2, 3, 9)),
        (lambda t: F.lp_pool2d(t, 3, (2, 3)), lambda t: TF.lp_pool2d(t, 3, (2, 3)), (2, 2, 6, 7)),
        (
            lambda t: F.lp_pool2d(t, 1.5, 2, ceil_mode=True),
            lambda t: TF.lp_pool2d(t, 1.5, 2, ceil_mode=True),
            (1, 2, 5, 5),
        ),
        (lambda t: F.channel_shuffle(t, 3), lambda t: TF.channel_shuffle(t, 3), (2, 6, 2, 2)),
        (lambda t: F.local_response_norm(t, 3), lambda t: TF.local_response_norm(t, 3), (2, 5, 3, 3)),
        (
            lambda t: F.local_response_norm(t, 2, 1e-2, 0.5, 2.0),
            lambda t: TF.local_response_norm(t, 2, 1e-2, 0.5, 2.0),
            (2, 4, 6),
        ),
        (lambda t: F.pdist(t), lambda t: TF.pdist(t), (5, 3)),
        (lambda t: F.pdist(t, 1.0), lambda t: TF.pdist(t, 1.0), (4, 3)),
        (lambda t: F.pdist(t, 3.0), lambda t: TF.pdist(t, 3.0), (4, 3)),
        (lambda t: F.rrelu(t), lambda t: TF.rrelu(t), (3, 4)),
    ],
    ids=[
        "lp1d",
        "lp2d",
        "lp2d-ceil",
        "shuffle",
        "lrn4d",
        "lrn3d",
        "pdist2",
        "pdist1",
        "pdist3",
        "rrelu-eval",
    ],
)
def test_more_functions_match_torch(ours, theirs, shape, request):
    x = randn(*shape)
    if request.node.callspec.id.startswith("lp"):  # fractional powers of negatives are NaN
        x = np.abs(x) + 0.1
    _check(ours, theirs, [x], rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("k,shape", [(2, (2, 3, 6, 4)), (3, (1, 2, 7, 5))])
def test_max_unpool2d_inverts_max_pool2d_like_torch(k, shape):
    x = randn(*shape)
    y, idx = TF.max_pool2d(torch.tensor(x), k, return_indices=True)
    ours_y, ours_i = F.max_pool2d_with_indices(gc.tensor(x), k)
    assert (ours_i.numpy() == idx.numpy()).all()
    _check(
        lambda t: F.max_unpool2d(t, ours_i, k, output_size=shape[-2:]),
        lambda t: TF.max_unpool2d(t, idx, k, output_size=shape[-2:]),
        [y.numpy()],
    )
    assert repr(gc.nn.MaxUnpool2d(k)) == repr(torch.nn.MaxUnpool2d(k))
    if shape[-1] % k == 0 and shape[-2] % k == 0:  # the default output size holds every index
        out = gc.nn.MaxUnpool2d(k)(gc.tensor(y.numpy()), ours_i)
        assert out.shape == tuple(TF.max_unpool2d(y, idx, k).shape)
    else:
        with pytest.raises(IndexError, match="out of range"):
            gc.nn.MaxUnpool2d(k)(gc.tensor(y.numpy()), ours_i)


def test_max_unpool1d_and_adaptive_with_indices_match_torch():
    x = randn(2, 3, 8)
    y, idx = TF.max_pool1d(torch.tensor(x), 2, return_indices=True)
    _, ours_i = F.max_pool1d_with_indices(gc.tensor(x), 2)
    _check(lambda t: gc.nn.MaxUnpool1d(2)(t, ours_i), lambda t: torch.nn.MaxUnpool1d(2)(t, idx), [y.numpy()])
    v, i = F.adaptive_max_pool2d_with_indices(gc.tensor(randn(1, 2, 5, 5)), 2)
    assert v.shape == i.shape == (1, 2, 2, 2)
    with pytest.raises(ValueError, match="output_size"):
        F.max_unpool1d(gc.tensor(y.numpy()), ours_i, 2, output_size=[20])


@pytest.mark.parametrize(
    "name,args,shape",
    [
        ("ZeroPad3d", (1,), (2, 2, 3, 3, 3)),
        ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 2.5), (2, 3, 3, 3)),
        ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)),
        ("ReplicationPad3d", ((0, 1, 1, 0, 2, 1),), (2, 2, 3, 3)),
        ("CircularPad3d", (1,), (1, 2, 3, 3, 3)),
    ],
)
def test_3d_pads_match_torch(name, args, shape):
    ours, theirs = getattr(gc.nn, name)(*args), getattr(torch.nn, name)(*args)
    _check(ours, theirs, [randn(*shape)])
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(
    "name,args",
    [
        ("LPPool1d", (2, 3)),
        ("LPPool2d", (2, (2, 3), 1)),
        ("ChannelShuffle", (2,)),
        ("LocalResponseNorm", (3,)),
        ("RReLU", (0.1, 0.3)),
        ("MaxUnpool1d", (2,)),
    ],
)
def test_more_module_reprs_match_torch(name, args):
    assert repr(getattr(gc.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_rrelu_training_slopes_lie_in_range_and_gumbel_softmax_is_a_distribution():
    gc.manual_seed(7)
    x = -gc.ones(10_000)
    y = F.rrelu(x, 0.1, 0.3, training=True).numpy()
    assert (y <= -0.1).all() and (y >= -0.3).all() and abs(y.mean() + 0.2) < 0.01
    layer = gc.nn.RReLU(0.1, 0.3)
    layer.eval()
    assert_close(layer(x).numpy(), np.full(10_000, -0.2), rtol=1e-6)
    logits = gc.tensor(randn(6, 4), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    assert_close(soft.sum(dim=-1).detach().numpy(), np.ones(6), rtol=1e-6)
    hard = F.gumbel_softmax(logits, hard=True, dim=1)
    assert set(np.unique(hard.detach().numpy())) <= {0.0, 1.0}
    (hard * gc.tensor(randn(6, 4))).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0
    counts = np.zeros(3)
    for _ in range(300):  # the samples follow softmax(logits)
        counts[int(F.gumbel_softmax(gc.tensor([0.0, 1.0, 2.0]), hard=True).argmax().item())] += 1
    probs = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    assert np.abs(counts / 300 - probs).max() < 0.1


MORE_LOSSES = [
    (lambda m, a, p, n: m.triplet_margin_with_distance_loss(a, p, n),),
    (
        lambda m, a, p, n: m.triplet_margin_with_distance_loss(
            a,
            p,
            n,
            distance_function=lambda x, y: 1.0 - m.cosine_similarity(x, y),
            margin=0.5,
            swap=True,
            reduction="sum",
        ),
    ),
]


@pytest.mark.parametrize("fn", [c[0] for c in MORE_LOSSES], ids=["default", "cosine-swap"])
def test_triplet_margin_with_distance_loss_matches_torch(fn):
    _check(
        lambda *t: fn(F, *t),
        lambda *t: fn(TF, *t),
        [randn(5, 4), randn(5, 4), randn(5, 4)],
        rtol=1e-8,
        atol=1e-9,
    )
    ours = gc.nn.TripletMarginWithDistanceLoss(margin=2.0)
    theirs = torch.nn.TripletMarginWithDistanceLoss(margin=2.0)
    _check(ours, theirs, [randn(3, 4), randn(3, 4), randn(3, 4)], rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multilabel_margin_loss_matches_torch(reduction):
    x = randn(4, 5)
    t = np.array([[3, 0, -1, 1, 2], [0, 1, 2, 3, 4], [-1, 2, 2, 2, 2], [4, 4, -1, 0, 0]])
    _check(
        lambda a, b: F.multilabel_margin_loss(a, b, reduction=reduction),
        lambda a, b: TF.multilabel_margin_loss(a, b, reduction=reduction),
        [x, t],
        rtol=1e-8,
        atol=1e-9,
    )
    _check(
        gc.nn.MultiLabelMarginLoss(),
        torch.nn.MultiLabelMarginLoss(),
        [randn(5), np.array([1, 3, -1, 0, 0])],
        rtol=1e-8,
        atol=1e-9,
    )
    with pytest.raises(IndexError):
        F.multilabel_margin_loss(gc.zeros(2, 3), gc.tensor([[5, -1, 0], [0, 1, -1]]))


# ---------------------------------------------------------------- EmbeddingBag

BAGS = [
    dict(mode="mean", offsets=[0, 3, 3, 5]),  # an empty bag
    dict(mode="sum", offsets=[0, 2, 6], psw=True),
    dict(mode="max", offsets=[0, 1, 4, 4]),
    dict(mode="mean", offsets=[0, 2, 5, 7], include_last_offset=True),
    dict(mode="sum", padding_idx=1, offsets=[0, 3]),
    dict(mode="max", padding_idx=2, offsets=[0, 4]),
    dict(mode="mean", two_d=True, padding_idx=0),
    dict(mode="max", two_d=True),
]


@pytest.mark.parametrize("case", BAGS, ids=[str(i) for i in range(len(BAGS))])
def test_embedding_bag_matches_torch(case):
    case = dict(case)
    kw = {k: case.pop(k) for k in ("mode", "padding_idx", "include_last_offset") if k in case}
    ours = gc.nn.EmbeddingBag(6, 3, dtype=gc.float64, **kw)
    theirs = torch.nn.EmbeddingBag(6, 3, dtype=torch.float64, **kw)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
    assert repr(ours) == repr(theirs)
    if case.get("two_d"):
        idx = np.array([[0, 1, 2], [3, 0, 5], [2, 2, 4]])
        args_o, args_t = [gc.tensor(idx)], [torch.tensor(idx)]
    else:
        idx = np.array([0, 1, 2, 3, 1, 2, 5])
        off = np.array(case["offsets"])
        args_o, args_t = [gc.tensor(idx), gc.tensor(off)], [torch.tensor(idx), torch.tensor(off)]
    kw_o, kw_t = {}, {}
    if case.get("psw"):
        w = randn(len(idx))
        kw_o["per_sample_weights"], kw_t["per_sample_weights"] = gc.tensor(w), torch.tensor(w)
    a, b = ours(*args_o, **kw_o), theirs(*args_t, **kw_t)
    assert_close(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = randn(*b.shape)
    (a * gc.tensor(up)).sum().backward()
    (b * torch.tensor(up)).sum().backward()
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_embedding_bag_errors():
    w = gc.zeros(4, 2)
    with pytest.raises(ValueError, match="offsets"):
        F.embedding_bag(gc.tensor([0, 1]), w)
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(gc.tensor([[0, 1]]), w, gc.tensor([0]))
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(gc.tensor([[0, 1]]), w, mode="mean", per_sample_weights=gc.ones(1, 2))
    with pytest.raises(ValueError, match="mode"):
        F.embedding_bag(gc.tensor([[0, 1]]), w, mode="median")


# ---------------------------------------------------------------- affine_grid / grid_sample


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize(
    "mode,padding", [("bilinear", "zeros"), ("bilinear", "border"), ("nearest", "zeros")]
)
def test_affine_grid_and_grid_sample_match_torch(align, mode, padding):
    # generic values: a sample landing exactly on a pixel boundary has a one-sided gradient, and the last
    # bit of the grid (matmul order) decides which side
    theta = np.array(
        [[[0.91, -0.31, 0.113], [0.217, 1.13, -0.19]], [[1.31, 0.107, 0.41], [-0.23, 0.83, 0.29]]]
    )
    x = randn(2, 3, 5, 6)
    size = (2, 3, 4, 7)

    def ours(t, th):
        return F.grid_sample(
            t, F.affine_grid(th, size, align_corners=align), mode, padding, align_corners=align
        )

    def theirs(t, th):
        return TF.grid_sample(
            t, TF.affine_grid(th, size, align_corners=align), mode, padding, align_corners=align
        )

    # nearest: no gradient to theta in torch either (the grid only picks places)
    _check(ours, theirs, [x, theta], rtol=1e-8, atol=1e-9, nograd=(1,) if mode == "nearest" else ())


def test_grid_sample_out_of_range_and_errors():
    x = randn(1, 2, 3, 3)
    grid = np.array([[[[1.5, 0.0], [-1.2, -1.3], [0.0, 0.0]]]])  # partly outside
    _check(
        lambda t, g: F.grid_sample(t, g, align_corners=False),
        lambda t, g: TF.grid_sample(t, g, align_corners=False),
        [x, grid],
        rtol=1e-8,
        atol=1e-9,
    )
    with pytest.raises(ValueError, match="padding_mode"):  # reflection: tests/test_grid_sample_modes.py
        F.grid_sample(gc.tensor(x), gc.tensor(grid), padding_mode="circular")
    with pytest.raises(ValueError, match="Nx2x3"):
        F.affine_grid(gc.zeros(1, 3, 3), (1, 1, 2, 2))


# ---------------------------------------------------------------- random geometries


@settings(max_examples=25, deadline=None)
@given(
    groups=st.sampled_from([1, 2]),
    k=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    length=st.integers(6, 12),
    transposed=st.booleans(),
)
def test_conv1d_random_geometry_matches_torch(groups, k, stride, padding, dilation, length, transposed):
    c_in, c_out = 2 * groups, 2 * groups
    x = randn(2, c_in, length)
    if transposed:
        out_pad = 0 if max(stride, dilation) == 1 else 1
        w = randn(c_in, c_out // groups, k)
        _check(
            lambda a, b: F.conv_transpose1d(a, b, None, stride, padding, out_pad, groups, dilation),
            lambda a, b: TF.conv_transpose1d(a, b, None, stride, padding, out_pad, groups, dilation),
            [x, w],
            rtol=1e-8,
            atol=1e-9,
        )
    else:
        if dilation * (k - 1) + 1 > length + 2 * padding:
            return
        w = randn(c_out, c_in // groups, k)
        _check(
            lambda a, b: F.conv1d(a, b, None, stride, padding, dilation, groups),
            lambda a, b: TF.conv1d(a, b, None, stride, padding, dilation, groups),
            [x, w],
            rtol=1e-8,
            atol=1e-9,
        )


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    groups=st.sampled_from([1, 2, 4]),
    spatial=st.lists(st.integers(1, 4), max_size=2),
    eps=st.sampled_from([1e-5, 1e-3]),
)
def test_group_norm_random_shapes_match_torch(n, groups, spatial, eps):
    shape = (n, 4, *spatial)
    if int(np.prod(shape[2:], dtype=np.int64)) * 4 // groups < 2:
        return
    _check(
        lambda t: F.group_norm(t, groups, eps=eps),
        lambda t: TF.group_norm(t, groups, eps=eps),
        [randn(*shape)],
        rtol=1e-7,
        atol=1e-8,
    )


def test_total_norm_clip_with_norm_and_pad_sequence_match_torch():
    grads = [randn(3, 4), randn(5)]
    for p in (2.0, 1.0, math.inf):
        ours = gc.nn.utils.get_total_norm([gc.tensor(g) for g in grads], p)
        theirs = torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], p)
        assert_close(ours.numpy(), theirs.numpy(), rtol=1e-12)
    ps = [gc.tensor(g, requires_grad=True) for g in grads]
    qs = [torch.tensor(g, requires_grad=True) for g in grads]
    for p, q, g in zip(ps, qs, grads):
        p.grad, q.grad = gc.tensor(g), torch.tensor(g)
    gc.nn.utils.clip_grads_with_norm_(ps, 1.0, gc.nn.utils.get_total_norm([p.grad for p in ps]))
    torch.nn.utils.clip_grads_with_norm_(qs, 1.0, torch.nn.utils.get_total_norm([q.grad for q in qs]))
    for p, q in zip(ps, qs):
        assert_close(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)
    from gradcore.nn.utils.rnn import pad_sequence

    seqs = [randn(2, 3), randn(4, 3), randn(1, 3)]
    for kw in ({}, {"batch_first": True, "padding_value": -1.0}, {"padding_side": "left"}):
        a = pad_sequence([gc.tensor(s) for s in seqs], **kw)
        b = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], **kw)
        assert_close(a.numpy(), b.numpy())


@pytest.mark.parametrize(
    "name,args",
    [
        ("ReLU6", ()),
        ("Hardtanh", (-0.5, 0.5)),
        ("Mish", ()),
        ("SELU", ()),
        ("CELU", (0.5,)),
        ("Hardswish", ()),
        ("Hardsigmoid", ()),
        ("Threshold", (0.1, -1.0)),
    ],
)
def test_inplace_activations_write_into_their_input_like_torch(name, args):
    x = randn(3, 4) * 3
    a, b = gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ha, hb = a * 1.0, b * 1.0  # non-leaf, as in a network
    ya = getattr(gc.nn, name)(*args, inplace=True)(ha)
    yb = getattr(torch.nn, name)(*args, inplace=True)(hb)
    assert ya is ha
    assert_close(ha.detach().numpy(), hb.detach().numpy(), rtol=1e-7, atol=1e-9)
    up = randn(3, 4)
    (ya * gc.tensor(up)).sum().backward()
    (yb * torch.tensor(up)).sum().backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-9)
    assert repr(getattr(gc.nn, name)(*args, inplace=True)) == repr(
        getattr(torch.nn, name)(*args, inplace=True)
    )


def test_inplace_channel_dropout_writes_into_its_input():
    gc.manual_seed(3)
    h = gc.ones(4, 6, 2, 2, requires_grad=True) * 1.0
    y = gc.nn.Dropout2d(0.5, inplace=True)(h)
    assert y is h and set(np.unique(h.detach().numpy())) <= {0.0, 2.0}
