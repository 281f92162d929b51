"""gradcore.testing.assert_close's own rules: equal infinities match, anything else is measured."""

import numpy as np
import pytest

import gradcore as gc
from gradcore.testing import assert_close


def test_equal_infinities_are_close():
    assert_close(gc.tensor([np.inf, -np.inf, 1.0]), np.array([np.inf, -np.inf, 1.0]))
    assert_close(np.array([[np.inf, 2.0]]), np.array([[np.inf, 2.0 + 1e-7]]))


def test_opposite_or_missing_infinities_fail():
    with pytest.raises(AssertionError, match="index \\(0,\\)"):
        assert_close(np.array([np.inf]), np.array([-np.inf]))
    with pytest.raises(AssertionError):
        assert_close(np.array([np.inf, 0.0]), np.array([1.0, 0.0]))
    with pytest.raises(AssertionError):
        assert_close(np.array([1.0]), np.array([np.inf]))
    with pytest.raises(AssertionError):
        assert_close(np.array([np.nan]), np.array([np.inf]))


def test_nan_in_both_places_matches_whatever_rtol():
    # rtol * |nan| used to make a NaN in both tensors count as a mismatch whenever rtol > 0
    a = np.array([1.0, np.nan, 3.0])
    assert_close(a, a.copy(), atol=0.0, rtol=1e-3)
    with pytest.raises(AssertionError, match="index \\(1,\\)"):
        assert_close(np.array([1.0, 2.0, 3.0]), a, rtol=1e-3)
    with pytest.raises(AssertionError, match="index \\(1,\\)"):
        assert_close(a, np.array([1.0, 2.0, 3.0]), rtol=1e-3)
