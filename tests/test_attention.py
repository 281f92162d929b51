"""F.scaled_dot_product_attention, nn.MultiheadAttention and nn.TransformerEncoder(Layer) against torch:
same weights copied in, masks of every kind, batch_first, unbatched input; outputs and gradients."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradcore as gc
import gradcore.nn.functional as F
from gradcore.testing import assert_close

RNG = np.random.default_rng(11)


def randn(*shape):
    return RNG.standard_normal(shape)


def _copy_into_torch(ours, theirs):
    mine = dict(ours.named_parameters())
    names = [n for n, _ in theirs.named_parameters()]
    assert sorted(mine) == sorted(names)
    with torch.no_grad():
        for n, p in theirs.named_parameters():
            p.copy_(torch.tensor(mine[n].numpy()))


def _grads_agree(ours, theirs, rtol=1e-8, atol=1e-9):
    mine = dict(ours.named_parameters())
    for n, p in theirs.named_parameters():
        if p.grad is not None:
            assert_close(mine[n].grad.numpy(), p.grad.numpy(), rtol=rtol, atol=atol, name=n)


@pytest.mark.parametrize(
    "kwargs,shapes",
    [
        ({}, ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4))),
        ({"is_causal": True}, ((2, 5, 4), (2, 5, 4), (2, 5, 3))),
        ({"scale": 0.3, "mask": "bool"}, ((2, 2, 4, 4), (2, 2, 6, 4), (2, 2, 6, 4))),
        ({"mask": "float"}, ((3, 4, 4), (3, 6, 4), (3, 6, 5))),
        ({"enable_gqa": True}, ((1, 4, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4))),
    ],
    ids=["plain", "causal", "bool-mask", "float-mask", "gqa"],
)
def test_scaled_dot_product_attention_matches_torch(kwargs, shapes):
    arrays = [randn(*s) for s in shapes]
    kind = kwargs.pop("mask", None)
    n_q, n_k = shapes[0][-2], shapes[1][-2]
    mask_np = None
    if kind == "bool":
        mask_np = RNG.random((n_q, n_k)) > 0.3
        mask_np[:, 0] = True  # no row fully masked
    elif kind == "float":
        mask_np = randn(n_q, n_k)
    ours = [gc.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    om = None if mask_np is None else gc.tensor(mask_np)
    tm = None if mask_np is None else torch.tensor(mask_np)
    a = F.scaled_dot_product_attention(*ours, attn_mask=om, **kwargs)
    b = TF.scaled_dot_product_attention(*theirs, attn_mask=tm, **kwargs)
    assert_close(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-10)
    up = randn(*b.shape)
    (a * gc.tensor(up)).sum().backward()
    (b * torch.tensor(up)).sum().backward()
    for x, y in zip(ours, theirs):
        assert_close(x.grad.numpy(), y.grad.numpy(), rtol=1e-8, atol=1e-9)


MHA = [
    (dict(embed_dim=8, num_heads=2), {}),
    (dict(embed_dim=8, num_heads=4, batch_first=True), {"average_attn_weights": False}),
    (dict(embed_dim=8, num_heads=2, kdim=5, vdim=3), {"key_padding_mask": True}),
    (
        dict(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True),
        {"key_padding_mask": True, "attn_mask": "bool"},
    ),
    (dict(embed_dim=6, num_heads=3, bias=False), {"attn_mask": "float", "need_weights": False}),
    (dict(embed_dim=8, num_heads=2), {"attn_mask": "causal", "is_causal": True}),
    (dict(embed_dim=8, num_heads=2), {"unbatched": True, "attn_mask": "bool"}),
]


@pytest.mark.parametrize("ctor,call", MHA, ids=[str(i) for i in range(len(MHA))])
def test_multihead_attention_matches_torch(ctor, call):
    call = dict(call)
    ours = gc.nn.MultiheadAttention(**ctor, dtype=gc.float64)
    theirs = torch.nn.MultiheadAttention(**ctor, dtype=torch.float64)
    _copy_into_torch(ours, theirs)
    e, n, lq, s = ctor["embed_dim"], 3, 4, 5
    kd, vd = ctor.get("kdim", e), ctor.get("vdim", e)
    unbatched = call.pop("unbatched", False)

    def shape(length, dim):
        if unbatched:
            return (length, dim)
        return (n, length, dim) if ctor.get("batch_first") else (length, n, dim)

    q, k, v = randn(*shape(lq, e)), randn(*shape(s, kd)), randn(*shape(s, vd))
    if call.get("attn_mask") == "causal":
        k, v = randn(*shape(lq, kd)), randn(*shape(lq, vd))
    kw_o, kw_t = {}, {}
    for key, val in call.items():
        if key == "key_padding_mask":
            m = RNG.random((n, s)) > 0.6
            m[:, 0] = False
            kw_o[key], kw_t[key] = gc.tensor(m), torch.tensor(m)
        elif key == "attn_mask" and val == "bool":
            m = RNG.random((lq, s)) > 0.6
            m[:, 1] = False
            kw_o[key], kw_t[key] = gc.tensor(m), torch.tensor(m)
        elif key == "attn_mask" and val == "float":
            m = randn(lq, s)
            kw_o[key], kw_t[key] = gc.tensor(m), torch.tensor(m)
        elif key == "attn_mask" and val == "causal":
            m = torch.nn.Transformer.generate_square_subsequent_mask(lq, dtype=torch.float64)
            kw_o[key], kw_t[key] = gc.tensor(m.numpy()), m
        else:
            kw_o[key] = kw_t[key] = val
    oq, ok, ov = (gc.tensor(a, requires_grad=True) for a in (q, k, v))
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out, w = ours(oq, ok, ov, **kw_o)
    ref, rw = theirs(tq, tk, tv, **kw_t)
    assert_close(out.detach().numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-10)
    if rw is None:
        assert w is None
    else:
        assert_close(w.detach().numpy(), rw.detach().numpy(), rtol=1e-9, atol=1e-10)
    up = randn(*ref.shape)
    (out * gc.tensor(up)).sum().backward()
    (ref * torch.tensor(up)).sum().backward()
    _grads_agree(ours, theirs)
    for x, y in zip((oq, ok, ov), (tq, tk, tv)):
        assert_close(x.grad.numpy(), y.grad.numpy(), rtol=1e-8, atol=1e-9)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }


def test_multihead_attention_errors_and_init():
    with pytest.raises(ValueError, match="divisible"):
        gc.nn.MultiheadAttention(10, 3)
    mha = gc.nn.MultiheadAttention(8, 2)
    x = gc.zeros(3, 2, 8)
    with pytest.raises(RuntimeError, match="is_causal"):
        mha(x, x, x, is_causal=True)
    assert (mha.in_proj_bias.numpy() == 0).all() and np.abs(mha.in_proj_weight.numpy()).max() <= (
        6 / 32
    ) ** 0.5
    mha.eval()
    out, _ = mha(x, x, x)
    assert out.shape == (3, 2, 8)


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(norm_first=True, activation="gelu"), dict(batch_first=True, bias=False)],
    ids=["post-norm", "pre-norm-gelu", "batch-first-nobias"],
)
def test_transformer_encoder_matches_torch_in_eval(kwargs):
    ours = gc.nn.TransformerEncoder(
        gc.nn.TransformerEncoderLayer(8, 2, 16, dtype=gc.float64, **kwargs),
        2,
        norm=gc.nn.LayerNorm(8, dtype=gc.float64),
    )
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, 16, dtype=torch.float64, **kwargs),
        2,
        norm=torch.nn.LayerNorm(8, dtype=torch.float64),
        enable_nested_tensor=False,
    )
    _copy_into_torch(ours, theirs)
    ours.eval()
    theirs.eval()
    x = randn(3, 4, 8)
    length = 4 if kwargs.get("batch_first") else 3
    mask = torch.triu(torch.ones(length, length, dtype=torch.bool), 1)  # True: not allowed (same type as pad)
    pad = np.zeros(
        (4 if not kwargs.get("batch_first") else 3, 3 if not kwargs.get("batch_first") else 4), bool
    )
    pad[:, -1] = True
    a = gc.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    out = ours(a, mask=gc.tensor(mask.numpy()), src_key_padding_mask=gc.tensor(pad))
    ref = theirs(b, mask=mask, src_key_padding_mask=torch.tensor(pad))
    assert_close(out.detach().numpy(), ref.detach().numpy(), rtol=1e-8, atol=1e-9)
    up = randn(*ref.shape)
    (out * gc.tensor(up)).sum().backward()
    (ref * torch.tensor(up)).sum().backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-8)
    _grads_agree(ours, theirs, rtol=1e-7, atol=1e-8)


def test_transformer_encoder_layer_trains_with_dropout():
    gc.manual_seed(3)
    layer = gc.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.2, batch_first=True)
    opt = gc.optim.Adam(layer.parameters(), lr=1e-2)
    x, target = gc.randn(4, 5, 8), gc.randn(4, 5, 8)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_docstring_examples_of_attention():
    import doctest

    import gradcore.nn.attention as mod

    assert doctest.testmod(mod).failed == 0


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")  # torch's own note about its fast path
@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(norm_first=True, batch_first=True, activation="gelu")],
    ids=["post-norm", "pre-norm"],
)
def test_transformer_matches_torch_in_eval(kwargs):
    ours = gc.nn.Transformer(8, 2, 2, 2, 16, dtype=gc.float64, **kwargs)
    theirs = torch.nn.Transformer(8, 2, 2, 2, 16, dtype=torch.float64, **kwargs)
    _copy_into_torch(ours, theirs)
    ours.eval()
    theirs.eval()
    bf = kwargs.get("batch_first", False)
    src, tgt = randn(*((2, 5, 8) if bf else (5, 2, 8))), randn(*((2, 4, 8) if bf else (4, 2, 8)))
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    assert_close(gc.nn.Transformer.generate_square_subsequent_mask(4).numpy(), tgt_mask.numpy())
    mem_pad = np.zeros((2, 5), bool)
    mem_pad[1, -2:] = True
    a, b = gc.tensor(src, requires_grad=True), torch.tensor(src, requires_grad=True)
    out = ours(
        a,
        gc.tensor(tgt),
        tgt_mask=gc.tensor(tgt_mask.numpy()),
        memory_key_padding_mask=gc.tensor(mem_pad).to(gc.float64) * -1e9,
    )
    ref = theirs(
        b, torch.tensor(tgt), tgt_mask=tgt_mask, memory_key_padding_mask=torch.tensor(mem_pad).double() * -1e9
    )
    assert_close(out.detach().numpy(), ref.detach().numpy(), rtol=1e-8, atol=1e-9)
    up = randn(*ref.shape)
    (out * gc.tensor(up)).sum().backward()
    (ref * torch.tensor(up)).sum().backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-8)
    _grads_agree(ours, theirs, rtol=1e-7, atol=1e-8)


def test_attention_on_the_device(device):
    gc.manual_seed(6)
    layer = gc.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    x = gc.randn(2, 5, 8)
    mask = gc.nn.Transformer.generate_square_subsequent_mask(5)
    ref = layer(x, src_mask=mask)
    layer.to(device)
    out = layer(x.to(device), src_mask=mask.to(device))
    assert_close(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    q = gc.randn(2, 2, 4, 8)
    assert_close(
        F.scaled_dot_product_attention(q.to(device), q.to(device), q.to(device), is_causal=True)
        .cpu()
        .numpy(),
        F.scaled_dot_product_attention(q, q, q, is_causal=True).numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
