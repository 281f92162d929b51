"""The seed networks in examples/ run end to end and reach their results; docstring examples hold."""

import doctest
import importlib
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    "script,args,minimum",
    [
        ("seed_2_5_1_sigmoid_mse.py", [], 0.90),
        ("seed_2_64_64_1_bce_adam.py", [], 0.95),
        ("seed_784_256_128_10_dropout.py", ["--epochs", "10"], 0.95),
    ],
)
def test_seed_example(script, args, minimum):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    accuracy = float(re.search(r"accuracy ([0-9.]+)%", proc.stdout).group(1)) / 100
    assert accuracy >= minimum, proc.stdout


MODULES = [
    "gradcore",
    "gradcore.tensor",
    "gradcore.autograd",
    "gradcore.creation",
    "gradcore.dlpack",
    "gradcore.serialization",
    "gradcore.testing",
    "gradcore.optim",
    "gradcore.data",
    "gradcore.images",
    "gradcore.train",
    "gradcore.cuda",
    "gradcore.nn.functional",
    "gradcore.nn.module",
    "gradcore.nn.layers",
    "gradcore.reductions",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
