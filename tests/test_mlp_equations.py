"""The seed networks' backpropagation equations written out in NumPy, compared with gradcore.

Forward z_l = W_l a_{l-1} + b_l, a_l = f(z_l); backward delta_L from the loss,
delta_l = f'(z_l) * (W_{l+1}^T delta_{l+1}), dL/dW_l = delta_l a_{l-1}^T, dL/db_l = delta_l (summed
over the batch); Adam with bias correction, beta1 0.9, beta2 0.999, eps 1e-8.
"""

import numpy as np
import pytest

import gradcore as gc
from gradcore import nn
from gradcore.testing import assert_close


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_backprop(weights, biases, x, loss_delta, act, act_prime):
    """Returns (activations, grads_W, grads_b) for column-vector layout: a has shape (features, batch)."""
    a, zs, acts = x, [], [x]
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = w @ a + b[:, None]
        zs.append(z)
        a = act[i](z)
        acts.append(a)
    delta = loss_delta(acts[-1], zs[-1])
    gw, gb = [None] * len(weights), [None] * len(weights)
    for layer in reversed(range(len(weights))):
        gw[layer] = delta @ acts[layer].T
        gb[layer] = delta.sum(axis=1)
        if layer:
            delta = act_prime[layer - 1](zs[layer - 1]) * (weights[layer].T @ delta)
    return acts[-1], gw, gb


def numpy_adam(params, grads, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    for p, g, mi, vi in zip(params, grads, m, v):
        mi[:] = b1 * mi + (1 - b1) * g
        vi[:] = b2 * vi + (1 - b2) * g * g
        m_hat = mi / (1 - b1**t)
        v_hat = vi / (1 - b2**t)
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)


def layers_of(model):
    return [m for m in model if isinstance(m, nn.Linear)]


def copy_params(model):
    lin = layers_of(model)
    return [layer.weight.numpy().astype(np.float64).copy() for layer in lin], [
        layer.bias.numpy().astype(np.float64).copy() for layer in lin
    ]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_2_5_1_sigmoid_mse(optimizer, device):
    gc.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 2))
    y = (x[:, :1] * x[:, 1:] > 0).astype(np.float64)
    model = nn.Sequential(
        nn.Linear(2, 5, dtype=gc.float64), nn.Sigmoid(), nn.Linear(5, 1, dtype=gc.float64), nn.Sigmoid()
    )
    W, B = copy_params(model)
    model.to(device)
    opt = (
        gc.optim.SGD(model.parameters(), lr=0.5)
        if optimizer == "sgd"
        else gc.optim.Adam(model.parameters(), lr=0.05)
    )
    m = [np.zeros_like(p) for p in W + B]
    v = [np.zeros_like(p) for p in W + B]
    n = x.shape[0]
    for step in range(1, 6):
        # MSE = mean((a - y)^2): delta_L = 2 (a - y) / n * sigma'(z_L)
        out, gw, gb = numpy_backprop(
            W,
            B,
            x.T,
            lambda a, z: 2 * (a - y.T) / n * sigmoid(z) * (1 - sigmoid(z)),
            [sigmoid, sigmoid],
            [lambda z: sigmoid(z) * (1 - sigmoid(z))],
        )
        opt.zero_grad()
        pred = model(gc.tensor(x, dtype=gc.float64, device=device))
        loss = nn.MSELoss()(pred, gc.tensor(y, dtype=gc.float64, device=device))
        assert_close(pred.cpu(), out.T, atol=1e-12, rtol=1e-10, name="forward")
        loss.backward()
        for layer, g_w, g_b in zip(layers_of(model), gw, gb):
            assert_close(layer.weight.grad.cpu(), g_w, atol=1e-12, rtol=1e-9, name="dW")
            assert_close(layer.bias.grad.cpu(), g_b, atol=1e-12, rtol=1e-9, name="db")
        opt.step()
        if optimizer == "sgd":
            for p, g in zip(W + B, gw + gb):
                p -= 0.5 * g
        else:
            numpy_adam(W + B, gw + gb, m, v, step, 0.05)
        for layer, w, b in zip(layers_of(model), W, B):
            assert_close(layer.weight.cpu(), w, atol=1e-12, rtol=1e-9, name=f"W after step {step}")
            assert_close(layer.bias.cpu(), b, atol=1e-12, rtol=1e-9, name=f"b after step {step}")


@pytest.mark.parametrize("dtype", [gc.float32, gc.float64])
def test_784_256_128_10_relu_cross_entropy_adam(dtype, device):
    gc.manual_seed(1)
    rng = np.random.default_rng(1)
    batch = 64
    x = rng.normal(size=(batch, 784))
    t = rng.integers(0, 10, batch)
    model = nn.Sequential(
        nn.Linear(784, 256, dtype=dtype),
        nn.ReLU(),
        nn.Linear(256, 128, dtype=dtype),
        nn.ReLU(),
        nn.Linear(128, 10, dtype=dtype),
    )
    W, B = copy_params(model)
    model.to(device)
    opt = gc.optim.Adam(model.parameters(), lr=1e-3)
    m = [np.zeros_like(p) for p in W + B]
    v = [np.zeros_like(p) for p in W + B]
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    relu_prime = lambda z: (z > 0).astype(np.float64)  # noqa: E731
    onehot = np.eye(10)[t].T
    tol = dict(atol=2e-5, rtol=2e-3) if dtype is gc.float32 else dict(atol=1e-11, rtol=1e-8)

    def ce_delta(a, z):  # softmax + CE: delta_L = (softmax(z) - y) / n
        p = np.exp(z - z.max(0))
        return (p / p.sum(0) - onehot) / batch

    for step in range(1, 4):
        logits, gw, gb = numpy_backprop(
            W, B, x.T, ce_delta, [relu, relu, lambda z: z], [relu_prime, relu_prime]
        )
        opt.zero_grad()
        out = model(gc.tensor(x, dtype=dtype, device=device))
        loss = nn.CrossEntropyLoss()(out, gc.tensor(t, device=device))
        assert_close(out.cpu(), logits.T, name="logits", **tol)
        loss.backward()
        for layer, g_w, g_b in zip(layers_of(model), gw, gb):
            assert_close(layer.weight.grad.cpu(), g_w, name="dW", **tol)
            assert_close(layer.bias.grad.cpu(), g_b, name="db", **tol)
        opt.step()
        numpy_adam(W + B, gw + gb, m, v, step, 1e-3)
        for layer, w, b in zip(layers_of(model), W, B):
            assert_close(layer.weight.cpu(), w, name="W", **tol)
            assert_close(layer.bias.cpu(), b, name="b", **tol)
