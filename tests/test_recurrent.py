"""nn.RNN / LSTM / GRU and their cells against torch: same weights copied in, every layout (batch_first,
unbatched, bidirectional, stacked, given initial state); outputs, final states and all gradients."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close

RNG = np.random.default_rng(21)


def randn(*shape):
    return RNG.standard_normal(shape)


def _pair(name, kwargs):
    ours = getattr(gc.nn, name)(**kwargs, dtype=gc.float64)
    theirs = getattr(torch.nn, name)(**kwargs, dtype=torch.float64)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    with torch.no_grad():
        for (_, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
            b.copy_(torch.tensor(a.numpy()))
    assert repr(ours) == repr(theirs)
    return ours, theirs


def _flat(out):
    if isinstance(out, tuple):
        return [t for o in out for t in _flat(o)]
    return [out]


CASES = [
    ("RNN", dict(input_size=3, hidden_size=4), "seq", False),
    (
        "RNN",
        dict(input_size=3, hidden_size=4, nonlinearity="relu", num_layers=2, batch_first=True),
        "batch_first",
        True,
    ),
    ("LSTM", dict(input_size=3, hidden_size=4), "seq", True),
    ("LSTM", dict(input_size=3, hidden_size=5, num_layers=2, bidirectional=True), "seq", False),
    ("LSTM", dict(input_size=3, hidden_size=4, batch_first=True, bias=False), "batch_first", True),
    ("LSTM", dict(input_size=3, hidden_size=4, bidirectional=True), "unbatched", True),
    ("GRU", dict(input_size=3, hidden_size=4), "seq", False),
    (
        "GRU",
        dict(input_size=3, hidden_size=4, num_layers=3, bidirectional=True, batch_first=True),
        "batch_first",
        True,
    ),
    ("GRU", dict(input_size=3, hidden_size=4), "unbatched", False),
]


@pytest.mark.parametrize(
    "name,kwargs,layout,with_state", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_recurrent_layer_matches_torch(name, kwargs, layout, with_state):
    ours, theirs = _pair(name, kwargs)
    steps, n = 5, 2
    shape = {"seq": (steps, n, 3), "batch_first": (n, steps, 3), "unbatched": (steps, 3)}[layout]
    x = randn(*shape)
    dirs = 2 if kwargs.get("bidirectional") else 1
    state_shape = (
        (kwargs.get("num_layers", 1) * dirs,)
        + (() if layout == "unbatched" else (n,))
        + (kwargs["hidden_size"],)
    )
    a, b = gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    args_o, args_t = [a], [b]
    states = []
    if with_state:
        h0 = randn(*state_shape)
        if name == "LSTM":
            c0 = randn(*state_shape)
            so = (gc.tensor(h0, requires_grad=True), gc.tensor(c0, requires_grad=True))
            st = (torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True))
        else:
            so, st = gc.tensor(h0, requires_grad=True), torch.tensor(h0, requires_grad=True)
        args_o.append(so)
        args_t.append(st)
        states = list(zip(_flat(so), _flat(st)))
    outs_o, outs_t = _flat(ours(*args_o)), _flat(theirs(*args_t))
    loss_o, loss_t = 0, 0
    for oo, ot in zip(outs_o, outs_t):
        assert_close(oo.detach().numpy(), ot.detach().numpy(), rtol=1e-9, atol=1e-10)
        up = randn(*ot.shape)
        loss_o = loss_o + (oo * gc.tensor(up)).sum()
        loss_t = loss_t + (ot * torch.tensor(up)).sum()
    loss_o.backward()
    loss_t.backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-9)
    for so, st in states:
        assert_close(so.grad.numpy(), st.grad.numpy(), rtol=1e-8, atol=1e-9)
    for (pn, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-9, name=pn)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("RNNCell", {}),
        ("RNNCell", {"nonlinearity": "relu", "bias": False}),
        ("LSTMCell", {}),
        ("GRUCell", {}),
    ],
)
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(name, kwargs, batched):
    ours, theirs = _pair(name, dict(input_size=3, hidden_size=4, **kwargs))
    lead = (2,) if batched else ()
    x = randn(*lead, 3)
    h = randn(*lead, 4)
    a, b = gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if name == "LSTMCell":
        c = randn(*lead, 4)
        so, st = (gc.tensor(h), gc.tensor(c)), (torch.tensor(h), torch.tensor(c))
    else:
        so, st = gc.tensor(h), torch.tensor(h)
    for args_o, args_t in (((a,), (b,)), ((a, so), (b, st))):
        outs_o, outs_t = _flat(ours(*args_o)), _flat(theirs(*args_t))
        for oo, ot in zip(outs_o, outs_t):
            assert_close(oo.detach().numpy(), ot.detach().numpy(), rtol=1e-9, atol=1e-10)
    sum(o.sum() for o in outs_o).backward()
    sum(o.sum() for o in outs_t).backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-9)


def test_recurrent_errors_init_and_dropout_between_layers():
    with pytest.raises(ValueError, match="nonlinearity"):
        gc.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="input_size"):
        gc.nn.LSTM(3, 4)(gc.zeros(5, 2, 6))
    with pytest.raises(RuntimeError, match="hidden size"):
        gc.nn.GRU(3, 4)(gc.zeros(5, 2, 3), gc.zeros(2, 2, 4))
    lstm = gc.nn.LSTM(3, 16)
    bound = 1 / 4
    assert all(np.abs(p.numpy()).max() <= bound for p in lstm.parameters())
    gc.manual_seed(0)
    net = gc.nn.GRU(3, 8, num_layers=2, dropout=0.5)
    x = gc.randn(4, 2, 3)
    a, _ = net(x)
    b, _ = net(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())  # dropout between the layers
    net.eval()
    a, _ = net(x)
    b, _ = net(x)
    assert_close(a.numpy(), b.numpy())


def test_lstm_learns_a_sequence_task():
    """A one-layer LSTM learns to output the running sum sign of its inputs."""
    gc.manual_seed(1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 6, 1)).astype(np.float32)
    y = (np.cumsum(x, axis=1) > 0).astype(np.float32)
    lstm, head = gc.nn.LSTM(1, 12, batch_first=True), gc.nn.Linear(12, 1)
    opt = gc.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.03)
    xt, yt = gc.tensor(x), gc.tensor(y)
    first = None
    for _ in range(60):
        opt.zero_grad()
        out, _ = lstm(xt)
        loss = gc.nn.functional.binary_cross_entropy_with_logits(head(out), yt)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first


def test_docstring_examples_of_recurrent():
    import doctest

    import gradcore.nn.recurrent as mod

    assert doctest.testmod(mod).failed == 0


def test_lstm_and_gru_on_the_device(device):
    for cls in (gc.nn.LSTM, gc.nn.GRU):
        gc.manual_seed(4)
        net = cls(3, 5, num_layers=2, bidirectional=True, batch_first=True)
        x = gc.randn(2, 4, 3)
        ref_out, _ = net(x)
        net.to(device)
        out, _ = net(x.to(device))
        assert out.device == x.to(device).device
        assert_close(out.detach().cpu().numpy(), ref_out.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_state_dict_of_the_added_layers_round_trips_through_save(tmp_path):
    def build():
        return gc.nn.ModuleDict(
            {
                "lstm": gc.nn.LSTM(3, 4, num_layers=2, bidirectional=True),
                "attn": gc.nn.MultiheadAttention(8, 2, kdim=5, vdim=5),
                "norm": gc.nn.GroupNorm(2, 4),
                "act": gc.nn.PReLU(4),
                "conv": gc.nn.Conv1d(4, 4, 3),
                "inorm": gc.nn.InstanceNorm1d(4, affine=True, track_running_stats=True),
                "bag": gc.nn.EmbeddingBag(7, 3),
                "params": gc.nn.ParameterList([gc.nn.Parameter(gc.randn(2))]),
            }
        )

    gc.manual_seed(1)
    a = build()
    gc.manual_seed(2)
    b = build()
    path = tmp_path / "model.gc"
    gc.save(a.state_dict(), path)
    b.load_state_dict(gc.load(path))
    for (n1, p1), (n2, p2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert n1 == n2
        assert_close(np.asarray(p2), np.asarray(p1))
    x = gc.randn(5, 2, 3)
    assert_close(b["lstm"](x)[0].detach().numpy(), a["lstm"](x)[0].detach().numpy())


@pytest.mark.parametrize(
    "name,kwargs,enforce_sorted",
    [
        ("LSTM", dict(num_layers=2, bidirectional=True), False),
        ("GRU", dict(batch_first=True), True),
        ("RNN", dict(bidirectional=True, batch_first=True), False),
    ],
)
def test_packed_sequences_match_torch(name, kwargs, enforce_sorted):
    from gradcore.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    ours, theirs = _pair(name, dict(input_size=3, hidden_size=4, **kwargs))
    lengths = [5, 3, 2] if enforce_sorted else [2, 5, 3]
    bf = kwargs.get("batch_first", False)
    x = randn(*((3, 5, 3) if bf else (5, 3, 3)))
    a, b = gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pa = pack_padded_sequence(a, lengths, batch_first=bf, enforce_sorted=enforce_sorted)
    pb = torch.nn.utils.rnn.pack_padded_sequence(b, lengths, batch_first=bf, enforce_sorted=enforce_sorted)
    assert_close(pa.data.detach().numpy(), pb.data.detach().numpy())
    out_a, state_a = ours(pa)
    out_b, state_b = theirs(pb)
    assert out_a.batch_sizes.tolist() == out_b.batch_sizes.tolist()
    assert_close(out_a.data.detach().numpy(), out_b.data.detach().numpy(), rtol=1e-9, atol=1e-10)
    for sa, sb in zip(_flat(state_a), _flat(state_b)):
        assert_close(sa.detach().numpy(), sb.detach().numpy(), rtol=1e-9, atol=1e-10)
    padded_a, lens_a = pad_packed_sequence(out_a, batch_first=bf)
    padded_b, lens_b = torch.nn.utils.rnn.pad_packed_sequence(out_b, batch_first=bf)
    assert lens_a.tolist() == lens_b.tolist()
    up = randn(*padded_b.shape)
    loss_a = (padded_a * gc.tensor(up)).sum() + sum(s.sum() for s in _flat(state_a))
    loss_b = (padded_b * torch.tensor(up)).sum() + sum(s.sum() for s in _flat(state_b))
    loss_a.backward()
    loss_b.backward()
    assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-9)
    for (pn, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-9, name=pn)
