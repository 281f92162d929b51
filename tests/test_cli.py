"""The main job end to end: training on the bundled digits, checkpoints, resume, plots, errors."""

import subprocess
import sys

import pytest

import gradcore as gc
from gradcore.__main__ import main
from gradcore.train import TrainConfig, fit


def test_training_on_digits_reaches_95_percent():
    result = fit(TrainConfig(epochs=12, progress=False), log=lambda s: None)
    assert result["test_accuracy"] >= 0.95


def test_cli_prints_final_accuracy(capsys):
    assert main(["train", "--epochs", "2", "--hidden", "32", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "epoch 2/2" in out and "final test accuracy:" in out


def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "gradcore", "train", "--epochs", "1", "--hidden", "16"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "final test accuracy" in proc.stdout


def test_checkpoint_resume_matches_uninterrupted_run(tmp_path):
    ckpt = str(tmp_path / "run.npz")
    quiet = dict(progress=False, hidden=[32], dropout=0.5)
    full = fit(TrainConfig(epochs=4, **quiet), log=lambda s: None)
    fit(TrainConfig(epochs=2, checkpoint=ckpt, **quiet), log=lambda s: None)
    resumed = fit(TrainConfig(epochs=4, checkpoint=ckpt, resume=True, **quiet), log=lambda s: None)
    assert resumed["history"]["train_loss"] == pytest.approx(full["history"]["train_loss"], rel=1e-6)
    w_full = full["model"][0].weight.numpy()
    w_resumed = resumed["model"][0].weight.numpy()
    assert abs(w_full - w_resumed).max() < 1e-6
    assert gc.load(ckpt)["epoch"] == 4


def test_resume_rejects_wrong_architecture_and_missing_file(tmp_path, capsys):
    ckpt = str(tmp_path / "run.npz")
    fit(TrainConfig(epochs=1, checkpoint=ckpt, progress=False, hidden=[16]), log=lambda s: None)
    assert main(["train", "--hidden", "8", "--checkpoint", ckpt, "--resume", "--no-progress"]) == 1
    assert "hidden=[16]" in capsys.readouterr().err
    assert main(["train", "--resume", "--checkpoint", str(tmp_path / "none.npz")]) == 1
    assert "needs an existing --checkpoint" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    fit(TrainConfig(epochs=2, hidden=[16], plot=str(png), progress=False), log=lambda s: None)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
