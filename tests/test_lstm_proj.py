"""nn.LSTM with proj_size against torch: parameter names and shapes (weight_hr_l{k}), state_dict keys,
outputs, final states and every gradient (stacked, bidirectional, batch_first), gradcheck, bad sizes."""

import numpy as np
import pytest
import torch

import gradcore as gc
from gradcore.testing import assert_close, gradcheck

RNG = np.random.default_rng(5)


def _pair(**kwargs):
    ours = gc.nn.LSTM(**kwargs, dtype=gc.float64)
    theirs = torch.nn.LSTM(**kwargs, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():
        for (n, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert tuple(a.shape) == tuple(b.shape), n
            b.copy_(torch.tensor(a.numpy()))
    assert repr(ours) == repr(theirs)
    return ours, theirs


@pytest.mark.parametrize("kwargs,with_state", [
    (dict(input_size=3, hidden_size=5, proj_size=2), False),
    (dict(input_size=3, hidden_size=5, proj_size=3, num_layers=2, bidirectional=True), True),
    (dict(input_size=3, hidden_size=4, proj_size=2, batch_first=True, bias=False, num_layers=2), True),
])
def test_lstm_proj_size_matches_torch(kwargs, with_state):
    ours, theirs = _pair(**kwargs)
    dirs = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    x = RNG.standard_normal((4, 2, 3))
    h0 = RNG.standard_normal((layers * dirs, 2 if not kwargs.get("batch_first") else 4, kwargs["proj_size"]))
    c0 = RNG.standard_normal((layers * dirs, h0.shape[1], kwargs["hidden_size"]))
    gx, tx = gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if with_state:
        gs = (gc.tensor(h0, requires_grad=True), gc.tensor(c0, requires_grad=True))
        ts = (torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True))
        go, (gh, gcn) = ours(gx, gs)
        to, (th, tcn) = theirs(tx, ts)
    else:
        go, (gh, gcn) = ours(gx)
        to, (th, tcn) = theirs(tx)
    for a, b in ((go, to), (gh, th), (gcn, tcn)):
        assert tuple(a.shape) == tuple(b.shape)
        assert_close(a.numpy(), b.detach().numpy(), atol=1e-10, rtol=1e-10)
    w = [RNG.standard_normal(tuple(t.shape)) for t in (to, th, tcn)]
    sum((a * gc.tensor(v)).sum() for a, v in zip((go, gh, gcn), w)).backward()
    sum((a * torch.tensor(v)).sum() for a, v in zip((to, th, tcn), w)).backward()
    assert_close(gx.grad.numpy(), tx.grad.numpy(), atol=1e-10, rtol=1e-10)
    if with_state:
        for a, b in zip(gs, ts):
            assert_close(a.grad.numpy(), b.grad.numpy(), atol=1e-10, rtol=1e-10)
    for (n, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert a.grad is not None, n
        assert_close(a.grad.numpy(), b.grad.numpy(), atol=1e-10, rtol=1e-10)


def test_lstm_proj_size_gradcheck_and_all_weights():
    lstm = gc.nn.LSTM(2, 3, proj_size=1, bidirectional=True, dtype=gc.float64)
    assert [tuple(p.shape) for p in lstm.all_weights[1]] == [(12, 2), (12, 1), (12,), (12,), (1, 3)]
    x = gc.tensor(RNG.standard_normal((3, 1, 2)), requires_grad=True)
    h0 = gc.tensor(RNG.standard_normal((2, 1, 1)), requires_grad=True)
    c0 = gc.tensor(RNG.standard_normal((2, 1, 3)), requires_grad=True)
    gradcheck(lambda x, h, c: lstm(x, (h, c))[0], [x, h0, c0])
    gradcheck(lambda x, h, c: lstm(x, (h, c))[1][1], [x, h0, c0])


def test_lstm_proj_size_errors():
    with pytest.raises(ValueError, match="smaller than hidden_size"):
        gc.nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="positive integer or zero"):
        gc.nn.LSTM(3, 4, proj_size=-1)
    lstm = gc.nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        lstm(gc.randn(2, 1, 3), (gc.zeros(1, 1, 4), gc.zeros(1, 1, 4)))


def test_lstm_proj_size_packed_sequence_matches_torch():
    ours, theirs = _pair(input_size=3, hidden_size=4, proj_size=2, bidirectional=True, batch_first=True)
    x = RNG.standard_normal((3, 5, 3))
    lengths = [5, 2, 4]
    kw = dict(batch_first=True, enforce_sorted=False)
    gp = gc.nn.utils.rnn.pack_padded_sequence(gc.tensor(x), lengths, **kw)
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, **kw)
    go, (gh, gcn) = ours(gp)
    to, (th, tcn) = theirs(tp)
    go, _ = gc.nn.utils.rnn.pad_packed_sequence(go, batch_first=True)
    to, _ = torch.nn.utils.rnn.pad_packed_sequence(to, batch_first=True)
    for a, b in ((go, to), (gh, th), (gcn, tcn)):
        assert tuple(a.shape) == tuple(b.shape)
        assert_close(a.numpy(), b.detach().numpy(), atol=1e-10, rtol=1e-10)
