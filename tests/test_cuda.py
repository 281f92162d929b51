"""CUDA-only behaviour: storage, caching allocator, zero-copy exchange, kernel variants, device
agreement with the CPU twin, and errors that leave the process usable. Runs on a GPU or the emulated
device (GRADCORE_EMULATE_CUDA=1); the pure-Python view arithmetic is checked against NumPy everywhere."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcore as gc
from gradcore.cuda_backend import basic_index
from gradcore.testing import assert_close, shapes

pytestmark = pytest.mark.cuda  # selected by scripts/gpu_check.sh (-m cuda) for the sanitizer runs
needs_gpu = pytest.mark.skipif(
    not gc.cuda.is_available(), reason="no CUDA device on this machine (GRADCORE_EMULATE_CUDA=1 emulates one)"
)
# Foreign libraries read device memory: only a real GPU will do (the emulator's pointers are host ones).
needs_real_gpu = pytest.mark.skipif(
    not gc.cuda.is_available() or gc.cuda.EMULATED, reason="needs a real CUDA GPU, not the emulator"
)


@st.composite
def index_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3, max_side=5))
    parts = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "none", "full"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            parts.append(
                slice(
                    draw(st.integers(-6, 6)), draw(st.integers(-6, 6)), draw(st.sampled_from([1, 2, -1, 3]))
                )
            )
        elif kind == "none":
            parts += [None, slice(None)]
        else:
            parts.append(slice(None))
    if draw(st.booleans()) and parts:
        parts[0] = Ellipsis
    return shape, tuple(parts)


@given(index_case())
def test_basic_index_matches_numpy(case):
    shape, index = case
    base = np.arange(int(np.prod(shape))).reshape(shape)
    expected = base[index]
    out_shape, strides, offset = basic_index(shape, tuple(s // 8 for s in base.strides), 0, index)
    assert out_shape == expected.shape
    flat = base.reshape(-1)
    if expected.size:
        got = np.lib.stride_tricks.as_strided(flat[offset:], out_shape, [s * 8 for s in strides])
        assert (got == expected).all()


def test_cuda_reports_consistently():
    assert gc.cuda.is_available() in (True, False)
    if not gc.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            gc.cuda.synchronize()


@needs_gpu
def test_round_trip_and_views():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = gc.tensor(a, device="cuda")
    assert t.device == "cuda" and t.cpu().numpy().tolist() == a.tolist()
    assert_close(t.permute(2, 0, 1).cpu(), a.transpose(2, 0, 1))
    assert_close(t[1, :, ::2].cpu(), a[1, :, ::2])
    assert_close(t.T.contiguous().cpu(), a.T)


@needs_gpu
def test_allocator_reuses_blocks_after_warmup():
    x = gc.randn(256, 256, device="cuda")
    for _ in range(3):
        (x @ x).relu().sum()
    gc.cuda.synchronize()
    before = gc.cuda.memory_stats()["num_mallocs"]
    for _ in range(20):
        (x @ x).relu().sum()
    gc.cuda.synchronize()
    assert gc.cuda.memory_stats()["num_mallocs"] == before
    gc.cuda.empty_cache()
    assert gc.cuda.memory_stats()["cached_bytes"] == 0


@needs_gpu
@pytest.mark.parametrize("variant", [0, 1])
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 33, 5), (33, 1000, 7), (64, 784, 256), (130, 17, 70)])
def test_matmul_variants_match_cpu(variant, m, k, n):
    native = gc.cuda.native()
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(m, k)).astype(np.float32), rng.normal(size=(k, n)).astype(np.float32)
    old = native.matmul_variant()
    native.set_matmul_variant(variant)
    try:
        got = (gc.tensor(a, device="cuda") @ gc.tensor(b.T.copy(), device="cuda").T).cpu()
    finally:
        native.set_matmul_variant(old)
    assert_close(got, (gc.tensor(a) @ gc.tensor(b)).numpy(), atol=1e-4 * np.sqrt(k), rtol=1e-4)


@needs_gpu
def test_mlp_gradients_on_cuda_match_cpu():
    # Gradients, not parameters after Adam steps: Adam divides by sqrt(v) + eps, so where |g| is near
    # eps a 1e-9 difference between the devices' summation orders moves a weight by up to lr.
    # float32 GEMMs with K <= 784 differ by about sqrt(K) * 6e-8 relative (~2e-6): rtol 1e-4 is 50x that.
    from gradcore import nn

    gc.manual_seed(0)
    cpu_net = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    gpu_net = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    gpu_net.load_state_dict(cpu_net.state_dict())
    gpu_net.to("cuda")
    x = np.random.default_rng(0).normal(size=(64, 784)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 10, 64)
    losses = []
    for net, dev in ((cpu_net, "cpu"), (gpu_net, "cuda")):
        loss = gc.nn.functional.cross_entropy(net(gc.tensor(x, device=dev)), gc.tensor(y, device=dev))
        loss.backward()
        losses.append(loss.item())
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    for (name, p), q in zip(cpu_net.named_parameters(), gpu_net.parameters()):
        assert q.grad.device == "cuda"
        scale = float(np.abs(p.grad.numpy()).max())
        assert_close(q.grad.cpu(), p.grad.numpy(), atol=1e-5 * scale, rtol=1e-4, name=f"grad of {name}")


@needs_gpu
def test_mixing_devices_is_an_error():
    with pytest.raises(RuntimeError, match="same device"):
        gc.ones(2) + gc.ones(2, device="cuda")


@needs_gpu
def test_target_out_of_range_on_cuda_is_recoverable():
    # Raised by cross_entropy's own target check, or (kernel level) by the device-side flag at the next
    # sync point; either way the process stays usable and the error is cleared once reported.
    logits = gc.zeros(4, 3, device="cuda")
    with pytest.raises(IndexError, match="target 7 at row 2"):
        gc.nn.functional.cross_entropy(logits, gc.tensor([0, 1, 7, 2], device="cuda"))
        gc.cuda.synchronize()
    assert gc.nn.functional.cross_entropy(
        logits, gc.tensor([0, 1, 2, 2], device="cuda")
    ).item() == pytest.approx(np.log(3))
    with pytest.raises(IndexError, match="target -1 at row 1"):
        gc.nn.functional.cross_entropy(logits, gc.tensor([0, -1, 2, 2], device="cuda"))
        gc.ones(2, device="cuda").cpu()  # any device->host copy is a sync point
    gc.cuda.synchronize()  # cleared


def test_device_side_target_errors_wait_for_a_sync_point():
    native = gc.cuda.native() if gc.cuda.is_available() else None
    if native is None or not hasattr(native, "raise_pending_errors"):
        pytest.skip("needs a CUDA binding with device-side error reporting")
    logits = native.Array.zeros([4, 3], np.dtype(np.float32))
    targets = native.Array.from_numpy(np.array([0, 1, 7, 2]))
    loss, dlogits = (
        native.Array.empty([], np.dtype(np.float32)),
        native.Array.empty([4, 3], np.dtype(np.float32)),
    )
    native.softmax_ce(logits, targets, loss, dlogits)  # the kernel flags it on the device: no raise here
    with pytest.raises(IndexError, match=r"target 7 at row 2 is out of range \[0, 3\)"):
        loss.numpy()
    native.synchronize()  # reported once, then cleared


@needs_gpu
def test_sync_debug_raises_at_the_launch():
    gc.cuda.set_sync_debug(True)
    try:
        assert gc.cuda.sync_debug()
        with pytest.raises(IndexError, match="target 5 at row 0"):
            gc.nn.functional.cross_entropy(gc.zeros(2, 3, device="cuda"), gc.tensor([5, 0], device="cuda"))
    finally:
        gc.cuda.set_sync_debug(False)
    assert not gc.cuda.sync_debug()
    gc.cuda.synchronize()


@needs_gpu
def test_out_of_memory_is_a_python_error():
    with pytest.raises(MemoryError, match="out of memory"):
        gc.zeros(1 << 42, device="cuda")
    assert (gc.ones(3, device="cuda") * 2).cpu().tolist() == [2.0, 2.0, 2.0]


@needs_real_gpu
def test_cupy_sees_the_same_memory():
    cp = pytest.importorskip("cupy")
    t = gc.zeros(4, device="cuda")
    view = cp.asarray(t)  # the tensor's own __cuda_array_interface__: no host round trip
    view[1] = 5.0
    cp.cuda.runtime.deviceSynchronize()
    assert t.cpu().tolist() == [0.0, 5.0, 0.0, 0.0]
    src = cp.arange(6, dtype=cp.float32)
    back = gc.from_dlpack(src)
    src[0] = 42.0
    cp.cuda.runtime.deviceSynchronize()
    assert back.cpu().tolist()[0] == 42.0


@needs_real_gpu
def test_torch_dlpack_aliasing():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("the installed PyTorch has no CUDA")
    t = gc.ones(3, device="cuda")
    tt = torch.from_dlpack(t)
    tt[0] = 9.0
    torch.cuda.synchronize()
    assert t.cpu().tolist() == [9.0, 1.0, 1.0]
    src = torch.zeros(2, 2, device="cuda")
    g = gc.from_dlpack(src)
    src[1, 1] = 3.0
    torch.cuda.synchronize()
    assert g.cpu().tolist() == [[0.0, 0.0], [0.0, 3.0]]


@needs_gpu
def test_training_and_benchmark_entry_points_run_on_cuda(tmp_path):
    # Both died on the first scalar loss while 0-d tensors came back from the device as shape (1,).
    train = subprocess.run(
        [sys.executable, "-m", "gradcore", "train", "--device", "cuda", "--epochs", "1", "--hidden", "32"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert train.returncode == 0 and "final test accuracy" in train.stdout, train.stdout + train.stderr
    bench = subprocess.run(
        [
            sys.executable,
            "benchmarks/run.py",
            "--device",
            "cuda",
            "--quick",
            "--only",
            "softmax_ce,mlp",
            "--json",
            str(tmp_path / "cuda.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(pathlib.Path(__file__).resolve().parent.parent),
    )
    assert bench.returncode == 0, bench.stdout + bench.stderr


@pytest.mark.skipif(not gc.cuda.EMULATED, reason="counts sync points through the emulated device")
def test_a_training_step_never_waits_for_the_device():
    # Stream-ordered work: no op, backward or optimizer step copies to the host or synchronizes, the
    # cross-entropy included (its fused kernel checks the targets and applies ignore_index on the device).
    from gradcore import nn

    native = gc.cuda.native()
    net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10)).to("cuda")
    rng = np.random.default_rng(0)
    x = gc.tensor(rng.random((16, 64), dtype=np.float32), device="cuda")
    y = gc.tensor(rng.integers(0, 10, 16), device="cuda")
    onehot = gc.tensor(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)], device="cuda")
    y_ignored = gc.tensor(np.where(rng.random(16) < 0.25, -100, rng.integers(0, 10, 16)), device="cuda")
    losses = [
        (nn.MSELoss(), onehot),
        (nn.BCEWithLogitsLoss(), onehot),
        (nn.CrossEntropyLoss(), y),
        (nn.CrossEntropyLoss(), y.to(gc.int32)),
        (nn.CrossEntropyLoss(reduction="sum"), y_ignored),
        (nn.CrossEntropyLoss(ignore_index=3), y),
    ]
    for opt in (
        gc.optim.Adam(net.parameters(), lr=1e-3),
        gc.optim.SGD(net.parameters(), lr=0.1, momentum=0.9),
    ):
        for loss_fn, target in losses:
            before = native.sync_points()
            loss = loss_fn(net(x), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            assert native.sync_points() == before, type(loss_fn).__name__
    before = native.sync_points()
    loss.item()
    assert native.sync_points() == before + 1
