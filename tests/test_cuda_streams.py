"""Streams, events and synchronization through gradcore.cuda, and the binding contract they rest on
(handles, bounds-checked views, overflow-checked sizes, memory_stats keys, the agreed names)."""

import threading

import numpy as np
import pytest

import gradcore as gc

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not gc.cuda.is_available(),
        reason="no CUDA device on this machine (GRADCORE_EMULATE_CUDA=1 emulates one)",
    ),
]

CONTRACT = """Array device_count synchronize memory_stats empty_cache set_matmul_variant matmul_variant
OutOfMemoryError stream_create stream_destroy stream_synchronize stream_query stream_wait_event current_stream
set_current_stream event_create event_destroy event_record event_synchronize event_query event_elapsed_time
raise_pending_errors set_sync_debug sync_debug unary_relu binary_add cast sum max argmax matmul softmax_ce
adam_step sgd_step""".split()


def test_the_binding_has_every_agreed_name():
    native = gc.cuda.native()
    assert [n for n in CONTRACT if not hasattr(native, n)] == []
    assert issubclass(native.OutOfMemoryError, MemoryError)
    for name in ("empty", "zeros", "from_numpy", "from_dlpack", "as_strided", "numpy", "is_contiguous"):
        assert hasattr(native.Array, name)


def test_device_queries():
    assert gc.cuda.device_count() >= 1
    assert isinstance(gc.cuda.get_device_name(), str) and gc.cuda.get_device_name()
    with pytest.raises(ValueError, match="cuda:0 only"):
        gc.cuda.get_device_name(1)
    assert set(gc.cuda.memory_stats()) >= {
        "allocated_bytes",
        "cached_bytes",
        "peak_allocated_bytes",
        "num_mallocs",
        "num_frees",
        "cache_hits",
    }


def test_memory_helpers_follow_the_allocator():
    gc.cuda.empty_cache()
    base = gc.cuda.memory_allocated()
    t = gc.zeros(1 << 18, device="cuda")  # 1 MiB
    assert gc.cuda.memory_allocated() >= base + (1 << 20)
    assert gc.cuda.max_memory_allocated() >= gc.cuda.memory_allocated()
    del t
    assert gc.cuda.memory_allocated() == base
    assert gc.cuda.memory_reserved() >= base + (1 << 20)  # cached, not returned
    gc.cuda.empty_cache()
    assert gc.cuda.memory_reserved() == base and gc.cuda.current_device() == 0


def test_work_goes_to_the_current_stream():
    assert gc.cuda.current_stream() == gc.cuda.default_stream()
    assert gc.cuda.default_stream().cuda_stream == 0
    s = gc.cuda.Stream()
    assert s.cuda_stream not in (0, 1, 2)
    x = gc.tensor(np.arange(4.0, dtype=np.float32), device="cuda")
    with gc.cuda.stream(s):
        assert gc.cuda.current_stream() is s and gc.cuda.native().current_stream() == s.cuda_stream
        y = (x * 3).exp().log()
        inner = gc.cuda.Stream()
        with inner:  # a Stream is a context manager too
            assert gc.cuda.current_stream() == inner
        assert gc.cuda.current_stream() is s
    assert gc.cuda.current_stream().cuda_stream == 0
    s.synchronize()
    assert s.query()
    np.testing.assert_allclose(y.cpu().numpy(), np.arange(4.0) * 3, rtol=1e-5)
    with gc.cuda.stream(None):
        assert gc.cuda.current_stream().cuda_stream == 0


def test_the_current_stream_is_per_thread():
    s = gc.cuda.Stream()
    seen = []
    with gc.cuda.stream(s):
        worker = threading.Thread(target=lambda: seen.append(gc.cuda.current_stream().cuda_stream))
        worker.start()
        worker.join()
    assert seen == [0]


def test_the_stream_context_restores_after_an_error():
    s = gc.cuda.Stream()
    with pytest.raises(ZeroDivisionError), gc.cuda.stream(s):
        1 / 0  # noqa: B018
    assert gc.cuda.current_stream().cuda_stream == 0
    with pytest.raises(TypeError, match="Stream"):
        gc.cuda.set_stream(s.cuda_stream)


def test_events_order_and_time_work():
    s1, s2 = gc.cuda.Stream(), gc.cuda.Stream()
    start, end = gc.cuda.Event(enable_timing=True), gc.cuda.Event(enable_timing=True)
    x = gc.ones(1 << 16, device="cuda")
    with gc.cuda.stream(s1):
        start.record()
        y = (x * 2).exp()
        end.record()
    done = s1.record_event()
    s2.wait_event(done)
    s2.wait_stream(s1)
    done.wait(s2)
    with gc.cuda.stream(s2):
        z = y + 1  # ordered after s1's work by the waits above
    end.synchronize()
    assert end.query() and done.query()
    assert start.elapsed_time(end) >= 0.0
    s2.synchronize()
    np.testing.assert_allclose(z[:3].cpu().numpy(), np.exp(2.0) + 1, rtol=1e-5)
    plain = gc.cuda.Event()
    plain.record()
    plain.synchronize()
    with pytest.raises(RuntimeError):
        plain.elapsed_time(end)  # timing needs enable_timing=True on both


def test_synchronize_raises_pending_device_errors():
    native = gc.cuda.native()
    f32 = np.dtype(np.float32)
    loss, dlogits = native.Array.empty([], f32), native.Array.empty([3, 4], f32)
    targets = native.Array.from_numpy(np.array([0, 4, 1]))
    native.softmax_ce(native.Array.zeros([3, 4], f32), targets, loss, dlogits)  # flagged on the device
    with pytest.raises(IndexError, match="target 4 at row 1"):
        gc.cuda.synchronize()
    gc.cuda.synchronize()


def test_views_outside_their_block_raise():
    a = gc.cuda.native().Array.zeros([4, 5], np.dtype(np.float32))
    assert a.as_strided([5], [4], 0).shape == (5,)  # the last column: element 16 of 20
    assert a.as_strided([4], [-5], 15).numpy().tolist() == [0.0] * 4  # negative strides within it
    for shape, strides, offset in (([3], [1], -1), ([5], [5], 0), ([2, 2], [10, 10], 0), ([4], [-5], 10)):
        with pytest.raises(ValueError):
            a.as_strided(shape, strides, offset)


@pytest.mark.parametrize("shape", [[1 << 62], [1 << 31, 1 << 31, 4], [3, -1]])
def test_sizes_are_overflow_checked(shape):
    before = gc.cuda.memory_stats()["num_mallocs"]
    for make in (gc.cuda.native().Array.empty, gc.cuda.native().Array.zeros):
        with pytest.raises(ValueError, match=r"shape|dimension"):
            make(shape, np.dtype(np.float32))
    assert gc.cuda.memory_stats()["num_mallocs"] == before
