"""Issue 11's Python-side defects, on every device: 0-d tensors keep their shape through uploads and
downloads, gradcheck perturbs inputs on their own device, device moves work inside detect_anomaly."""

import numpy as np
import pytest

import gradcore as gc
from gradcore.testing import gradcheck


def test_zero_d_tensors_keep_their_shape(device):
    x = gc.tensor(2.5, device=device, requires_grad=True)
    assert x.shape == ()
    y = x * x
    assert y.shape == () and y.cpu().shape == ()
    y.backward()  # the implicit seed is written with copy_, which checks shapes
    assert x.grad.shape == () and x.grad.item() == 5.0
    assert gc.tensor(np.float64(1.5), device=device).shape == ()
    assert gc.tensor(np.array(7, np.int32), device=device).cpu().numpy().shape == ()
    assert gc.tensor(3.0).to(device).shape == () and gc.tensor(3.0, device=device).cpu().shape == ()


def test_scalar_losses_backpropagate(device):
    logits = gc.tensor(np.eye(3, dtype=np.float32), device=device, requires_grad=True)
    loss = gc.nn.functional.cross_entropy(logits, gc.tensor([0, 1, 2], device=device))
    assert loss.shape == ()
    loss.backward()
    mse = ((logits - 1.0) ** 2).mean()
    mse.backward()
    assert logits.grad.shape == (3, 3) and logits.grad.device == device


def test_zero_d_round_trip_between_devices(device):
    t = gc.tensor(4.0, requires_grad=True)
    moved = t.to(device)
    assert moved.shape == () and moved.device == device
    (moved * 3).backward()
    assert t.grad.shape == () and t.grad.item() == 3.0


def test_gradcheck_perturbs_inputs_on_their_device(device):
    seen = set()

    def fn(a, b):
        seen.update({a.device, b.device})
        return (a * b).sigmoid() + a.exp()

    a = gc.tensor([0.5, -1.0, 0.25], dtype=gc.float64, device=device, requires_grad=True)
    b = gc.tensor([1.5, 0.5, -2.0], dtype=gc.float64, device=device, requires_grad=True)
    assert gradcheck(fn, [a, b])
    assert seen == {device}
    scalar = gc.tensor(0.3, dtype=gc.float64, device=device, requires_grad=True)
    assert gradcheck(lambda s: (s * s).tanh(), [scalar])


def test_device_moves_inside_detect_anomaly(device):
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    with gc.detect_anomaly():
        y = x.to(device) * 2
        z = y.cpu()
        z.sum().backward()
        assert z.device == "cpu" and y.device == device
    assert x.grad.tolist() == [2.0, 2.0]
    with gc.detect_anomaly(), pytest.raises(RuntimeError, match="Function Log"):
        gc.tensor([-1.0], device=device).log()
    if device != "cpu":  # a move of a non-finite tensor is still reported, checked on its new device
        with gc.detect_anomaly(), pytest.raises(RuntimeError, match="ToDevice"):
            gc.tensor([np.inf], device=device).cpu()


def test_sizes_that_overflow_are_a_clear_error(device):
    # zeros(1 << 62) once wrapped to a tiny CUDA block that the fill then overran.
    for shape in ((1 << 62,), (1 << 31, 1 << 31, 4)):
        with pytest.raises(ValueError, match="too large|too big"):
            gc.zeros(*shape, device=device)
    assert gc.ones(3, device=device).sum().item() == 3.0  # and the device is still usable
