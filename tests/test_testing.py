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
