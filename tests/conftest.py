"""Shared fixtures: the device parameter (cpu always; cuda on a GPU or the emulated device, skipped with
a reason otherwise) and a check that no test leaves a device error pending for the next one."""

import os
import pathlib
import sys

import pytest
from hypothesis import HealthCheck, settings

import gradcore as gc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "native"))
import cuda_sim_build  # noqa: E402 - tests/native: the CUDA host simulations' builder

# Gradient properties run at least 200 examples each (issue 2); CI uses the same profile.
settings.register_profile(
    "gradcore", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Under compute-sanitizer every kernel runs ~100x slower: fewer examples there.
settings.register_profile(
    "ci-gpu", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("GRADCORE_HYPOTHESIS_PROFILE", "gradcore"))


def _cuda_params():
    if not gc.cuda.is_built():
        reason = "gradcore was built without CUDA (GRADCORE_EMULATE_CUDA=1 emulates a device)"
    elif not gc.cuda.is_available():
        reason = "no CUDA device on this machine (GRADCORE_EMULATE_CUDA=1 emulates one)"
    else:
        return [pytest.param("cuda", marks=pytest.mark.cuda)]
    return [pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skip(reason=reason)])]


DEVICES = [pytest.param("cpu")] + _cuda_params()
_CHECK_PENDING = gc.cuda.is_available() and hasattr(gc.cuda.native(), "raise_pending_errors")


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def _no_pending_device_error():
    """A kernel's device-side error (a bad cross-entropy target) surfaces at the next sync point; one
    left pending would fail whichever test syncs next, so the test that caused it fails instead."""
    yield
    if _CHECK_PENDING:
        gc.cuda.native().raise_pending_errors()


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU (or GRADCORE_EMULATE_CUDA=1)")


def _sim_name(item) -> str | None:
    """The simulation (tests/native/cuda_sim_build.SIMS) a tests/test_<name>_cuda_sim.py item runs."""
    stem = pathlib.Path(str(item.fspath)).stem
    name = stem[len("test_") : -len("_cuda_sim")] if stem.endswith("_cuda_sim") else None
    return name if name in cuda_sim_build.SIMS else None


def pytest_collection_modifyitems(config, items):
    """The CUDA host simulations run last: they compile (minutes of CPU) in the background meanwhile."""
    items.sort(key=lambda item: _sim_name(item) is not None)  # stable: every other order kept


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    cuda_sim_build.prebuild([n for n in map(_sim_name, session.items) if n is not None])


def pytest_unconfigure(config):
    cuda_sim_build.shutdown()
