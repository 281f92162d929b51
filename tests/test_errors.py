"""Bad input gets a clear Python exception naming the problem, never a crash or garbage."""

import numpy as np
import pytest

import gradcore as gc
from gradcore.nn import functional as F


def test_matmul_shape_mismatch(device):
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\) are not aligned"):
        gc.ones(2, 3, device=device) @ gc.ones(4, 5, device=device)


def test_matmul_needs_1d_and_matching_float_dtypes(device):
    with pytest.raises(ValueError, match="at least 1 dim"):
        gc.ones((), device=device) @ gc.ones(3, device=device)
    with pytest.raises(TypeError, match="float"):
        gc.ones(2, 2, dtype=gc.int64, device=device) @ gc.ones(2, 2, dtype=gc.int64, device=device)
    with pytest.raises(TypeError, match="one dtype"):
        gc.ones(2, 2, device=device) @ gc.ones(2, 2, dtype=gc.float64, device=device)


def test_broadcast_mismatch(device):
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\) cannot be broadcast"):
        gc.ones(2, 3, device=device) + gc.ones(4, device=device)


def test_backward_on_non_scalar_needs_gradient(device):
    x = gc.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="gradient has shape"):
        (x * 2).backward(gc.ones(4, device=device))


def test_backward_without_graph(device):
    with pytest.raises(RuntimeError, match="does not require grad"):
        gc.ones(1, device=device).backward()


@pytest.mark.parametrize("bad", [10, -1, 99])
def test_cross_entropy_target_out_of_range(bad, device):
    logits = gc.zeros(3, 10, device=device, requires_grad=True)
    with pytest.raises(IndexError, match=f"target {bad} at row 1 is out of range \\[0, 10\\)"):
        # .item(): on cuda the kernel flags bad targets on the device; they surface at the next sync
        F.cross_entropy(logits, gc.tensor([0, bad, 2], device=device)).item()


def test_cross_entropy_wrong_target_dtype_and_shape(device):
    logits = gc.zeros(3, 4, device=device)
    with pytest.raises(TypeError, match="int64 or int32"):
        F.cross_entropy(logits, gc.tensor([0.0, 1.0, 2.0], device=device))
    with pytest.raises(ValueError, match=r"targets must have shape \(3,\)"):
        F.cross_entropy(logits, gc.tensor([0, 1], device=device))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        F.cross_entropy(gc.zeros(3, device=device), gc.tensor([0, 1, 2], device=device))


def test_float_only_ops_reject_ints(device):
    # Tensor.exp() of ints promotes to float32 (issue 13, as torch); the native kernel still refuses ints.
    assert gc.tensor([1, 2], device=device).exp().dtype is gc.float32
    with pytest.raises(ValueError, match="float"):
        gc._C.cpu.unary_exp(np.array([1, 2]), np.empty(2, np.int64))


def test_unsupported_dtypes():
    with pytest.raises(TypeError, match="unsupported dtype"):
        gc.tensor(np.array([1 + 2j]))
    with pytest.raises(TypeError, match="unsupported dtype"):
        gc.zeros(2, dtype="complex64")


def test_reshape_and_axis_errors():
    with pytest.raises(ValueError, match="cannot reshape 6 elements"):
        gc.ones(2, 3).reshape(4, 2)
    with pytest.raises(IndexError, match="out of range"):  # torch's IndexError
        gc.ones(2, 3).sum(axis=3)
    with pytest.raises(IndexError, match="out of bounds"):
        gc.ones(2, 3)[5]
    assert gc.ones(2, 3)[[0, 1]].shape == (2, 3)  # advanced indexing is supported (issue 13)
    with pytest.raises(TypeError, match="indices must be"):
        gc.ones(2, 3)[1.5]


def test_loss_shape_mismatch():
    with pytest.warns(UserWarning, match="differs"):  # torch broadcasts with a warning
        F.mse_loss(gc.ones(4, 1), gc.ones(4))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        F.mse_loss(gc.ones(4, 2), gc.ones(3))


def test_unknown_device_and_cuda_when_absent():
    with pytest.raises(ValueError, match="unknown device"):
        gc.ones(2).to("tpu")
    if not gc.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            gc.ones(2).cuda()


def test_item_needs_one_element():
    with pytest.raises(ValueError, match="one-element"):
        gc.ones(3).item()


def test_in_place_on_leaf_requiring_grad():
    w = gc.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad .* in-place operation"):
        w.copy_(gc.zeros(2))
    with gc.no_grad():
        w.copy_(gc.zeros(2))
    assert w.tolist() == [0.0, 0.0]


def test_linear_shape_and_device_errors():
    with pytest.raises(ValueError, match="not aligned"):
        F.linear(gc.ones(2, 3), gc.ones(4, 5))
    with pytest.raises(ValueError, match="bias must have shape"):
        F.linear(gc.ones(2, 3), gc.ones(4, 3), gc.ones(5))
    with pytest.raises(ValueError, match="Linear expects inputs with last dim 3"):
        gc.nn.Linear(3, 2)(gc.ones(2, 4))


def test_expand_and_copy_shape_errors():
    with pytest.raises(ValueError, match=r"expand: shapes \(2, 3\) and \(4, 3\) cannot be broadcast"):
        gc.ones(2, 3).expand(4, 3)
    with pytest.raises(ValueError, match=r"cannot expand shape \(2, 3\) to \(1, 3\)"):
        gc.ones(2, 3).expand(1, 3)
    with pytest.raises(ValueError, match="does not broadcast"):
        with gc.no_grad():
            gc.ones(3).copy_(gc.ones(2, 3))


def test_detect_anomaly_names_the_forward_op():
    x = gc.tensor([1.0, -1.0], requires_grad=True)
    y = x.log()  # NaN passes silently without anomaly mode, as in PyTorch
    assert np.isnan(y.numpy()[1])
    with gc.detect_anomaly(), pytest.raises(RuntimeError, match="Function Log returned NaN or infinity"):
        x.log()


def test_detect_anomaly_names_the_backward_op():
    x = gc.tensor([0.0, 1.0], requires_grad=True)
    y = (x.sqrt() * 0.0).sum()  # forward finite, d sqrt / dx at 0 is infinite
    with gc.detect_anomaly(), pytest.raises(RuntimeError, match=r"Function Div \(in the backward of Sqrt\)"):
        y.backward()
    z = (x * 2.0).sum()
    z.backward()  # finite everywhere: anomaly mode stays quiet
    with gc.detect_anomaly():
        (x * 2.0).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_training_stops_with_a_clear_error_when_the_loss_diverges(capsys):
    from gradcore.__main__ import main

    assert main(["train", "--epochs", "2", "--hidden", "16", "--lr", "1e30", "--no-progress"]) == 1
    assert "loss is not finite" in capsys.readouterr().err
