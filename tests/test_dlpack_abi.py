"""The ctypes DLPack ABI's capsule lifetime: the destructor and deleter run safely whenever the last
reference goes, including while the consumer has an exception pending."""

import gc as pygc

import numpy as np
import pytest

from gradcore import _dlpack_abi as abi


class _Producer:
    """A foreign producer whose capsule claims ``device`` for host memory."""

    def __init__(self, device):
        self.buf, self.device = np.arange(4, dtype=np.float32), device

    def __dlpack_device__(self):
        return (abi.KDL_CPU, 0)  # so numpy goes on to ask for the capsule

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        b = self.buf
        return abi.make_capsule(b.ctypes.data, self.device, b.shape, (1,), b.dtype, b)


def test_capsule_dropped_with_an_exception_pending_keeps_the_exception_and_releases():
    # numpy rejects the device, sets its error, then drops the capsule: the destructor runs with that
    # exception pending. A ctypes callback lost it (SystemError: returned NULL without setting an
    # exception) and leaked the export.
    pygc.collect()
    exports = len(abi._exports)
    with pytest.raises(RuntimeError, match="Unsupported device"):
        np.from_dlpack(_Producer((abi.KDL_CUDA, 0)))
    pygc.collect()
    assert len(abi._exports) == exports


def test_consumer_calls_the_deleter_when_done():
    pygc.collect()
    exports = len(abi._exports)
    producer = _Producer((abi.KDL_CPU, 0))
    arr = np.from_dlpack(producer)
    assert arr.tolist() == [0.0, 1.0, 2.0, 3.0] and arr.ctypes.data == producer.buf.ctypes.data
    assert len(abi._exports) == exports + 1
    del arr
    pygc.collect()
    assert len(abi._exports) == exports
    producer.__dlpack__()  # an unconsumed capsule releases its tensor when it dies
    pygc.collect()
    assert len(abi._exports) == exports
