"""The emulated CUDA device itself (gradcore._cuda_emulator, used directly, so these run everywhere):
poisoned fresh memory, bounds-checked views, the allocator's OOM and retry, kernels found by name,
deferred device errors, stream/event handles, DLPack imports, and parity with the compiled binding."""

import gc as pygc

import numpy as np
import pytest

import gradcore as gc
from gradcore import _C
from gradcore import _cuda_emulator as emu
from gradcore import _dlpack_abi as abi

F32 = np.dtype(np.float32)


@pytest.fixture
def small_device():
    saved = emu.capacity()
    emu.empty_cache()
    emu.set_capacity(emu.memory_stats()["allocated_bytes"] + (8 << 20))
    yield
    emu.set_capacity(saved)
    emu.empty_cache()


def test_fresh_memory_is_poisoned_and_zeros_are_zero():
    assert np.isnan(emu.Array.empty([3, 4], F32).numpy()).all()
    assert np.isnan(emu.Array.empty([5], np.dtype(np.float64)).numpy()).all()
    assert (emu.Array.empty([4], np.dtype(np.int32)).numpy() == np.int32(-0x5A5A5A5B)).all()
    assert (emu.Array.zeros([3, 4], F32).numpy() == 0).all()
    a = emu.Array.from_numpy(np.arange(6, dtype=np.float32))
    del a
    reused = emu.Array.empty([6], F32)  # the cached block comes back poisoned, not with old values
    assert np.isnan(reused.numpy()).all()


def test_zero_d_and_empty_arrays():
    a = emu.Array.from_numpy(np.float32(2.5))
    assert a.shape == () and a.numpy().shape == () and a.numpy() == 2.5
    e = emu.Array.empty([0, 3], F32)
    assert e.numpy().shape == (0, 3) and e.is_contiguous()


def test_views_are_bounds_checked():
    a = emu.Array.from_numpy(np.arange(12, dtype=np.float32))
    v = a.as_strided([3, 2], [4, 2], 1)
    assert v.numpy().tolist() == [[1, 3], [5, 7], [9, 11]]
    assert v.data_ptr == a.data_ptr + 4 and v.offset == 1 and not v.is_contiguous()
    assert a.as_strided([3], [-4], 11).numpy().tolist() == [11, 7, 3]
    with pytest.raises(ValueError, match="outside its memory block of 12 elements"):
        a.as_strided([4], [4], 1)
    with pytest.raises(ValueError, match=r"reaches elements \[-1, -1\]"):
        a.as_strided([1], [1], -1)
    with pytest.raises(ValueError, match="differ in length"):
        a.as_strided([1, 1], [1], 0)


def test_sizes_and_dtypes_are_checked_before_allocating():
    before = emu.memory_stats()["num_mallocs"]
    with pytest.raises(ValueError, match=r"shape \(4611686018427387904,\) of float32 is too large"):
        emu.Array.empty([1 << 62], F32)
    with pytest.raises(ValueError, match="negative dimension"):
        emu.Array.zeros([2, -3], F32)
    with pytest.raises(TypeError, match="unsupported dtype uint8"):
        emu.Array.empty([2], np.dtype(np.uint8))
    assert emu.memory_stats()["num_mallocs"] == before


def test_out_of_memory_and_the_retry_after_emptying_the_cache(small_device):
    with pytest.raises(emu.OutOfMemoryError, match="CUDA out of memory: tried to allocate") as info:
        emu.Array.empty([16 << 20], F32)
    assert isinstance(info.value, MemoryError)
    blocks = [emu.Array.empty([(1 << 20) // 4 - 128], F32) for _ in range(7)]  # 7 of the 8 MiB
    del blocks  # now cached
    stats = emu.memory_stats()
    assert stats["cached_bytes"] >= 7 * ((1 << 20) - 512)
    big = emu.Array.empty([(3 << 20) // 4], F32)  # 4 MiB: fits only once the cache is given back
    after = emu.memory_stats()
    assert after["num_frees"] >= stats["num_frees"] + 7 and after["cached_bytes"] == 0
    del big


def test_allocator_reuses_blocks_and_counts():
    emu.empty_cache()
    a = emu.Array.empty([1000], F32)
    stats = emu.memory_stats()
    del a
    b = emu.Array.empty([900], F32)  # same 4 KiB size class: a cache hit, no new malloc
    after = emu.memory_stats()
    assert after["cache_hits"] == stats["cache_hits"] + 1 and after["num_mallocs"] == stats["num_mallocs"]
    assert set(after) == set(stats)
    del b


def test_every_cpu_kernel_is_there_by_name():
    kernels = emu._kernel_names()
    assert {"unary_relu", "binary_add", "cast", "sum", "max", "argmax", "matmul", "softmax_ce"} <= set(
        kernels
    )
    # each name reaches the wrapped CPU kernel, never a helper of the module that happens to share it
    shadowed = [k for k in kernels if not (getattr(emu, k).__doc__ or "").startswith("Emulated CUDA kernel")]
    assert shadowed == []
    assert "num_threads" not in dir(emu) and "unary_relu" in dir(emu)
    with pytest.raises(AttributeError, match="no attribute 'no_such_kernel'"):
        emu.no_such_kernel  # noqa: B018
    x = emu.Array.from_numpy(np.array([-1.0, 2.0], np.float32))
    out = emu.Array.empty([2], F32)
    emu.unary_relu(x, out)
    assert out.numpy().tolist() == [0.0, 2.0]
    with pytest.raises(TypeError, match="host NumPy array"):
        emu.unary_relu(np.zeros(2, np.float32), out)


def test_bad_targets_are_deferred_to_the_next_sync_point():
    logits = emu.Array.zeros([2, 3], F32)
    targets = emu.Array.from_numpy(np.array([0, 3]))
    loss, dlogits = emu.Array.empty([], F32), emu.Array.empty([2, 3], F32)
    emu.softmax_ce(logits, targets, loss, dlogits)  # no error at the launch
    with pytest.raises(IndexError, match="target 3 at row 1"):
        loss.numpy()
    emu.raise_pending_errors()  # cleared by the copy that reported it
    emu.set_sync_debug(True)
    try:
        with pytest.raises(IndexError, match="raised by kernel softmax_ce"):
            emu.softmax_ce(logits, targets, loss, dlogits)
    finally:
        emu.set_sync_debug(False)
    emu.synchronize()


def test_stream_and_event_handles_are_checked():
    s = emu.stream_create()
    e = emu.event_create(False)
    emu.event_record(e, s)
    emu.stream_wait_event(0, e)
    assert emu.stream_query(s) and emu.event_query(e)
    with pytest.raises(RuntimeError, match="enable_timing"):
        emu.event_elapsed_time(e, e)
    emu.set_current_stream(s)
    emu.stream_destroy(s)  # this thread goes back to the default stream
    assert emu.current_stream() == 0
    with pytest.raises(ValueError, match="default streams cannot be destroyed"):
        emu.stream_destroy(0)
    for call in (lambda: emu.stream_synchronize(s), lambda: emu.set_current_stream(12345)):
        with pytest.raises(RuntimeError, match="InvalidResourceHandle"):
            call()
    emu.event_destroy(e)
    with pytest.raises(RuntimeError, match="InvalidResourceHandle"):
        emu.event_query(e)
    with pytest.raises(ValueError, match="not a live stream"):
        emu.Array.zeros([1], F32).__dlpack__(stream=0xDEAD)


def test_dlpack_round_trip_releases_the_producer():
    pygc.collect()
    exports = len(abi._exports)
    a = emu.Array.from_numpy(np.arange(8, dtype=np.int64))
    b = emu.Array.from_dlpack(a.as_strided([3], [2], 1))
    assert b.numpy().tolist() == [1, 3, 5] and b.data_ptr == a.data_ptr + 8
    assert len(abi._exports) == exports + 1  # held until the importer lets go
    del b
    pygc.collect()
    assert len(abi._exports) == exports
    a.__dlpack__()  # an unconsumed capsule releases its tensor when it dies
    pygc.collect()
    assert len(abi._exports) == exports


def test_imports_only_read_emulated_memory():
    host = np.arange(4, dtype=np.float32)

    class FakeGpuTensor:  # claims kDLCUDA, but points at ordinary host memory
        def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
            return abi.make_capsule(host.ctypes.data, (abi.KDL_CUDA, 0), (4,), (1,), host.dtype, host)

        def __dlpack_device__(self):
            return (abi.KDL_CUDA, 0)

    with pytest.raises(BufferError, match="not emulated device memory"):
        emu.Array.from_dlpack(FakeGpuTensor())
    with pytest.raises(TypeError, match="not a CUDA device"):
        emu.Array.from_dlpack(host)


@pytest.mark.skipif(not _C.cuda_built, reason="gradcore was built without the CUDA binding")
def test_the_emulator_has_every_name_of_the_compiled_binding():
    real = gc.cuda._real_binding
    missing = [n for n in dir(real) if not n.startswith("_") and not hasattr(emu, n)]
    assert missing == []
    array_missing = [n for n in dir(real.Array) if not n.startswith("_") and not hasattr(emu.Array, n)]
    assert array_missing == []


def test_ci_runs_the_readme_command_with_an_emulated_cuda_pass():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    command = re.search(r"\(this is exactly what `\.ci/run` runs\):\n\n```bash\n(.+)\n```", readme).group(1)
    assert command in (root / ".ci" / "run").read_text().splitlines()
    assert command.endswith("&& pytest && GRADCORE_EMULATE_CUDA=1 pytest -m cuda")


def test_imports_take_capsules_and_stay_inside_their_own_elements():
    a = emu.Array.from_numpy(np.arange(10, dtype=np.float32))
    part = emu.Array.from_dlpack(a.as_strided([2, 2], [4, 1], 1).__dlpack__())  # a capsule itself
    assert part.numpy().tolist() == [[1, 2], [5, 6]]
    assert part.as_strided([2], [1], part.offset + 4).numpy().tolist() == [5, 6]
    with pytest.raises(ValueError, match="outside its memory block"):
        part.as_strided([3], [1], part.offset + 4)  # element 7 belongs to the producer, not the import
    read_only = abi.make_capsule(
        a.data_ptr, (abi.KDL_CUDA, 0), (3,), (1,), a.dtype, a, versioned=True, flags=abi.FLAG_READ_ONLY
    )
    with pytest.raises(BufferError, match="read-only"):
        emu.Array.from_dlpack(read_only)
    with pytest.raises(ValueError, match="cuda:3"):
        emu.Array.from_dlpack(abi.make_capsule(a.data_ptr, (abi.KDL_CUDA, 3), (3,), (1,), a.dtype, a))


def test_environment_switches_emulation_and_sync_debug():
    import os
    import subprocess
    import sys

    code = (
        "import gradcore as gc; from gradcore import _C; "
        "print(gc.cuda.is_available(), gc.cuda.EMULATED, _C.cuda is gc.cuda.native(), gc.cuda.sync_debug(), "
        "gc.ones(2, device='cuda').sum().item())"
    )
    env = dict(os.environ, GRADCORE_EMULATE_CUDA="1", GRADCORE_CUDA_SYNC="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "True", "True", "True", "2.0"], out.stderr
