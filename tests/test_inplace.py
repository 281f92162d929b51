"""In-place ops against PyTorch: storage writes, leaf rules, history rebase, dtype rule, the version
counter, overlapping copies, expanded and read-only memory, basic-index assignment, in-place SGD."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcore as gc
from gradcore import nn
from gradcore.testing import arrays, assert_close, broadcastable_shapes, maybe_transposed

F64 = dict(dtype=gc.float64)


def tt(a, requires_grad=False):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=requires_grad)


def g(a, device, requires_grad=False):
    return gc.tensor(np.asarray(a, np.float64), device=device, requires_grad=requires_grad)


A = [[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]]
B = [2.0, -0.5, 1.25]


@pytest.mark.parametrize(
    "name,call",
    [
        ("iadd", lambda x, o: x.__iadd__(o)),
        ("isub", lambda x, o: x.__isub__(o)),
        ("imul", lambda x, o: x.__imul__(o)),
        ("itruediv", lambda x, o: x.__itruediv__(o)),
        ("add_", lambda x, o: x.add_(o, alpha=3)),
        ("sub_", lambda x, o: x.sub_(o, alpha=0.5)),
        ("mul_", lambda x, o: x.mul_(o)),
        ("div_", lambda x, o: x.div_(o)),
        ("clamp_", lambda x, o: x.clamp_(-1.0, 2.0)),
        ("copy_", lambda x, o: x.copy_(o)),
        ("fill_", lambda x, o: x.fill_(7.5)),
        ("zero_", lambda x, o: x.zero_()),
    ],
)
def test_inplace_ops_write_own_storage_like_torch(device, name, call):
    x, ref = g(A, device), tt(A)
    view = x[1]  # a view must see the write: the storage itself changed
    out = call(x, g(B, device))
    call(ref, tt(B))
    assert out is x
    assert_close(x, ref.numpy(), name=name)
    assert_close(view, ref.numpy()[1], name=name + " through a view")
    assert x._version == 1 and view._version == 1


def test_no_grad_sgd_update_changes_the_parameter_itself(device):
    p = g([1.0, 2.0], device, requires_grad=True)
    p.grad = g([1.0, -1.0], device)
    alias = p
    with gc.no_grad():
        p -= 0.5 * p.grad
        p *= 2
    assert p is alias and p.is_leaf and p.requires_grad
    assert p.cpu().tolist() == [1.0, 5.0]


def test_leaf_requiring_grad_refuses_in_place_outside_no_grad(device):
    w = g([1.0, 2.0], device, requires_grad=True)
    for op in (lambda: w.add_(1), lambda: w.__iadd__(1), lambda: w.zero_(), lambda: w.clamp_(0)):
        with pytest.raises(
            RuntimeError, match="a leaf Variable that requires grad is being used in an in-pl"
        ):
            op()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0] = 3.0
    assert w.cpu().tolist() == [1.0, 2.0] and w._version == 0


@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_", "iadd", "imul", "clamp_", "copy_", "fill_"])
def test_non_leaf_in_place_rebases_history_like_torch(op, device):
    def run(x, w, lib):
        y = x * x
        if op in ("add_", "sub_"):
            getattr(y, op)(w, alpha=2)
        elif op in ("mul_", "div_", "copy_"):
            getattr(y, op)(w)
        elif op == "iadd":
            y += w
        elif op == "imul":
            y *= w
        elif op == "clamp_":
            y.clamp_(2.0, 5.0)
        else:
            y.fill_(3.0)
        (y * (x + 1)).sum().backward()
        return y

    xs, ws = [1.0, 2.0, 3.0], [0.5, -2.0, 4.0]
    x, w = g(xs, device, True), g(ws, device, True)
    xt, wt = tt(xs, True), tt(ws, True)
    y, yt = run(x, w, gc), run(xt, wt, torch)
    assert_close(y, yt.detach().numpy(), name=op)
    assert y.requires_grad and not y.is_leaf
    assert_close(x.grad, xt.grad.numpy(), name=op + " x.grad")
    if wt.grad is None:
        assert w.grad is None
    else:
        assert_close(w.grad, wt.grad.numpy(), name=op + " w.grad")


def test_issue_example_in_place_on_non_leaf_gives_torchs_gradient():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y += 1
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_in_place_on_a_view_of_a_non_leaf_updates_the_base_gradient(device):
    x, xt = g(A, device, True), tt(A, True)
    for t in (x, xt):
        y = t * 1
        y[0] *= 5  # getitem, in-place mul on the view, setitem back
        y[:, 1].mul_(3)
        (y * y).sum().backward()
    assert_close(x.grad, xt.grad.numpy())


@pytest.mark.parametrize(
    "dtype,value,message",
    [
        (gc.int64, 1.5, "result type Float can't be cast to the desired output type Long"),
        (gc.int32, 1.5, "result type Float can't be cast to the desired output type Int"),
    ],
)
def test_dtype_rule_as_torch(dtype, value, message):
    a = gc.tensor([1, 2], dtype=dtype)
    with pytest.raises(RuntimeError, match=message):
        a += value
    with pytest.raises(RuntimeError, match=message):
        a /= 2  # true division is float
    with pytest.raises(RuntimeError, match=message):
        a.mul_(gc.tensor([0.5, 0.5]))
    assert a.tolist() == [1, 2] and a._version == 0
    a += 3  # int stays int
    b = gc.tensor([1.0, 2.0])
    b += gc.tensor([1, 2])  # an integer operand into a float tensor is fine
    c = gc.tensor([1, 2], dtype=gc.int32)
    c += gc.tensor([5, 6], dtype=gc.int64)  # same kind: cast down, as torch
    assert a.tolist() == [4, 5] and b.tolist() == [2.0, 4.0] and c.tolist() == [6, 8]
    assert c.dtype is gc.int32


def test_fill_and_copy_convert_like_torch():
    a = gc.tensor([1, 2, 3])
    a.fill_(2.7)
    assert a.tolist() == torch.tensor([1, 2, 3]).fill_(2.7).tolist()
    a.copy_(gc.tensor([1.9, -1.9, 0.5]))
    assert a.tolist() == torch.tensor([1, 2, 3]).copy_(torch.tensor([1.9, -1.9, 0.5])).tolist()


def test_broadcast_result_must_fit_self():
    a = gc.ones(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2,"):
        a += gc.ones(2, 3)
    a += gc.ones(1)  # broadcasting the other operand is fine
    assert a.tolist() == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------- the version counter


def test_version_counter_is_shared_with_views_and_detach_not_data(device):
    x = g(A, device)
    v, d, t, data = x[0], x.detach(), x.T, x.data
    x.add_(1)
    assert (x._version, v._version, d._version, t._version) == (1, 1, 1, 1)
    v.mul_(2)
    d.zero_()
    assert x._version == 3 and t._version == 3
    assert data._version == 0  # .data is not tracked, as in torch
    ref = torch.zeros(2, 3)
    assert ref.data._version == 0


def test_modified_saved_tensor_raises_instead_of_a_wrong_gradient(device):
    x = g(2.0, device, True)
    y = x * 1
    z = y * y * y
    y.fill_(100.0)  # the seeds' bug: gradient 400 instead of 8
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()
    xt = torch.tensor(2.0, requires_grad=True)
    yt = xt * 1
    zt = yt * yt * yt
    yt.fill_(100.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        zt.backward()


def test_modified_saved_output_raises_as_torch(device):
    x = g([1.0, 2.0], device, True)
    y = x.exp()  # exp saves its output
    y += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_in_place_on_an_unsaved_input_is_fine(device):
    x = g([1.0, 2.0], device, True)
    y = x * 1
    s = y.sum()  # sum saves no tensor
    y.mul_(10)
    s.backward()
    assert x.grad.cpu().tolist() == [1.0, 1.0]


def test_optimizer_step_bumps_versions_and_stale_backward_raises():
    w = gc.tensor([1.0, 2.0], requires_grad=True)
    opt = gc.optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


# ---------------------------------------------------------------- overlapping and expanded memory


def test_overlapping_copies_go_through_a_temporary(device):
    a = gc.arange(6, device=device)
    a[1:].copy_(a[:-1])
    assert a.cpu().tolist() == [0, 0, 1, 2, 3, 4]
    a = gc.arange(6, device=device)
    a.copy_(a[::-1])
    assert a.cpu().tolist() == [5, 4, 3, 2, 1, 0]
    m = gc.arange(9, device=device).reshape(3, 3)
    m.copy_(m.T)
    assert m.cpu().tolist() == np.arange(9).reshape(3, 3).T.tolist()
    b = gc.arange(6, device=device).to(gc.float64)
    b[1:] += b[:-1]  # torch refuses partial overlap; gradcore reads the operand before writing
    assert b.cpu().tolist() == [0.0, 1.0, 3.0, 5.0, 7.0, 9.0]
    c = gc.arange(4, device=device)
    c += c
    assert c.cpu().tolist() == [0, 2, 4, 6]


def test_may_overlap_on_the_cpu_backend():
    be = gc.backend.get("cpu")
    x = np.arange(10)
    assert be.may_overlap(x[1:], x[:-1]) and be.may_overlap(x, x[::-1])
    assert not be.may_overlap(x[::2], x[1::2])  # interleaved, disjoint
    assert not be.may_overlap(x, np.arange(3))


def test_in_place_write_into_expanded_tensor_raises(device):
    e = gc.ones(1, 3, device=device).expand(4, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a"):
        e.add_(1)
    with pytest.raises(RuntimeError, match="more than one element"):
        e.copy_(gc.zeros(4, 3, device=device))
    with pytest.raises(RuntimeError, match="more than one element"):
        torch.ones(1, 3).expand(4, 3).add_(1)


# ---------------------------------------------------------------- read-only memory


def _read_only_arrays(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(6, dtype=np.float32))
    return {
        "mmap r": np.load(path, mmap_mode="r"),
        "frombuffer": np.frombuffer(bytes(24), dtype=np.float32),
        "broadcast_to": np.broadcast_to(np.ones(1, np.float32), (1,)),
    }


def test_in_place_on_read_only_memory_raises_a_clear_error(tmp_path):
    for what, arr in _read_only_arrays(tmp_path).items():
        t = gc.from_numpy(arr)
        before = np.array(arr)
        for op in (t.zero_, t.add_, t.fill_, t.__imul__):
            with pytest.raises(ValueError, match="read-only"):
                op() if op == t.zero_ else op(2)
        with pytest.raises(ValueError, match="read-only"):
            t[0] = 1.0
        np.testing.assert_array_equal(arr, before, err_msg=what)


def test_kernels_refuse_read_only_outputs_by_name():
    ro = np.frombuffer(bytes(16), dtype=np.float32)
    x = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="out is a read-only array"):
        gc._C.cpu.unary_copy(x, ro)
    with pytest.raises(ValueError, match="out is a read-only array"):
        gc._C.cpu.binary_add(x, x, ro)
    with pytest.raises(ValueError, match="out is a read-only array"):
        gc._C.cpu.sum(x, np.frombuffer(bytes(4), dtype=np.float32).reshape(1))
    logits, targets = np.zeros((2, 3), np.float32), np.zeros(2, np.int64)
    with pytest.raises(ValueError, match="dlogits is a read-only array"):
        gc._C.cpu.softmax_ce(logits, targets, np.zeros((), np.float32), np.frombuffer(bytes(24), np.float32))
    rows, row_stats = np.ones((2, 4), np.float32), np.ones((2, 1), np.float32)
    ro_rows = np.frombuffer(bytes(32), dtype=np.float32).reshape(2, 4)
    ro_stats = np.frombuffer(bytes(8), dtype=np.float32).reshape(2, 1)
    kernels = gc._C.cpu
    for call, name in [
        (lambda: kernels.layernorm_fwd(rows, ro_rows, row_stats.copy(), 1e-5), "out"),
        (lambda: kernels.layernorm_fwd(rows, rows.copy(), ro_stats, 1e-5), "rstd"),
        (lambda: kernels.layernorm_bwd(rows, rows, row_stats, ro_rows), "dx"),
        (lambda: kernels.log_softmax_fwd(rows, ro_rows), "out"),
        (lambda: kernels.log_softmax_bwd(rows, rows, ro_rows), "dx"),
        (lambda: kernels.dropout_mask(ro, 0.5, 1, 0), "out"),
        (lambda: kernels.fill(ro, 1.0), "out"),
    ]:
        with pytest.raises(ValueError, match=f"{name} is a read-only array"):
            call()


@pytest.mark.parametrize(
    "make", [lambda ps: gc.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: gc.optim.Adam(ps)]
)
def test_optimizer_refuses_read_only_parameter_before_touching_any(tmp_path, make):
    path = tmp_path / "w.npy"
    np.save(path, np.ones(3, np.float32))
    good = gc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    bad = gc.from_numpy(np.load(path, mmap_mode="r")).requires_grad_()
    for p in (good, bad):
        p.grad = gc.ones(3)
    opt = make([good, bad])
    with pytest.raises(ValueError, match="optimizer parameter is a read-only array"):
        opt.step()
    assert good.tolist() == [1.0, 2.0, 3.0]  # nothing was written


# ---------------------------------------------------------------- basic-index assignment


@pytest.mark.parametrize(
    "index,value",
    [
        (0, 5.0),
        (1, [1.0, 2.0, 3.0, 4.0]),
        ((slice(None), 2), [9.0, 8.0, 7.0]),
        ((Ellipsis, None, 1), 6.0),
        ((slice(0, 3, 2), slice(1, None)), [[1.0, 2.0, 3.0]]),
        ((-1, -1), 42.0),
        (Ellipsis, [1.0, 2.0, 3.0, 4.0]),
    ],
)
def test_setitem_basic_indices_like_torch(device, index, value):
    base = np.arange(12.0).reshape(3, 4)
    x, ref = g(base, device), tt(base)
    x[index] = value if np.isscalar(value) else g(value, device)
    ref[index] = value if np.isscalar(value) else tt(value)
    assert_close(x, ref.numpy())
    assert x._version == 1


def test_setitem_autograd_like_torch(device):
    base = np.arange(12.0).reshape(3, 4) / 3
    vals = [[1.0, -2.0, 0.5]]
    x, v = g(base, device, True), g(vals, device, True)
    xt, vt = tt(base, True), tt(vals, True)
    weight = np.arange(12.0).reshape(3, 4) + 1
    for a, b, w in ((x, v, g(weight, device)), (xt, vt, tt(weight))):
        y = a * 2
        y[1:, 1:] = b * b  # (1, 3) broadcast into the (2, 3) corner
        y[0] = 1.0
        (y * w).sum().backward()
    assert_close(x.grad, xt.grad.numpy(), name="x.grad")
    assert_close(v.grad, vt.grad.numpy(), name="v.grad")


def test_setitem_value_requiring_grad_into_a_plain_buffer(device):
    w = g([1.0, 2.0], device, True)
    buf = gc.zeros(2, 3, device=device, **F64)
    buf[:, 0] = w
    assert buf.requires_grad
    (buf * buf).sum().backward()
    assert w.grad.cpu().tolist() == [2.0, 4.0]


def test_setitem_advanced_index_writes_and_bad_index_is_a_clear_type_error():
    # Integer-array / mask assignment arrived with issue 13 (tests/test_indexing.py compares it with torch).
    x = gc.zeros(3)
    x[gc.tensor([0, 1])] = 1.0
    x[[2]] = 2.0
    assert x.tolist() == [1.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="indices must be"):
        x["a"] = 1.0


# ---------------------------------------------------------------- the seeds' hand-written SGD


def _seed_2_5_1(steps, update):
    gc.manual_seed(0)
    rng = np.random.default_rng(0)
    xs = rng.uniform(-1, 1, (200, 2)).astype(np.float32)
    ys = ((xs**2).sum(1, keepdims=True) < 0.5).astype(np.float32)
    model = nn.Sequential(nn.Linear(2, 5), nn.Sigmoid(), nn.Linear(5, 1), nn.Sigmoid())
    params = list(model.parameters())
    x, y = gc.tensor(xs), gc.tensor(ys)
    losses = []
    for _ in range(steps):
        loss = nn.MSELoss()(model(x), y)
        for p in params:
            p.grad = None
        loss.backward()
        update(params)
        losses.append(loss.item())
    return params, losses


def test_hand_written_in_place_sgd_learns_the_seed_2_5_1_net():
    bufs = {}

    def sgd_momentum(params):  # the seed's SGD(lr=2, momentum=0.9), written by hand in place
        with gc.no_grad():
            for p in params:
                if id(p) not in bufs:
                    bufs[id(p)] = p.grad.clone()
                else:
                    bufs[id(p)].mul_(0.9).add_(p.grad)
                p -= 2.0 * bufs[id(p)]

    params, losses = _seed_2_5_1(600, sgd_momentum)
    assert losses[-1] < 0.5 * losses[0]  # it learns (with rebinding it never changed)
    opt_holder = []

    def fused(ps):
        if not opt_holder:
            opt_holder.append(gc.optim.SGD(ps, lr=2.0, momentum=0.9))
        opt_holder[0].step()

    bufs.clear()
    by_hand, _ = _seed_2_5_1(20, sgd_momentum)
    fused_params, _ = _seed_2_5_1(20, fused)
    for a, b in zip(by_hand, fused_params):
        assert_close(a, b.numpy(), atol=1e-5)


def test_in_place_across_float_dtypes_keeps_gradient_dtypes(device):
    x = gc.tensor([1.0, 2.0], device=device, requires_grad=True)  # float32
    w = gc.tensor([3.0, 4.0], device=device, dtype=gc.float64, requires_grad=True)
    y = x * 1
    y.copy_(w * 2)
    y += w
    (y * y).sum().backward()
    assert y.dtype is gc.float32 and x.grad.dtype is gc.float32 and w.grad.dtype is gc.float64
    assert x.grad.cpu().tolist() == [0.0, 0.0]  # as torch: overwritten, zero gradient
    assert w.grad.cpu().tolist() == [54.0, 72.0]  # y = 3w, d(y^2)/dw = 18w


def _mixed_in_place(x, v):
    y = x * x
    y[0, 1:] = v * v  # setitem of a differentiable value
    y[1] *= v.sum()  # in place on a view
    y.clamp_(-3.0, 3.0)
    y -= x.exp()
    return y


def test_in_place_chains_pass_gradcheck_and_double_backward():
    x = gc.tensor([[0.3, -1.2, 0.7], [1.1, 0.4, -0.6]], dtype=gc.float64, requires_grad=True)
    v = gc.tensor([0.9, -0.5], dtype=gc.float64, requires_grad=True)
    assert gc.testing.gradcheck(_mixed_in_place, [x, v])
    xt = torch.tensor(x.numpy(), requires_grad=True)
    vt = torch.tensor(v.numpy(), requires_grad=True)
    for a, b, lib in ((x, v, gc), (xt, vt, torch)):
        (ga,) = lib.autograd.grad(_mixed_in_place(a, b).sum(), a, create_graph=True)
        (gb,) = lib.autograd.grad((ga * ga).sum(), b)
        if lib is gc:
            first, second = ga, gb
    assert_close(first, ga.detach().numpy())
    assert_close(second, gb.numpy())


def test_in_place_with_an_operand_aliasing_one_element(device):
    a = gc.tensor([2.0, 3.0, 4.0], device=device)
    a.mul_(a[0])  # the 0-d operand is read before a[0] is overwritten
    assert a.cpu().tolist() == [4.0, 6.0, 8.0]


@settings(max_examples=40)
@given(st.data(), broadcastable_shapes(), st.sampled_from(["add_", "sub_", "mul_", "div_"]), st.booleans())
def test_property_in_place_binary_matches_numpy(data, shapes, op, transposed):
    """Any broadcastable operand, a non-contiguous self: the write equals NumPy's out-of-place result,
    and with a graph the gradients equal those of the out-of-place op."""
    out_shape = np.broadcast_shapes(*shapes)
    a = maybe_transposed(data.draw(arrays(out_shape, away_from_zero=0.5)), transposed)
    b = data.draw(arrays(shapes[1], away_from_zero=0.5))
    ref = {"add_": np.add, "sub_": np.subtract, "mul_": np.multiply, "div_": np.divide}[op](a, b)
    x = gc.from_numpy(maybe_transposed(a.copy(), transposed))  # a non-contiguous self when transposed
    getattr(x, op)(gc.from_numpy(b))
    assert_close(x, ref)
    xa, xb = (gc.tensor(v, dtype=gc.float64, requires_grad=True) for v in (a, b))
    y = xa * 1
    getattr(y, op)(xb)
    (y * y).sum().backward()
    ya, yb = (gc.tensor(v, dtype=gc.float64, requires_grad=True) for v in (a, b))
    z = getattr(ya * 1, op.rstrip("_").replace("div", "truediv").join(["__", "__"]))(yb)
    (z * z).sum().backward()
    assert_close(xa.grad, ya.grad.numpy())
    assert_close(xb.grad, yb.grad.numpy())


def test_may_overlap_on_the_cuda_backend_uses_byte_ranges():
    from types import SimpleNamespace

    from gradcore.cuda_backend import CUDABackend

    def arr(ptr, shape, strides):  # the attributes of _C.cuda.Array that the test reads
        return SimpleNamespace(data_ptr=ptr, shape=shape, strides=strides, dtype=np.dtype(np.float32))

    base = 4096
    a_tail, a_head = arr(base + 4, (9,), (1,)), arr(base, (9,), (1,))  # a[1:] and a[:-1] of 10 floats
    assert CUDABackend.may_overlap(a_tail, a_head)
    rev = arr(base + 36, (10,), (-1,))  # a[::-1]
    assert CUDABackend.may_overlap(arr(base, (10,), (1,)), rev)
    assert not CUDABackend.may_overlap(arr(base, (5,), (1,)), arr(base + 20, (5,), (1,)))  # halves
    assert not CUDABackend.may_overlap(arr(base, (0,), (1,)), a_head)  # empty


def test_in_place_on_zero_size_and_0d_tensors(device):
    z = gc.zeros(0, 3, device=device)
    v0 = z._version  # gc.zeros fills through fill_ (1 here; torch starts at 0)
    z.zero_()
    z += 1
    z[:, 1] = 5.0
    assert z.shape == (0, 3) and z._version == v0 + 3
    s = gc.tensor(3.0, device=device)
    s.fill_(2)
    s[()] = 7.0
    s += 1
    assert s.item() == 8.0 and s._version == 3
    x = gc.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 1
    y[1:1] = 5.0  # an empty slice: nothing written, the gradient is unchanged
    y.sum().backward()
    assert y.cpu().tolist() == [1.0, 2.0] and x.grad.cpu().tolist() == [1.0, 1.0]
