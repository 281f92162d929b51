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


def test_vae_example_trains_and_writes_pictures(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "vae_mnist.py"), "--epochs", "2", "--limit", "128"]
        + ["--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    losses = [float(v) for v in re.findall(r"loss ([0-9.]+) =", proc.stdout)]
    assert len(losses) == 2 and losses[1] < losses[0] < 600  # learning (an untrained decoder gives ~545)
    for name in ("reconstructions.png", "samples.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


MODULES = [
    "gradcore",
    "gradcore.tensor",
    "gradcore.tensor_hooks",
    "gradcore.autograd",
    "gradcore.creation",
    "gradcore.dlpack",
    "gradcore.serialization",
    "gradcore.testing",
    "gradcore.optim",
    "gradcore.data",
    "gradcore.images",
    "gradcore.vae",
    "gradcore.cnn",
    "gradcore.train",
    "gradcore.cuda",
    "gradcore.nn.functional",
    "gradcore.nn.module",
    "gradcore.nn.layers",
    "gradcore.reductions",
    "gradcore.dtypes",
    "gradcore.autocast",
    "gradcore.amp",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
