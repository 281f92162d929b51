"""Zero-copy exchange on the cuda device: the Python array API's __dlpack__ protocol (versions, devices,
copy, consumer streams), from_dlpack's device checks and byte offsets, and the tensor's own
__cuda_array_interface__. Capsules are read with gradcore._dlpack_abi, the ABI in ctypes."""

import numpy as np
import pytest

import gradcore as gc
from gradcore import _dlpack_abi as abi

needs_cuda = pytest.mark.skipif(
    not gc.cuda.is_available(), reason="no CUDA device on this machine (GRADCORE_EMULATE_CUDA=1 emulates one)"
)


def capsule_name(capsule) -> str:
    return repr(capsule).split('"')[1]


class Producer:
    """A foreign DLPack producer over gradcore memory: ``byte_offset`` bytes past ``base``'s data,
    recording the stream and max_version it was asked for."""

    def __init__(self, base, shape, strides, byte_offset=0, device=(abi.KDL_CUDA, 0)):
        self.base, self.shape, self.strides, self.byte_offset, self.device = (
            base,
            shape,
            strides,
            byte_offset,
            device,
        )
        self.asked: dict = {}

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        self.asked = {"stream": stream, "max_version": max_version}
        data = self.base._data
        return abi.make_capsule(
            data.data_ptr if hasattr(data, "data_ptr") else data.ctypes.data,
            self.device,
            self.shape,
            self.strides,
            data.dtype,
            owner=self.base,
            byte_offset=self.byte_offset,
            versioned=max_version is not None and tuple(max_version) >= (1, 0),
        )

    def __dlpack_device__(self):
        return self.device


def test_cpu_tensors_have_no_cuda_array_interface():
    t = gc.ones(3)
    assert not hasattr(t, "__cuda_array_interface__")  # so CuPy/Numba fall back to other paths
    with pytest.raises(AttributeError, match="only cuda tensors"):
        t.__cuda_array_interface__  # noqa: B018


def test_cpu_dlpack_protocol_goes_through_numpy():
    t = gc.arange(6).reshape(2, 3) if hasattr(gc, "arange") else gc.tensor(np.arange(6).reshape(2, 3))
    assert capsule_name(t.__dlpack__(max_version=(1, 0))) == "dltensor_versioned"
    assert capsule_name(t.__dlpack__()) == "dltensor"
    shared = np.from_dlpack(t)
    shared[0, 0] = 42
    assert t.numpy()[0, 0] == 42
    with pytest.raises(BufferError):
        t.__dlpack__(dl_device=(abi.KDL_CUDA, 0))
    back = gc.from_dlpack(np.arange(4.0)[1:])  # CPU import with a view offset
    assert back.tolist() == [1.0, 2.0, 3.0] and back.device == "cpu"
    with pytest.raises(TypeError, match="unsupported dtype"):
        gc.from_dlpack(np.zeros(2, np.uint16))


@needs_cuda
@pytest.mark.cuda
def test_tensor_cuda_array_interface():
    t = gc.tensor(np.arange(12, dtype=np.float32).reshape(3, 4), device="cuda")
    view = t[1:, ::2]
    cai = view.__cuda_array_interface__
    assert cai["version"] == 3 and cai["typestr"] == "<f4"
    assert cai["shape"] == (2, 2) and tuple(cai["strides"]) == (16, 8)
    assert cai["data"] == (view._data.data_ptr, False)
    assert cai["data"][0] == t._data.data_ptr + 16
    assert cai["stream"] in (1, 2) or cai["stream"] > 2  # never 0, which the interface disallows


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("versioned", [False, True])
def test_dlpack_export_of_views_and_zero_d(versioned):
    t = gc.tensor(np.arange(24, dtype=np.float64).reshape(4, 6), device="cuda")
    max_version = (1, 0) if versioned else None
    for piece, shape, strides in ((t[1:, ::2], (3, 3), (6, 2)), (t[2, 3], (), ()), (t.T, (6, 4), (1, 6))):
        capsule = piece.__dlpack__(max_version=max_version)
        assert capsule_name(capsule) == ("dltensor_versioned" if versioned else "dltensor")
        got = abi.consume_capsule(capsule)
        try:
            assert got.device == (abi.KDL_CUDA, 0) and got.dtype == np.float64
            assert got.shape == shape and got.strides == strides
            assert got.data == piece._data.data_ptr
        finally:
            got.release()
    assert piece.__dlpack_device__() == (abi.KDL_CUDA, 0)
    # gradcore consumes its own export: same memory, 0-d kept
    alias = gc.from_dlpack(t[1:, ::2])
    alias.copy_(gc.full((3, 3), -1.0, device="cuda", dtype=gc.float64))
    assert (t.cpu().numpy()[1:, ::2] == -1).all() and (t.cpu().numpy()[0] != -1).all()
    assert gc.from_dlpack(t[2, 3]).shape == ()


@needs_cuda
@pytest.mark.cuda
def test_dlpack_protocol_refusals():
    t = gc.ones(3, device="cuda")
    with pytest.raises(BufferError):
        t.__dlpack__(dl_device=(abi.KDL_CPU, 0))
    with pytest.raises(BufferError):
        t.__dlpack__(copy=True)
    abi.consume_capsule(t.__dlpack__(copy=False, dl_device=(abi.KDL_CUDA, 0))).release()
    with pytest.raises(ValueError, match="cuda:1"):
        gc.from_dlpack(Producer(t, (3,), (1,), device=(abi.KDL_CUDA, 1)))
    with pytest.raises(TypeError, match="device type 13"):
        gc.from_dlpack(Producer(t, (3,), (1,), device=(13, 0)))


@needs_cuda
@pytest.mark.cuda
def test_import_with_a_byte_offset():
    base = gc.tensor(np.arange(10, dtype=np.float32), device="cuda")
    producer = Producer(base, (2, 3), (4, 1), byte_offset=2 * 4)  # starts at element 2
    t = gc.from_dlpack(producer)
    assert t.tolist() == [[2.0, 3.0, 4.0], [6.0, 7.0, 8.0]]
    assert producer.asked["max_version"] is None or tuple(producer.asked["max_version"]) >= (1, 0)
    t.copy_(gc.zeros(2, 3, device="cuda"))
    assert base.cpu().tolist() == [0.0, 1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 9.0]


@needs_cuda
@pytest.mark.cuda
def test_non_default_consumer_stream():
    s = gc.cuda.Stream()
    t = gc.tensor([1.0, 2.0, 3.0], device="cuda")
    with gc.cuda.stream(s):
        y = t * 2  # queued on s
    got = abi.consume_capsule(y.__dlpack__(stream=s.cuda_stream))  # the producer orders y before s
    got.release()
    producer = Producer(y, (3,), (1,))
    with gc.cuda.stream(s):
        z = gc.from_dlpack(producer)  # the consumer names its current stream to the producer
    assert producer.asked["stream"] == s.cuda_stream
    s.synchronize()
    assert z.tolist() == [2.0, 4.0, 6.0]
    producer = Producer(y, (3,), (1,))
    gc.from_dlpack(producer)
    assert producer.asked["stream"] in (None, 1)  # the legacy default stream


def test_torch_cpu_tensors_round_trip_through_the_protocol():
    torch = pytest.importorskip("torch")
    t = gc.tensor([1.0, 2.0])
    torch.from_dlpack(t)[0] = 5.0  # torch asks with the array API keywords
    assert t.tolist() == [5.0, 2.0]
    assert gc.from_dlpack(torch.tensor(2.5)).shape == ()
    assert gc.from_dlpack(torch.arange(6.0).reshape(2, 3)[:, 1]).tolist() == [1.0, 4.0]
