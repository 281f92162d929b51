"""The tape: accumulation, retain_graph, create_graph (double backward), no_grad, detach, deep graphs."""

import numpy as np
import pytest

import gradcore as gc
from gradcore.testing import assert_close


def test_gradients_accumulate_across_backward_calls(device):
    x = gc.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.cpu().tolist() == [3.0 + 2.0, 3.0 + 4.0]


def test_shared_subexpression_sums_both_paths(device):
    x = gc.tensor([2.0], device=device, requires_grad=True)
    y = x * x
    (y + y * x).sum().backward()  # d/dx (x^2 + x^3) = 2x + 3x^2
    assert x.grad.item() == pytest.approx(2 * 2 + 3 * 4)


def test_second_backward_needs_retain_graph(device):
    x = gc.tensor([1.0], device=device, requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(4 * np.e)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


@pytest.mark.parametrize("dtype", [gc.float32, gc.float64])
def test_double_backward_every_unary(dtype, device):
    # d2/dx2 of f, checked against the closed form for each primitive.
    cases = [
        (lambda t: t.exp(), np.exp),
        (lambda t: t.log(), lambda v: -1 / v**2),
        (lambda t: t.sigmoid(), lambda v: (s := 1 / (1 + np.exp(-v))) * (1 - s) * (1 - 2 * s)),
        (lambda t: t.tanh(), lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
        (lambda t: t.sqrt(), lambda v: -0.25 * v**-1.5),
        (lambda t: t**3, lambda v: 6 * v),
        (lambda t: 1 / t, lambda v: 2 / v**3),
        (lambda t: t.relu() * t, lambda v: 2.0 * (v > 0)),
    ]
    v = np.array([0.3, 1.7, 0.9])
    for f, d2 in cases:
        x = gc.tensor(v, dtype=dtype, device=device, requires_grad=True)
        (g,) = _grad(f(x).sum(), x)
        g.sum().backward()
        assert_close(x.grad.cpu(), d2(v), atol=1e-4, rtol=1e-4)


def _grad(y, x):
    y.backward(create_graph=True)
    g = x.grad
    x.grad = None
    return (g,)


def test_double_backward_through_matmul_and_softmax_ce(device):
    rng = np.random.default_rng(0)
    w = gc.tensor(rng.normal(size=(4, 3)), dtype=gc.float64, device=device, requires_grad=True)
    x = gc.tensor(rng.normal(size=(5, 4)), dtype=gc.float64, device=device)
    t = gc.tensor([0, 1, 2, 1, 0], device=device)

    def grad_norm(w_):
        loss = gc.nn.functional.cross_entropy(x @ w_, t)
        loss.backward(create_graph=True)
        g = w_.grad
        w_.grad = None
        return (g * g).sum()

    assert gc.testing.gradcheck(grad_norm, [w], atol=1e-6)


def test_no_grad_and_detach(device):
    x = gc.tensor([1.0], device=device, requires_grad=True)
    with gc.no_grad():
        y = x * 2
    assert not y.requires_grad
    z = (x * 2).detach()
    assert not z.requires_grad and z.is_leaf

    @gc.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad
    assert gc.is_grad_enabled()


def test_deep_graph_has_no_recursion_limit(device):
    x = gc.tensor([1.0], device=device, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    assert x.grad.item() == pytest.approx(1.0001**5000, rel=1e-4)


def test_backward_with_explicit_gradient(device):
    x = gc.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    (x * x).backward(gc.tensor([1.0, 0.0, 2.0], device=device))
    assert x.grad.cpu().tolist() == [2.0, 0.0, 12.0]


def test_grad_is_settable(device):
    x = gc.tensor([1.0, 2.0], device=device, requires_grad=True)
    x.grad = gc.tensor([5.0, 5.0], device=device)
    (x * 1).sum().backward()
    assert x.grad.cpu().tolist() == [6.0, 6.0]
    x.grad = None
    assert x.grad is None
    with pytest.raises(ValueError, match="shape"):
        x.grad = gc.tensor([1.0], device=device)


def test_broadcast_gradient_of_leaf_is_contiguous_and_summed(device):
    b = gc.tensor([1.0, 2.0], device=device, requires_grad=True)
    (gc.ones(3, 2, device=device) * b).sum().backward()
    assert b.grad.cpu().tolist() == [3.0, 3.0]
    s = gc.tensor(2.0, device=device, requires_grad=True)  # 0-d
    (gc.ones(4, device=device) * s).sum().backward()
    assert s.grad.shape == () and s.grad.item() == 4.0


def test_non_contiguous_input_gradients():
    a = np.arange(12.0).reshape(3, 4)
    t = gc.from_numpy(a.T)  # strided view, shares memory
    t.requires_grad = True
    (t.exp() * t).sum().backward()
    assert_close(t.grad, np.exp(a.T) * (1 + a.T), rtol=1e-12)


def test_int_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating point"):
        gc.tensor([1, 2], requires_grad=True)


def test_numpy_interop_shares_cpu_memory():
    t = gc.zeros(3)
    view = np.from_dlpack(t)
    view[1] = 4.0
    assert t.tolist() == [0.0, 4.0, 0.0]
    assert np.asarray(t).tolist() == [0.0, 4.0, 0.0]
    assert gc.from_dlpack(np.arange(2.0)).dtype is gc.float64


SECOND_ORDER = {
    "mul": lambda a, b: (a * b * a).sum(),
    "div": lambda a, b: (a / b).sum(),
    "pow": lambda a, b: (a**b).sum(),
    "sub_maximum": lambda a, b: ((a - b).maximum(b * 0.1) * a).sum(),
    "sum_mean": lambda a, b: (a.sum(axis=0, keepdims=True) * b).mean() * a.sum(),
    "max": lambda a, b: (a * b).amax(axis=1).sum() * a.mean(),
    "shapes": lambda a, b: (a.T.reshape(-1) * b.permute(1, 0).reshape(-1)).sum() * a[1:, ::2].sum(),
    "expand": lambda a, b: (a[:1].expand(a.shape) * b * a).sum(),
    "linear": lambda a, b: gc.nn.functional.linear(a, b, b[:, 0]).tanh().sum(),
    "matmul": lambda a, b: (a @ b.T).sigmoid().sum(),
    "relu_bce": lambda a, b: gc.nn.functional.binary_cross_entropy((a * b).relu().sigmoid(), b.sigmoid()),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_double_backward_matches_finite_differences(name):
    """The gradient itself is differentiable: d/da of |df/da|^2 checked by central differences."""
    rng = np.random.default_rng(2)
    a = gc.tensor(
        rng.uniform(0.5, 1.5, (3, 4)) + np.arange(12).reshape(3, 4) * 0.05,
        dtype=gc.float64,
        requires_grad=True,
    )
    b = gc.tensor(rng.uniform(0.5, 1.5, (3, 4)), dtype=gc.float64, requires_grad=True)
    f = SECOND_ORDER[name]

    def grad_norm(x, y):
        f(x, y).backward(create_graph=True)
        ga, gb = x.grad, y.grad
        x.grad = y.grad = None
        return (ga * ga).sum() + (gb * gb).sum()

    assert gc.testing.gradcheck(grad_norm, [a, b], atol=1e-6, rtol=1e-4)


def test_fused_cross_entropy_gradient_with_unit_and_scaled_seeds():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(6, 4))
    t = gc.tensor([0, 3, 1, 2, 2, 0])
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(6), t.numpy()] -= 1
    expected = p / 6
    for scale in (1.0, 2.5):
        x = gc.tensor(logits, dtype=gc.float64, requires_grad=True)
        loss = gc.nn.functional.cross_entropy(x, t)
        (loss if scale == 1.0 else loss * scale).backward()
        assert_close(x.grad, expected * scale, rtol=1e-12)


def test_large_cpu_buffers_are_reused_and_views_keep_them_alive():
    from gradcore import _C

    n = _C.cpu.cache_min_bytes // 4 + 1024  # just above the cache threshold (float32)
    x = gc.ones(n)
    y = x * 3.0
    tail = y[-3:]  # a view: keeps y's block alive after y is gone
    del y
    z = x * 5.0  # may reuse a cached block, must not touch the one the view holds
    assert tail.tolist() == [3.0, 3.0, 3.0] and z[:2].tolist() == [5.0, 5.0]
    hits = dict(_C.cpu.memory_stats())["cache_hits"]
    del z
    w = x + 1.0
    assert dict(_C.cpu.memory_stats())["cache_hits"] == hits + 1  # z's block came back for w
    assert w[:1].tolist() == [2.0]


# ---------------------------------------------------------------- the autograd API (issues 13 and 18)


def _pair(values, device):
    import torch

    arr = np.asarray(values, np.float64)
    return gc.tensor(arr, device=device, requires_grad=True), torch.tensor(arr, requires_grad=True)


def test_autograd_grad_matches_torch_and_leaves_dot_grad_alone(device):
    import torch

    from gradcore.autograd import grad

    x, xt = _pair([0.5, -1.0, 2.0], device)
    w, wt = _pair([1.5, 2.0, -0.5], device)
    gx, gw = grad((x * x * w).sum(), [x, w])
    gxt, gwt = torch.autograd.grad((xt * xt * wt).sum(), [xt, wt])
    assert_close(gx, gxt.numpy())
    assert_close(gw, gwt.numpy())
    assert x.grad is None and w.grad is None
    # grad_outputs, several outputs, a non-leaf input
    h = x * w
    go = gc.tensor([1.0, 2.0, 3.0], device=device, dtype=gc.float64)
    (gh, gx2) = gc.autograd.grad([h.exp(), h * 2], [h, x], grad_outputs=[go, go])
    ht = xt * wt
    (ght, gxt2) = torch.autograd.grad([ht.exp(), ht * 2], [ht, xt], grad_outputs=[tt(go), tt(go)])
    assert_close(gh, ght.numpy())
    assert_close(gx2, gxt2.numpy())


def tt(t):
    import torch

    return torch.tensor(t.cpu().numpy())


def test_autograd_grad_create_graph_gives_second_derivatives(device):
    import torch

    x, xt = _pair([0.5, -1.0, 2.0], device)
    (g1,) = gc.autograd.grad((x**3).sum(), x, create_graph=True)
    (g2,) = gc.autograd.grad(g1.sum(), x)
    (g1t,) = torch.autograd.grad((xt**3).sum(), xt, create_graph=True)
    (g2t,) = torch.autograd.grad(g1t.sum(), xt)
    assert_close(g2, g2t.numpy())


def test_autograd_grad_errors_as_torch(device):
    x, _ = _pair([1.0, 2.0], device)
    unused, _ = _pair([3.0], device)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="at index 1 appears to not have been used in the graph"):
        gc.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = gc.autograd.grad(y, [x, unused], allow_unused=True, retain_graph=True)
    assert gx.cpu().tolist() == [2.0, 2.0] and gu is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        gc.autograd.grad(y, gc.ones(2))
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        gc.autograd.grad(gc.ones(1).sum(), x)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        gc.autograd.grad(x * 2, x)
    gc.autograd.grad(y, x)  # retain_graph defaults to create_graph (False): the graph is freed
    with pytest.raises(RuntimeError, match="second time"):
        gc.autograd.grad(y, x)


def test_retain_grad_and_hooks_like_torch(device):

    results = []
    x, xt = _pair([1.0, -2.0, 3.0], device)
    for t in (x, xt):
        y = t * 2
        y.retain_grad()
        seen = []
        y.register_hook(lambda g, seen=seen: seen.append(g) or g * 10)  # replaces the gradient
        handle = t.register_hook(lambda g: g + 1)
        (y * y).sum().backward()
        results.append((y.grad, t.grad, seen[0]))
        handle.remove()
        t.grad = None
        (t * 1).sum().backward()
        results.append((t.grad,))
    (yg, xg, s), (xg2,), (ygt, xgt, st), (xgt2,) = results
    assert_close(yg, ygt.numpy())
    assert_close(xg, xgt.numpy())
    assert_close(s, st.numpy())
    assert_close(xg2, xgt2.numpy())  # the removed hook no longer runs
    assert x.retains_grad is False and (x * 1).retains_grad is False


def test_requires_grad_underscore_and_errors():
    x = gc.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    with pytest.raises(RuntimeError, match="can't retain_grad"):
        gc.ones(2).retain_grad()
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        gc.ones(2).register_hook(lambda g: g)


def test_data_is_a_detached_settable_alias(device):
    x, _ = _pair([1.0, 2.0], device)
    d = x.data
    assert not d.requires_grad and d.is_leaf
    d.mul_(3)  # allowed on a leaf that requires grad: .data is not tracked
    assert x.cpu().tolist() == [3.0, 6.0]
    x.data = gc.tensor([5.0, 7.0], device=device, dtype=gc.float64)
    assert x.requires_grad and x.cpu().tolist() == [5.0, 7.0]
    (x * x).sum().backward()
    assert x.grad.cpu().tolist() == [10.0, 14.0]


def test_grad_fn_name_and_next_functions():
    import torch

    x = gc.tensor([1.0], requires_grad=True)
    y = (x * 2).exp()
    xt = torch.tensor([1.0], requires_grad=True)
    yt = (xt * 2).exp()
    assert x.grad_fn is None and gc.ones(1).grad_fn is None
    assert y.grad_fn.name() == yt.grad_fn.name() == "ExpBackward0"
    (mul, _), = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0"
    (acc, _), (const, _) = mul.next_functions
    assert acc.name() == "AccumulateGrad" and acc.variable is x and const is None


def test_grad_mode_decorators_and_contexts():
    x = gc.ones(1, requires_grad=True)

    @gc.no_grad
    def bare():
        return (x * 2).requires_grad

    @gc.no_grad()
    def called():
        return (x * 2).requires_grad

    assert bare() is False and called() is False and bare.__name__ == "bare"
    with gc.no_grad():
        with gc.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad

    @gc.enable_grad
    def on():
        return (x * 2).requires_grad

    with gc.no_grad():
        assert on()
    with gc.inference_mode():
        assert not (x * 2).requires_grad
    with gc.inference_mode(False):
        assert (x * 2).requires_grad

    @gc.inference_mode
    def inf():
        return (x * 2).requires_grad

    assert inf() is False and gc.is_grad_enabled()
