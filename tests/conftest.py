"""Shared fixtures: the device parameter (cpu always; cuda skipped with a reason when absent)."""

import os

import pytest
from hypothesis import HealthCheck, settings

import gradcore as gc

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
        reason = "gradcore was built without CUDA"
    elif not gc.cuda.is_available():
        reason = "no CUDA device on this machine"
    else:
        return [pytest.param("cuda", marks=pytest.mark.cuda)]
    return [pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skip(reason=reason)])]


DEVICES = [pytest.param("cpu")] + _cuda_params()


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU")
