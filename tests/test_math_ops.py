"""torch's elementwise math set (sin ... floor_divide, comparisons, in-place variants) against torch 2.13 CPU:
values, dtypes (integer inputs, promotion), 0-d / empty / non-contiguous inputs, broadcasting, gradients."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcore as gc
from gradcore.testing import assert_close, broadcastable_shapes, gradcheck

RNG = np.random.default_rng(0)
TOL = dict(atol=1e-12, rtol=1e-10)

# name -> (low, high) of a float64 input inside the function's domain (away from its edges).
UNARY_FLOAT = {
    "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9),
    "atan": (-3, 3), "sinh": (-3, 3), "cosh": (-3, 3), "asinh": (-3, 3), "acosh": (1.1, 4),
    "atanh": (-0.9, 0.9), "log1p": (-0.9, 3), "expm1": (-3, 3), "log2": (0.1, 4), "log10": (0.1, 4),
    "exp2": (-3, 3), "rsqrt": (0.1, 4), "reciprocal": (0.2, 3), "square": (-3, 3), "frac": (-3, 3),
    "sgn": (-3, 3), "neg": (-3, 3), "negative": (-3, 3), "erf": (-2, 2), "arcsin": (-0.9, 0.9),
    "arccosh": (1.1, 4), "arctanh": (-0.9, 0.9), "logit": (0.1, 0.9),
}  # fmt: skip
ROUNDING = ["floor", "ceil", "round", "trunc", "fix"]
SHAPES = [(3, 4), (), (0, 3), (2, 1, 3)]


def _pair(data, device, grad=True):
    return (gc.tensor(data, device=device, requires_grad=grad),
            torch.tensor(data, requires_grad=grad))


def _compare(out, ref, **tol):
    assert out.shape == tuple(ref.shape), (out.shape, tuple(ref.shape))
    assert out.dtype.name == str(ref.dtype).replace("torch.", ""), (out.dtype, ref.dtype)
    assert_close(out.cpu().numpy().astype(np.float64), ref.detach().numpy().astype(np.float64),
                 **(tol or TOL))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
def test_unary_float_forward_backward(name, shape, device):
    lo, hi = UNARY_FLOAT[name]
    data = RNG.uniform(lo, hi, shape)
    g, t = _pair(data, device)
    out, ref = getattr(g, name)(), getattr(t, name)()
    _compare(out, ref)
    up = RNG.uniform(-1, 1, tuple(ref.shape))
    ref.backward(torch.tensor(up))
    out.backward(gc.tensor(up, device=device))
    assert_close(g.grad.cpu(), t.grad.numpy(force=True), name="grad", **TOL)
    # the free function too
    _compare(getattr(gc, name)(g.detach()), getattr(torch, name)(t.detach()))


@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
def test_unary_non_contiguous_and_float32(name, device):
    lo, hi = UNARY_FLOAT[name]
    data = RNG.uniform(lo, hi, (4, 3)).T  # a transposed view
    g = gc.tensor(np.ascontiguousarray(data.T), device=device).t()
    assert not g.is_contiguous()
    _compare(getattr(g, name)(), getattr(torch.tensor(data), name)())
    g32 = g.float()
    _compare(getattr(g32, name)(), getattr(torch.tensor(data).float(), name)(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["sin", "cos", "tan", "atan", "sinh", "asinh", "log1p", "expm1", "log2",
                                  "log10", "exp2", "rsqrt", "reciprocal", "sqrt", "exp", "log", "sigmoid"])
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_inputs_promote_to_float(name, dtype, device):
    data = np.array([[1, 2, 3], [4, 5, 1]]).astype(dtype)
    out = getattr(gc.tensor(data, device=device), name)()
    ref = getattr(torch.tensor(data), name)()
    _compare(out, ref, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", ROUNDING)
def test_rounding(name, device):
    data = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999, -0.7, 3.7, np.inf, -np.inf, np.nan, -0.0])
    for arr in (data, data.astype(np.float32)):
        _compare(getattr(gc.tensor(arr, device=device), name)(), getattr(torch.tensor(arr), name)())
    ints = np.array([[-3, 0, 7]], dtype=np.int32)
    out = getattr(gc.tensor(ints, device=device), name)()
    _compare(out, getattr(torch.tensor(ints), name)())  # integers come back unchanged, int32 kept
    g = gc.tensor(RNG.uniform(-3, 3, (3,)), device=device, requires_grad=True)
    getattr(g, name)().sum().backward()
    assert g.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("decimals", [-2, -1, 1, 2, 3])
def test_round_decimals(decimals, device):
    data = RNG.uniform(-500, 500, (20,))
    _compare(gc.round(gc.tensor(data, device=device), decimals=decimals),
             torch.round(torch.tensor(data), decimals=decimals))
    assert gc.tensor(data, device=device).round(decimals=decimals).shape == (20,)


BINARY = {
    "atan2": (-3, 3), "hypot": (-3, 3), "fmod": (0.3, 3), "remainder": (0.3, 3), "copysign": (-3, 3),
    "arctan2": (-3, 3),
}  # fmt: skip


@settings(max_examples=12, deadline=None)
@given(shapes=broadcastable_shapes(max_dims=3, max_side=3), name=st.sampled_from(sorted(BINARY)),
       neg=st.booleans())
def test_binary_broadcast_forward_backward(shapes, name, neg):
    sa, sb = shapes
    lo, hi = BINARY[name]
    a = RNG.uniform(lo, hi, sa) * (-1 if neg else 1)
    b = RNG.uniform(lo, hi, sb) * np.where(RNG.uniform(size=sb) < 0.5, -1, 1)
    ga, ta = _pair(a, "cpu")
    gb, tb = _pair(b, "cpu")
    out, ref = getattr(ga, name)(gb), getattr(ta, name)(tb)
    _compare(out, ref)
    up = RNG.uniform(-1, 1, tuple(ref.shape))
    ref.backward(torch.tensor(up))
    out.backward(gc.tensor(up))
    assert_close(ga.grad, ta.grad.numpy(), name="grad a", **TOL)
    tgb = tb.grad.numpy() if tb.grad is not None else np.zeros(sb)
    assert_close(gb.grad if gb.grad is not None else np.zeros(sb), tgb, name="grad b", **TOL)


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide"])
@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64"])
def test_integer_division_family(name, dtype, device):
    a = np.array([-7, 7, -7, 7, 0, 5, -5, 9]).astype(dtype)
    b = np.array([2, -2, -2, 2, 3, 5, 3, -4]).astype(dtype)
    out = getattr(gc.tensor(a, device=device), name)(gc.tensor(b, device=device))
    _compare(out, getattr(torch.tensor(a), name)(torch.tensor(b)))
    # a Python scalar operand keeps the tensor's dtype, as torch
    _compare(getattr(gc.tensor(a, device=device), name)(3), getattr(torch.tensor(a), name)(3))
    # the function form, and the operators // and %
    _compare(getattr(gc, name)(gc.tensor(a, device=device), gc.tensor(b, device=device)),
             getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
    _compare(gc.tensor(a, device=device) // gc.tensor(b, device=device), torch.tensor(a) // torch.tensor(b))
    _compare(gc.tensor(a, device=device) % gc.tensor(b, device=device), torch.tensor(a) % torch.tensor(b))


def test_float_division_by_zero_matches_torch(device):
    a = np.array([1.0, -1.0, 0.0, 2.5, -0.0])
    b = np.zeros(5)
    for name in ("fmod", "remainder", "floor_divide"):
        out = getattr(gc.tensor(a, device=device), name)(gc.tensor(b, device=device))
        _compare(out, getattr(torch.tensor(a), name)(torch.tensor(b)))


def test_integer_division_by_zero_raises(device):
    a = gc.tensor([1, 2, 3], device=device)
    for fn in (a.fmod, a.remainder, a.floor_divide, lambda o: a.div(o, rounding_mode="trunc")):
        with pytest.raises(ZeroDivisionError):
            fn(gc.tensor([1, 0, 1], device=device))


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "float64"])
def test_div_rounding_modes(mode, dtype, device):
    a = np.array([[-7, 7, -8, 8, 1, -1]]).astype(dtype)
    b = np.array([[2], [-3]]).astype(dtype)  # broadcast (1, 6) x (2, 1)
    out = gc.tensor(a, device=device).div(gc.tensor(b, device=device), rounding_mode=mode)
    _compare(out, torch.tensor(a).div(torch.tensor(b), rounding_mode=mode))
    _compare(gc.div(gc.tensor(a, device=device), 2, rounding_mode=mode),
             torch.div(torch.tensor(a), 2, rounding_mode=mode))
    with pytest.raises(ValueError, match="rounding_mode"):
        gc.tensor(a).div(2, rounding_mode="nearest")


def test_add_sub_alpha_mul_pow(device):
    a, b = RNG.uniform(-2, 2, (3, 1)), RNG.uniform(0.5, 2, (4,))
    ga, ta = _pair(a, device)
    gb, tb = _pair(b, device)
    out = gc.add(ga, gb, alpha=2.5) + ga.sub(gb, alpha=-1) + gc.mul(ga, gb) + gb.pow(ga) + gc.pow(2.0, ga)
    ref = (torch.add(ta, tb, alpha=2.5) + ta.sub(tb, alpha=-1) + torch.mul(ta, tb) + tb.pow(ta)
           + torch.pow(2.0, ta))
    _compare(out, ref)
    out.sum().backward()
    ref.sum().backward()
    assert_close(ga.grad.cpu(), ta.grad.numpy(), **TOL)
    assert_close(gb.grad.cpu(), tb.grad.numpy(), **TOL)
    ints = gc.tensor([1, 2], device=device)
    assert gc.add(ints, ints, alpha=3).tolist() == [4, 8]
    assert gc.add(ints, ints, alpha=3).dtype is gc.int64
    with pytest.raises(TypeError, match="alpha"):
        gc.add(ints, ints, alpha=0.5)
    assert gc.sub(gc.tensor(5.0), 2, alpha=2).item() == 1.0


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal",
                                  "less_equal", "not_equal"])
def test_comparisons(name, device):
    a = np.array([[1.0, 2.0, np.nan], [3.0, -1.0, 2.0]])
    b = np.array([2.0, 2.0, np.nan])
    for other_g, other_t in ((gc.tensor(b, device=device), torch.tensor(b)), (2, 2), (2.0, 2.0)):
        _compare(getattr(gc.tensor(a, device=device), name)(other_g), getattr(torch.tensor(a), name)(other_t))
        _compare(getattr(gc, name)(gc.tensor(a, device=device), other_g),
                 getattr(torch, name)(torch.tensor(a), other_t))
    ints = np.array([1, 2, 3], dtype=np.int32)
    _compare(getattr(gc.tensor(ints, device=device), name)(gc.tensor([2.5, 2.0, 1.0], device=device)),
             getattr(torch.tensor(ints), name)(torch.tensor([2.5, 2.0, 1.0])))
    assert getattr(gc.tensor(3.0), name)(3.0).shape == ()


def test_isnan_isinf_isfinite_methods(device):
    data = np.array([1.0, np.nan, np.inf, -np.inf, 0.0])
    x = gc.tensor(data, device=device)
    for name in ("isnan", "isinf", "isfinite"):
        _compare(getattr(x, name)(), getattr(torch.tensor(data), name)())


def test_composites(device):
    data = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0, 0.0, -2.0])
    x = gc.tensor(data, device=device)
    t = torch.tensor(data)
    _compare(x.nan_to_num(), t.nan_to_num())
    _compare(gc.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0), torch.nan_to_num(t, 1.0, 2.0, -3.0))
    _compare(x.float().nan_to_num(), t.float().nan_to_num())
    _compare(x.signbit(), t.signbit())
    _compare(gc.signbit(gc.tensor([-1, 0, 2], device=device)), torch.signbit(torch.tensor([-1, 0, 2])))
    _compare(gc.square(gc.tensor([True, False], device=device)), torch.square(torch.tensor([True, False])))
    _compare(gc.square(gc.tensor([-3, 2], device=device)), torch.square(torch.tensor([-3, 2])))
    _compare(gc.float_power(gc.tensor([2, 3], device=device), 2), torch.float_power(torch.tensor([2, 3]), 2))
    p = RNG.uniform(0.05, 0.95, (5,))
    _compare(gc.logit(gc.tensor(p, device=device), eps=0.1), torch.logit(torch.tensor(p), eps=0.1))
    s, e, w = RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, (4,)), RNG.uniform(-0.5, 1.5, (3, 1))
    gs, ts = _pair(s, device)
    ge_, te = _pair(e, device)
    _compare(gc.lerp(gs, ge_, 0.3), torch.lerp(ts, te, 0.3))
    out, ref = gs.lerp(ge_, gc.tensor(w, device=device)), ts.lerp(te, torch.tensor(w))
    _compare(out, ref)
    out.sum().backward()
    ref.sum().backward()
    assert_close(gs.grad.cpu(), ts.grad.numpy(), **TOL)
    assert_close(ge_.grad.cpu(), te.grad.numpy(), **TOL)


@pytest.mark.parametrize("name", ["sin", "tan", "atan", "acosh", "log10", "rsqrt", "expm1", "reciprocal"])
def test_gradcheck_and_double_backward(name, device):
    lo, hi = UNARY_FLOAT.get(name, (0.2, 2))
    x = gc.tensor(RNG.uniform(lo, hi, (2, 3)), device=device, requires_grad=True)
    assert gradcheck(lambda t: getattr(t, name)(), [x])
    (g,) = gc.autograd.grad(getattr(x, name)().sum(), [x], create_graph=True)
    assert gradcheck(lambda t: gc.autograd.grad(getattr(t, name)().sum(), [t], create_graph=True)[0], [x])
    assert g.requires_grad


def test_gradcheck_binary(device):
    a = gc.tensor(RNG.uniform(0.5, 2, (2, 3)), device=device, requires_grad=True)
    b = gc.tensor(RNG.uniform(0.5, 2, (3,)), device=device, requires_grad=True)
    for fn in (gc.atan2, gc.hypot, gc.fmod, gc.remainder, gc.copysign):
        assert gradcheck(lambda p, q, f=fn: f(p, q * 1.37), [a, b])
    assert gradcheck(lambda p: gc.autograd.grad(gc.atan2(p, b).sum(), [p], create_graph=True)[0], [a])


@pytest.mark.parametrize("name", ["sin", "cos", "exp", "log", "sqrt", "abs", "neg", "relu", "sigmoid", "tanh",
                                  "square", "floor", "ceil", "round", "trunc", "frac", "reciprocal", "rsqrt",
                                  "log1p", "expm1", "sign", "atan", "nan_to_num"])
def test_inplace_variants(name, device):
    data = RNG.uniform(0.2, 2, (2, 3))
    x, t = gc.tensor(data, device=device), torch.tensor(data)
    v = x._version
    r = getattr(x, name + "_")()
    assert r is x and x._version == v + 1
    getattr(t, name + "_")()
    _compare(x, t)
    # autograd through the in-place op on a non-leaf
    leaf, tleaf = _pair(data, device)
    y, ty = leaf * 1.0, tleaf * 1.0
    getattr(y, name + "_")()
    getattr(ty, name + "_")()
    y.sum().backward()
    ty.sum().backward()
    assert_close(leaf.grad.cpu(), tleaf.grad.numpy(), **TOL)


def test_inplace_binary_and_cast_rules(device):
    x = gc.tensor([5.0, -7.0], device=device)
    x.fmod_(3).pow_(2)
    assert x.tolist() == [4.0, 1.0]
    i = gc.tensor([7, -7], device=device)
    i //= 2
    i %= 3
    assert i.tolist() == [0, 2]
    with pytest.raises(RuntimeError, match="can't be cast"):
        gc.tensor([1, 2], device=device).sin_()
    leaf = gc.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        leaf.sin_()


def test_wrong_input_types_raise():
    with pytest.raises(TypeError, match="Tensor"):
        gc.sin([1.0, 2.0])
    with pytest.raises(TypeError, match="bool"):
        gc.tensor([True]).floor()
    with pytest.raises(ValueError, match="broadcast"):
        gc.atan2(gc.ones(2), gc.ones(3))


def test_half_types_compute_in_float32(device):
    data = RNG.uniform(-2, 2, (5,)).astype(np.float32)
    for name in ("sin", "floor", "expm1"):
        out = getattr(gc.tensor(data, device=device).half(), name)()
        ref = getattr(torch.tensor(data).half(), name)()
        assert out.dtype is gc.float16
        assert_close(out.float().cpu(), ref.float().numpy(), atol=2e-3, rtol=2e-3)


PROBE = (
    "sin cos tan asin acos atan sinh cosh asinh acosh atanh floor ceil round trunc frac log1p expm1 log2 "
    "log10 "
    "exp2 rsqrt reciprocal square sgn signbit nan_to_num logit lerp atan2 hypot fmod remainder floor_divide "
    "float_power neg add sub mul div pow eq ne lt le gt ge"
).split()


def test_probe_names_exist():
    x = gc.zeros(1)
    for name in PROBE:
        assert hasattr(x, name) and hasattr(gc, name), name
    for name in ("isnan", "isinf", "isfinite", "abs_", "neg_", "sqrt_", "exp_", "log_", "relu_", "sigmoid_",
                 "tanh_", "pow_", "square_", "sin_", "floor_", "lerp_"):
        assert hasattr(x, name), name
    assert math.isclose(gc.tensor(2.0).exp2().item(), 4.0)


def test_extra_composites(device):
    a, b, c = RNG.uniform(-2, 2, (2, 3)), RNG.uniform(-2, 2, (3,)), RNG.uniform(0.5, 2, (2, 1))
    ga, ta = _pair(a, device)
    gb, tb = _pair(b, device)
    gcc, tc = _pair(c, device)
    out = gc.addcmul(ga, gb, gcc, value=0.5) + ga.addcdiv(gb, gcc, value=-2) + gc.logaddexp(ga, gb)
    out = out + gc.xlogy(gcc, gcc) + ga.deg2rad() + gc.rad2deg(gb) + ga.clamp_min(0.1) + gc.clamp_max(ga, 0.2)
    ref = torch.addcmul(ta, tb, tc, value=0.5) + ta.addcdiv(tb, tc, value=-2) + torch.logaddexp(ta, tb)
    ref = (ref + torch.xlogy(tc, tc) + ta.deg2rad() + torch.rad2deg(tb) + ta.clamp_min(0.1)
           + torch.clamp_max(ta, 0.2))
    _compare(out, ref)
    out.sum().backward()
    ref.sum().backward()
    for g, t in ((ga, ta), (gb, tb), (gcc, tc)):
        assert_close(g.grad.cpu(), t.grad.numpy(), **TOL)
    inf = np.array([np.inf, -np.inf, np.inf, 1.0])
    _compare(gc.logaddexp(gc.tensor(inf, device=device), gc.tensor(inf[::-1].copy(), device=device)),
             torch.logaddexp(torch.tensor(inf), torch.tensor(inf[::-1].copy())))
    x = np.array([0.0, 0.0, 2.0, 1.0])
    y = np.array([0.0, np.nan, 3.0, 0.0])
    _compare(gc.xlogy(gc.tensor(x, device=device), gc.tensor(y, device=device)),
             torch.xlogy(torch.tensor(x), torch.tensor(y)))
    _compare(gc.deg2rad(gc.tensor([180], device=device)), torch.deg2rad(torch.tensor([180])))
    with pytest.raises(TypeError, match="integer division"):
        gc.addcdiv(gc.zeros(2), gc.tensor([1, 2]), gc.tensor([1, 2]))
