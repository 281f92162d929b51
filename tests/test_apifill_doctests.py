"""The docstring examples of the modules the apifill work added or extended run and hold."""

import doctest
import importlib

import pytest

MODULES = [
    "gradcore.strided_view",
    "gradcore.shape_ops",
    "gradcore.torch_compat",
    "gradcore.utils.data",
    "gradcore.utils.checkpoint",
    "gradcore.backends",
    "gradcore.nn.three_d",
    "gradcore.nn.layers_more",
    "gradcore.nn.embedding_bag",
    "gradcore.nn.sampling",
    "gradcore.nn.pooling",
    "gradcore.nn.recurrent",
    "gradcore.nn.weight_norm",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
