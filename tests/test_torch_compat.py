"""The torch spellings the newcomer probe found missing, against torch (float64): gc.device / Size /
compile / long / float / double, set_grad_enabled as a plain call, dist, cdist, addmm,
repeat_interleave, linalg.vector_norm / matrix_norm / norm, F.softmax(dtype=), and the Tensor methods
unsqueeze_, squeeze_, detach_, scatter_, ndimension."""

import numpy as np
import pytest
import torch

import gradcore as gc
import gradcore.nn.functional as F
from gradcore.testing import assert_close

RNG = np.random.default_rng(41)


def _both(x):
    return gc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _check(fn_gc, fn_torch, *arrays, atol=1e-12, rtol=1e-10):
    gs, ts = zip(*[_both(a) for a in arrays])
    gy, ty = fn_gc(*gs), fn_torch(*ts)
    assert tuple(gy.shape) == tuple(ty.shape)
    assert_close(gy.numpy(), ty.detach().numpy(), atol=atol, rtol=rtol)
    w = RNG.standard_normal(tuple(ty.shape))
    (gy * gc.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for g, t in zip(gs, ts):
        assert_close(g.grad.numpy(), t.grad.numpy(), atol=atol, rtol=rtol)


def test_device_size_compile_and_dtype_aliases():
    d = gc.device("cpu")
    assert d == "cpu" and d.type == "cpu" and d.index is None and repr(d) == repr(torch.device("cpu"))
    assert gc.device("cuda:0").index == 0 and gc.device("cuda", 0).type == "cuda"
    assert gc.zeros(2, device=d).device == d and gc.ones(2).to(d).device == "cpu"
    with pytest.raises(RuntimeError, match="device type"):
        gc.device("tpu")
    assert gc.zeros(2, 3).shape == gc.Size([2, 3]) and gc.Size([2, 3]).numel() == 6
    model = gc.nn.Linear(2, 2)
    assert gc.compile(model) is model and gc.compile()(model) is model
    assert (gc.long, gc.int, gc.float, gc.double) == (gc.int64, gc.int32, gc.float32, gc.float64)
    assert gc.tensor([1, 2], dtype=gc.float).dtype is gc.float32
    assert int(gc.tensor(3)) == 3 and float(gc.tensor(2.5)) == 2.5  # the builtins still work on tensors


def test_set_grad_enabled_as_a_call_a_block_and_a_decorator():
    try:
        gc.set_grad_enabled(False)
        assert not gc.is_grad_enabled() and not (gc.ones(1, requires_grad=True) * 2).requires_grad
    finally:
        gc.set_grad_enabled(True)
    assert gc.is_grad_enabled()
    with gc.set_grad_enabled(False):
        with gc.set_grad_enabled(True):
            assert gc.is_grad_enabled()
        assert not gc.is_grad_enabled()
    assert gc.is_grad_enabled()

    @gc.set_grad_enabled(False)
    def inside():
        return gc.is_grad_enabled()

    assert gc.is_grad_enabled() and inside() is False and gc.is_grad_enabled()


def test_dist_cdist_addmm_match_torch():
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    for p in (1, 2, 3.5):
        _check(lambda x, y, p=p: gc.dist(x, y, p), lambda x, y, p=p: torch.dist(x, y, p), a, b)
    for p in (1.0, 2.0):
        _check(lambda x, y, p=p: gc.cdist(x, y, p), lambda x, y, p=p: torch.cdist(x, y, p),
               RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 4, 3)))
    _check(lambda i, x, y: gc.addmm(i, x, y, beta=0.5, alpha=2.0),
           lambda i, x, y: torch.addmm(i, x, y, beta=0.5, alpha=2.0),
           RNG.standard_normal(2), RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2)))
    with pytest.raises(RuntimeError, match="same number of columns"):
        gc.cdist(gc.zeros(2, 3), gc.zeros(2, 4))


def test_repeat_interleave_matches_torch():
    x = RNG.standard_normal((3, 2))
    _check(lambda t: t.repeat_interleave(2), lambda t: t.repeat_interleave(2), x)
    _check(lambda t: gc.repeat_interleave(t, gc.tensor([1, 0, 3]), dim=0),
           lambda t: torch.repeat_interleave(t, torch.tensor([1, 0, 3]), dim=0), x)
    _check(lambda t: t.repeat_interleave([2, 1], dim=-1),
           lambda t: t.repeat_interleave(torch.tensor([2, 1]), dim=-1), x)
    assert gc.repeat_interleave(gc.tensor([2, 0, 1])).tolist() == torch.repeat_interleave(
        torch.tensor([2, 0, 1])).tolist()
    with pytest.raises(RuntimeError, match="same size"):
        gc.tensor(x).repeat_interleave([1, 2], dim=0)


@pytest.mark.parametrize("call", [
    lambda m, a: m.linalg.vector_norm(a, ord=3, dim=1),
    lambda m, a: m.linalg.vector_norm(a, ord=float("inf")),
    lambda m, a: m.linalg.matrix_norm(a),
    lambda m, a: m.linalg.matrix_norm(a, ord=1, keepdim=True),
    lambda m, a: m.linalg.matrix_norm(a, ord=float("-inf")),
    lambda m, a: m.linalg.norm(a),
    lambda m, a: m.linalg.norm(a[0], ord=1),
    lambda m, a: m.linalg.norm(a, dim=(0, 2)),
    lambda m, a: m.linalg.norm(a, ord="fro", dim=(1, 2)),
])
def test_linalg_norms_match_torch(call):
    _check(lambda t: call(gc, t), lambda t: call(torch, t), RNG.standard_normal((2, 3, 4)))


def test_softmax_dtype_and_tensor_methods():
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    assert F.softmax(gc.tensor(x), dim=1, dtype=gc.float64).dtype is gc.float64
    assert_close(F.log_softmax(gc.tensor(x), 1, dtype=gc.float64).numpy(),
                 torch.nn.functional.log_softmax(torch.tensor(x), 1, dtype=torch.float64).numpy())
    t = gc.ones(2) * 1
    assert t.unsqueeze_(0).shape == (1, 2) and t.squeeze_().shape == (2,) and t.ndimension() == 1
    a, ta = _both(RNG.standard_normal(3))
    y, ty = a * 2, ta * 2
    y.unsqueeze_(1)
    ty.unsqueeze_(1)
    (y * gc.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    (ty * torch.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    assert y.shape == (3, 1) and a.grad.tolist() == ta.grad.tolist()
    with pytest.raises(RuntimeError, match="leaf Variable"):
        gc.ones(2, requires_grad=True).unsqueeze_(0)
    d = (gc.ones(2, requires_grad=True) * 3).detach_()
    assert not d.requires_grad and d.grad_fn is None
    s = gc.zeros(2, 3).scatter_(1, gc.tensor([[0], [2]]), 1.0)
    assert s.tolist() == torch.zeros(2, 3).scatter_(1, torch.tensor([[0], [2]]), 1.0).tolist()
    s.scatter_(1, gc.tensor([[0], [0]]), 2.0, reduce="add")
    assert s.tolist() == [[3.0, 0.0, 0.0], [2.0, 0.0, 1.0]]


def test_backends_flags_and_matmul_precision():
    import gradcore.backends.cudnn as cudnn

    before = (cudnn.benchmark, gc.backends.cuda.matmul.allow_tf32, gc.get_float32_matmul_precision())
    try:
        gc.backends.cudnn.benchmark = True
        gc.backends.cuda.matmul.allow_tf32 = True
        assert cudnn.benchmark is True and gc.backends.mps.is_available() is False
        gc.set_float32_matmul_precision("high")
        assert gc.get_float32_matmul_precision() == "high"
        with pytest.raises(RuntimeError, match="matmul precision"):
            gc.set_float32_matmul_precision("fast")
    finally:
        cudnn.benchmark, gc.backends.cuda.matmul.allow_tf32 = before[:2]
        gc.set_float32_matmul_precision(before[2])


def test_generator_checkpoint_foreach_and_cuda_seeding():
    from gradcore.utils.checkpoint import checkpoint, checkpoint_sequential

    g = gc.Generator().manual_seed(42)
    assert g.initial_seed() == 42
    ds = gc.utils.data.TensorDataset(gc.arange(10))
    split = gc.utils.data.random_split
    a = [s.indices for s in split(ds, [0.7, 0.3], generator=gc.Generator().manual_seed(1))]
    b = [s.indices for s in split(ds, [7, 3], generator=gc.Generator().manual_seed(1))]
    assert a == b and sorted(a[0] + a[1]) == list(range(10))
    loader = gc.utils.data.DataLoader(ds, batch_size=4, shuffle=True, generator=gc.Generator().manual_seed(5))
    again = gc.utils.data.DataLoader(ds, batch_size=4, shuffle=True, generator=gc.Generator().manual_seed(5))
    assert [x.tolist() for (x,) in loader] == [x.tolist() for (x,) in again]
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    checkpoint(lambda t: (t * t).sum(), x, use_reentrant=False).backward()
    assert x.grad.tolist() == [2.0, 4.0]
    seq = gc.nn.Sequential(gc.nn.Linear(2, 3), gc.nn.ReLU(), gc.nn.Linear(3, 1))
    want = seq(gc.ones(4, 2)).detach().numpy()
    assert_close(checkpoint_sequential(seq, 2, gc.ones(4, 2)).detach().numpy(), want)
    lin = gc.nn.Linear(2, 2)
    lin(gc.ones(1, 2)).sum().backward()
    assert float(gc.nn.utils.clip_grad_norm_(lin.parameters(), 1.0, foreach=True)) > 0
    gc.cuda.manual_seed_all(7)
    first = gc.randn(3).tolist()
    gc.manual_seed(7)
    assert gc.randn(3).tolist() == first


def test_factories_draw_from_a_given_generator():
    def draws(seed):
        g = gc.Generator().manual_seed(seed)
        return (gc.randn(3, generator=g).tolist(), gc.rand(2, generator=g).tolist(),
                gc.randint(0, 100, (4,), generator=g).tolist(), gc.randperm(6, generator=g).tolist())

    gc.manual_seed(0)
    first = draws(11)
    gc.manual_seed(1)  # the global generator plays no part
    assert draws(11) == first and draws(12) != first
    assert sorted(first[3]) == list(range(6))


def test_num_threads():
    n = gc.get_num_threads()
    assert n >= 1
    gc.set_num_threads(n)  # the current count: silent
    with pytest.warns(UserWarning, match="GRADCORE_NUM_THREADS"):
        gc.set_num_threads(n + 1)
    assert gc.get_num_threads() == n
    with pytest.raises(RuntimeError, match="positive"):
        gc.set_num_threads(0)
