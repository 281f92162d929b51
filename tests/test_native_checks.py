"""The native binding's input checks (both devices) and the _C.cuda contract of issue 11: sizes, views,
DLPack, streams/events, device-side error reporting. The cuda cases run on a GPU or the emulator."""

import ctypes

import numpy as np
import pytest

import gradcore as gc
from gradcore import backend


def _arr(device, values):
    return backend.get(device).from_numpy(np.ascontiguousarray(values))


def _np(device, data):
    return np.array(backend.get(device).to_numpy(data))


def _adam(device, ps, gs, ms, vs):
    backend.kernel(device, "adam_step")(ps, gs, ms, vs, 0.1, 0.9, 0.999, 1e-8, 0.0, 1, False)


@pytest.mark.parametrize("bad", ["int_param", "v_dtype", "v_noncontig", "grad_size", "m_dtype"])
def test_optimizer_rejects_bad_lists_before_touching_any(device, bad):
    f32 = np.float32
    p = [np.ones(4, f32), np.ones(4, f32)]
    g = [np.ones(4, f32), np.ones(4, f32)]
    m = [np.zeros(4, f32), np.zeros(4, f32)]
    v = [np.zeros(4, f32), np.zeros(4, f32)]
    if bad == "int_param":
        p[1], g[1], m[1], v[1] = (np.ones(4, np.int32) for _ in range(4))
    elif bad == "v_dtype":
        v[1] = np.zeros(4, np.float64)
    elif bad == "grad_size":
        g[1] = np.ones(5, f32)
    elif bad == "m_dtype":
        m[1] = np.zeros(4, np.float64)
    ps, gs, ms = ([_arr(device, a) for a in lst] for lst in (p, g, m))
    vs = [_arr(device, a) for a in v]
    if bad == "v_noncontig":
        vs[1] = backend.get(device).permute(_arr(device, np.zeros((2, 2), f32)), (1, 0))
    with pytest.raises(ValueError, match=r"optimizer: .*\(parameter 1\)"):
        _adam(device, ps, gs, ms, vs)
    assert np.array_equal(_np(device, ps[0]), np.ones(4, f32)), "parameter 0 was updated before the check"


def test_cpu_sizes_are_checked():
    with pytest.raises(ValueError, match=r"shape \(4611686018427387904,\).*too large"):
        gc.zeros(1 << 62)
    with pytest.raises(ValueError, match="too large"):
        backend.get("cpu").empty((1 << 40, 1 << 40), np.dtype(np.float32))


# ---- The CUDA binding contract (real GPU or GRADCORE_EMULATE_CUDA=1).


@pytest.fixture
def C():
    return backend.get("cuda").kernels


def _capsule_name(cap):
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    return get_name(cap).decode()


@pytest.mark.cuda
@pytest.mark.skipif(not gc.cuda.is_available(), reason="no CUDA device")
class TestCudaContract:
    def test_sizes_overflow_and_negative_dims(self, C):
        with pytest.raises(ValueError, match="too large"):
            C.Array.zeros([1 << 62], np.dtype(np.float32))
        with pytest.raises(ValueError, match="too large"):
            C.Array.empty([1 << 31, 1 << 31, 4], np.dtype(np.float64))
        with pytest.raises(ValueError, match="negative"):
            C.Array.empty([3, -1], np.dtype(np.float32))

    def test_as_strided_bounds(self, C):
        a = C.Array.zeros([10], np.dtype(np.float32))
        assert a.as_strided([5], [2], 0).shape == (5,)
        assert a.as_strided([2, 5], [5, 1], 0).is_contiguous()
        assert a.as_strided([0], [1], 10).shape == (0,)
        for shape, strides, offset in [([10], [1], 1), ([6], [2], 0), ([1], [1], -1), ([3], [-1], 1)]:
            with pytest.raises(ValueError, match="as_strided"):
                a.as_strided(shape, strides, offset)

    def test_dlpack_protocol(self, C):
        a = C.Array.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 4))
        assert _capsule_name(a.__dlpack__()) == "dltensor"
        assert _capsule_name(a.__dlpack__(max_version=(1, 0))) == "dltensor_versioned"
        assert _capsule_name(a.__dlpack__(max_version=(0, 8))) == "dltensor"
        with pytest.raises(BufferError):
            a.__dlpack__(copy=True)
        with pytest.raises(BufferError):
            a.__dlpack__(dl_device=(1, 0))
        a.__dlpack__(copy=False, dl_device=a.__dlpack_device__())
        s = C.stream_create()
        try:
            a.__dlpack__(stream=s)  # orders our work before the consumer's stream
            C.stream_synchronize(s)
        finally:
            C.stream_destroy(s)
        # Round trips through both capsule kinds, including a view with a byte offset.
        view = a.as_strided([2, 2], [4, 1], 5)
        for arr, ref in [(a, np.arange(12).reshape(3, 4)), (view, np.array([[5, 6], [9, 10]]))]:
            back = C.Array.from_dlpack(arr)
            assert np.array_equal(back.numpy(), ref)
            assert np.array_equal(C.Array.from_dlpack(arr.__dlpack__()).numpy(), ref)
        zero_d = C.Array.from_numpy(np.array(2.5))
        assert C.Array.from_dlpack(zero_d).numpy().shape == ()

    def test_cuda_array_interface_reports_the_current_stream(self, C):
        a = C.Array.zeros([3], np.dtype(np.float32))
        assert a.__cuda_array_interface__["version"] == 3
        assert a.__cuda_array_interface__["stream"] == 1  # the legacy default stream
        s = C.stream_create()
        try:
            C.set_current_stream(s)
            assert a.__cuda_array_interface__["stream"] == s
        finally:
            C.set_current_stream(0)
            C.stream_destroy(s)

    def test_streams_and_events(self, C):
        assert C.current_stream() == 0
        s = C.stream_create()
        start, end = C.event_create(True), C.event_create(True)
        try:
            C.set_current_stream(s)
            assert C.current_stream() == s
            C.event_record(start, s)
            x = C.Array.from_numpy(np.arange(1000, dtype=np.float32))
            y = C.Array.empty([1000], np.dtype(np.float32))
            C.binary_add(x, x, y)
            C.event_record(end, s)
            C.stream_wait_event(0, end)
            C.event_synchronize(end)
            assert C.event_query(end) and C.stream_query(s)
            assert C.event_elapsed_time(start, end) >= 0.0
            assert np.array_equal(y.numpy(), 2 * np.arange(1000, dtype=np.float32))
        finally:
            C.set_current_stream(0)
            C.stream_destroy(s)
            C.event_destroy(start)
            C.event_destroy(end)

    def test_bad_target_reported_at_the_next_sync_point(self, C):
        logits = C.Array.from_numpy(np.zeros((4, 3), np.float32))
        targets = C.Array.from_numpy(np.array([0, 1, 7, 2], np.int64))
        loss = C.Array.empty([], np.dtype(np.float32))
        dlogits = C.Array.empty([4, 3], np.dtype(np.float32))
        C.softmax_ce(logits, targets, loss, dlogits)  # no host sync inside the op: nothing raised yet
        with pytest.raises(IndexError, match=r"target 7 at row 2 is out of range \[0, 3\)"):
            C.synchronize()
        C.synchronize()  # the error was cleared when reported
        C.softmax_ce(logits, targets, loss, dlogits)
        with pytest.raises(IndexError, match="target 7"):
            loss.numpy()
        assert C.sync_debug() in (False, True)
        old = C.sync_debug()
        C.set_sync_debug(True)
        try:
            with pytest.raises(IndexError, match="target 7"):
                C.softmax_ce(logits, targets, loss, dlogits)
        finally:
            C.set_sync_debug(old)
        C.raise_pending_errors()  # nothing left pending

    @pytest.mark.parametrize("variant,rows", [(1, 4_200_000), (0, 1_100_000)])
    def test_matmul_with_more_row_tiles_than_grid_y_allows(self, C, variant, rows):
        # Row tiles used to sit on gridDim.y (limit 65535): 64-row tiles failed past ~4.19M rows, the naive
        # variant's 16-row tiles past ~1.05M ("invalid configuration argument").
        rng = np.random.default_rng(0)
        a = rng.normal(size=(rows, 2)).astype(np.float32)
        b = rng.normal(size=(2, 3)).astype(np.float32)
        out = C.Array.empty([rows, 3], np.dtype(np.float32))
        old = C.matmul_variant()
        C.set_matmul_variant(variant)
        try:
            C.matmul(C.Array.from_numpy(a), C.Array.from_numpy(b), out)
        finally:
            C.set_matmul_variant(old)
        got = out.numpy()
        for r in (0, rows // 2, rows - 1):
            np.testing.assert_allclose(got[r], a[r] @ b, rtol=1e-5, atol=1e-6)

    def test_sync_debug_switched_on_by_the_environment(self):
        import os
        import subprocess
        import sys

        code = "from gradcore import backend; print(backend.get('cuda').kernels.sync_debug())"
        env = dict(os.environ, GRADCORE_CUDA_SYNC="1")
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "True"


def test_fill_takes_the_scalar_as_a_kernel_argument(device):
    be = backend.get(device)
    for dtype, value in [(np.float32, 2.5), (np.float64, -1e300), (np.int32, -7), (np.int64, (1 << 62) + 3)]:
        out = be.empty((2, 3), np.dtype(dtype))
        backend.kernel(device, "fill")(out, value)
        assert np.array_equal(_np(device, out), np.full((2, 3), value, dtype))
    with pytest.raises(OverflowError, match="int32"):
        backend.kernel(device, "fill")(be.empty((), np.dtype(np.int32)), 1 << 40)
    with pytest.raises(ValueError, match="float value for an integer"):
        backend.kernel(device, "fill")(be.empty((), np.dtype(np.int64)), 1.5)
    # Python scalars in arithmetic go through fill: int64 stays exact past 2**53.
    t = gc.tensor([3], dtype=gc.int64, device=device) + (1 << 62)
    assert t.tolist() == [(1 << 62) + 3]
    assert (gc.tensor([1.0, 2.0], device=device) * 2).tolist() == [2.0, 4.0]
