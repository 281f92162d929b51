"""The main job end to end: training on the bundled digits, checkpoints, resume, Ctrl-C, option errors."""

import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from helpers import run_main, write_idx

import gradcore as gc
from gradcore import serialization
from gradcore.__main__ import build_parser
from gradcore.train import ConfigError, TrainConfig, TrainingInterrupted, fit, validate_config

QUIET = dict(progress=False, hidden=[16])


def _quiet(_line):
    pass


def _cli(args, **kwargs):
    """Runs ``python -m gradcore`` in a subprocess with Ctrl-C delivered as in a terminal."""
    return subprocess.Popen(
        [sys.executable, "-m", "gradcore", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT and children inherit that: restore the default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **kwargs,
    )


def test_training_on_digits_reaches_95_percent():
    result = fit(TrainConfig(epochs=12, progress=False), log=_quiet)
    assert result["test_accuracy"] >= 0.95


def test_cli_prints_final_accuracy(capsys):
    code, out, _ = run_main(["train", "--epochs", "2", "--hidden", "32", "--no-progress"], capsys)
    assert code == 0
    assert "epoch 2/2" in out and "final test accuracy:" in out


def test_python_dash_m_entry_point_help_and_version():
    proc = subprocess.run(
        [sys.executable, "-m", "gradcore", "train", "--epochs", "1", "--hidden", "16"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "final test accuracy" in proc.stdout
    version = subprocess.run([sys.executable, "-m", "gradcore", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == f"gradcore {gc.__version__}"


def test_help_shows_defaults_and_the_resume_rule(capsys):
    code, out, _ = run_main(["train", "--help"], capsys)
    assert code == 0
    text = " ".join(out.split())
    for default in (
        "(default: 20)",
        "(default: 64)",
        "(default: 256,128)",
        "(default: 0.001)",
        "(default: cpu)",
    ):
        assert default in text
    assert "--epochs, --lr, --batch-size, --device may differ" in text
    assert "--hidden, --dropout, --data and --seed must match" in text


# ------------------------------------------------------------------ option errors
@pytest.mark.parametrize(
    "args, option, problem",
    [
        (["--dropout", "1"], "--dropout", r"in \[0, 1\)"),
        (["--dropout", "-0.5"], "--dropout", r"in \[0, 1\)"),
        (["--dropout", "nan"], "--dropout", r"in \[0, 1\), got nan"),
        (["--hidden", "256,,128"], "--hidden", "empty size in '256,,128'"),
        (["--hidden", "256,"], "--hidden", "empty size"),
        (["--hidden", "0"], "--hidden", "positive"),
        (["--hidden", "a,b"], "--hidden", "comma-separated ints"),
        (["--epochs", "0"], "--epochs", "positive integer"),
        (["--epochs", "1.5"], "--epochs", "invalid int"),
        (["--batch-size", "-3"], "--batch-size", "positive integer"),
        (["--lr", "0"], "--lr", "positive finite"),
        (["--lr=-1e-3"], "--lr", "positive finite"),
        (["--lr", "inf"], "--lr", "positive finite"),
        (["--seed", "-1"], "--seed", "non-negative"),
        (["--device", "tpu"], "--device", "unknown device 'tpu'"),
        (["--resume"], "--resume", "needs an existing --checkpoint"),
        (["--plot", "curves.gif"], "--plot", r"extensions .eps, .*\.png"),
        (["--plot", "curves"], "--plot", "extensions"),
    ],
)
def test_bad_options_give_one_line_naming_the_option(args, option, problem, capsys):
    code, out, err = run_main(["train", "--no-progress", *args], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"gradcore train: error: argument {option}")
    assert re.search(problem, err), err
    assert "epoch" not in out  # refused before training


def test_path_options_are_checked_before_training(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    cases = [
        (["--checkpoint", str(tmp_path)], "--checkpoint", "is a directory"),
        (["--checkpoint", str(tmp_path / "no" / "c.npz")], "--checkpoint", "does not exist"),
        (["--checkpoint", str(tmp_path / "file" / "c.npz")], "--checkpoint", "does not exist"),
        (["--data", str(tmp_path / "file")], "--data", "is a file"),
        (["--data", str(tmp_path / "nowhere")], "--data", "does not exist"),
        (["--resume", "--checkpoint", str(tmp_path / "none.npz")], "--resume", "existing --checkpoint"),
        (["--plot", str(tmp_path / "no" / "c.png")], "--plot", "does not exist"),
    ]
    monkeypatch.setitem(sys.modules, "matplotlib", sys.modules.get("matplotlib", object()))
    for args, option, problem in cases:
        code, _, err = run_main(["train", "--no-progress", *args], capsys)
        assert code == 2 and f"argument {option}: " in err and problem in err, (args, err)
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real_access(p, mode)
    )
    code, _, err = run_main(["train", "--checkpoint", str(tmp_path / "c.npz")], capsys)
    assert code == 2 and "argument --checkpoint: cannot write the checkpoint into" in err


def test_plot_without_matplotlib_is_refused_up_front(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    code, out, err = run_main(["train", "--plot", "curves.png", "--epochs", "1"], capsys)
    assert code == 2 and "argument --plot: needs matplotlib" in err and "epoch" not in out


def test_device_accepts_cuda_colon_zero_like_the_api():
    if gc.cuda.is_available():
        assert validate_config(TrainConfig(device="cuda:0")).device == "cuda"
    else:  # the spelling is accepted; what fails is the missing GPU, said as such
        with pytest.raises(ConfigError, match="CUDA is not available") as info:
            validate_config(TrainConfig(device="cuda:0"))
        assert info.value.option == "--device"


def test_relative_and_absolute_data_paths_are_the_same_data(tmp_path, monkeypatch):
    data = tmp_path / "mnist"
    data.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 10)):
        write_idx(data / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 4, 4)).astype(np.uint8))
        write_idx(data / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 3, n).astype(np.uint8))
    monkeypatch.chdir(tmp_path)
    ckpt = str(tmp_path / "run.npz")
    fit(TrainConfig(epochs=1, data="mnist", checkpoint=ckpt, **QUIET), log=_quiet)
    resumed = fit(TrainConfig(epochs=2, data=str(data), checkpoint=ckpt, resume=True, **QUIET), log=_quiet)
    assert len(resumed["history"]["train_loss"]) == 2


def test_bad_data_files_fail_with_one_line_naming_the_file(tmp_path, capsys):
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.array([0, 1, 200], np.uint8))
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1])  # truncated
    code, out, err = run_main(["train", "--data", str(tmp_path), "--no-progress"], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert f"{labels} is truncated" in err and "epoch" not in out


# ------------------------------------------------------------------ checkpoints and resume
def test_checkpoint_resume_matches_uninterrupted_run(tmp_path):
    ckpt = str(tmp_path / "run.npz")
    quiet = dict(progress=False, hidden=[32], dropout=0.5)
    full = fit(TrainConfig(epochs=4, **quiet), log=_quiet)
    fit(TrainConfig(epochs=2, checkpoint=ckpt, **quiet), log=_quiet)
    resumed = fit(TrainConfig(epochs=4, checkpoint=ckpt, resume=True, **quiet), log=_quiet)
    assert resumed["history"]["train_loss"] == pytest.approx(full["history"]["train_loss"], rel=1e-6)
    w_full = full["model"][0].weight.numpy()
    w_resumed = resumed["model"][0].weight.numpy()
    assert abs(w_full - w_resumed).max() < 1e-6
    assert gc.load(ckpt)["epoch"] == 4


def test_resume_lists_every_setting_that_cannot_change(tmp_path, capsys):
    ckpt = str(tmp_path / "run.npz")
    fit(TrainConfig(epochs=1, checkpoint=ckpt, **QUIET), log=_quiet)
    argv = ["train", "--checkpoint", ckpt, "--resume", "--no-progress"]
    code, _, err = run_main([*argv, "--hidden", "8", "--dropout", "0.5", "--seed", "3"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    for difference in ("--hidden 16 (now 8)", "--dropout 0.0 (now 0.5)", "--seed 0 (now 3)"):
        assert difference in err
    assert "only --epochs, --lr, --batch-size, --device may" in err
    code, _, err = run_main([*argv, "--hidden", "16", "--dropout", "0.5"], capsys)  # a KeyError before
    assert code == 2 and "--dropout 0.0 (now 0.5)" in err and "hidden" not in err


def test_resume_with_a_new_lr_really_uses_it(tmp_path, capsys):
    ckpt = str(tmp_path / "run.npz")
    fit(TrainConfig(epochs=1, checkpoint=ckpt, **QUIET), log=_quiet)
    saved = gc.load(ckpt)["model"]
    code, out, _ = run_main(
        ["train", "--hidden", "16", "--checkpoint", ckpt, "--resume", "--epochs", "2", "--lr", "1e-30"]
        + ["--batch-size", "100", "--no-progress"],
        capsys,
    )
    assert code == 0
    assert "resuming with --lr 1e-30 (the checkpoint had 0.001)" in out
    assert "resuming with --batch-size 100" in out
    after = gc.load(ckpt)
    assert after["epoch"] == 2
    for name, w in saved.items():  # a step of 1e-30 leaves float32 weights exactly as they were
        np.testing.assert_array_equal(after["model"][name], w)
    result = fit(TrainConfig(epochs=3, checkpoint=ckpt, resume=True, lr=0.05, **QUIET), log=_quiet)
    opt = result["optimizer"]
    lrs = [g["lr"] for g in opt.param_groups] if hasattr(opt, "param_groups") else [opt.lr]
    assert lrs and all(lr == 0.05 for lr in lrs)


def test_corrupt_checkpoint_on_resume_is_one_line(tmp_path, capsys):
    ckpt = tmp_path / "run.npz"
    ckpt.write_bytes(b"\x00" * 100)
    code, _, err = run_main(["train", "--checkpoint", str(ckpt), "--resume", "--no-progress"], capsys)
    assert code == 1 and "Traceback" not in err
    assert f"{ckpt} is not a readable gradcore checkpoint" in err
    gc.save({"not": "training"}, ckpt)
    code, _, err = run_main(["train", "--checkpoint", str(ckpt), "--resume", "--no-progress"], capsys)
    assert code == 1 and "not one written by training" in err


def test_ctrl_c_in_fit_says_where_the_last_checkpoint_is(tmp_path):
    ckpt = str(tmp_path / "run.npz")

    def interrupt_at_epoch_3(line):
        if line.startswith("epoch 3/"):
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as info:
        fit(TrainConfig(epochs=5, checkpoint=ckpt, **QUIET), log=interrupt_at_epoch_3)
    assert (info.value.epoch, info.value.saved_epoch) == (3, 2)
    assert f"last checkpoint: {ckpt} (after epoch 2)" in str(info.value)
    assert gc.load(ckpt)["epoch"] == 2
    with pytest.raises(TrainingInterrupted, match="nothing was saved"):
        fit(TrainConfig(epochs=5, **QUIET), log=interrupt_at_epoch_3)


def test_sigint_during_checkpointing_training_exits_130_without_traceback(tmp_path):
    ckpt = tmp_path / "run.npz"
    proc = _cli(["train", "--epochs", "100000", "--hidden", "64", "--checkpoint", str(ckpt)])
    try:
        for line in proc.stdout:
            if line.startswith("epoch 3/"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    saved = gc.load(ckpt)["epoch"]
    assert saved >= 2 and f"last checkpoint: {ckpt} (after epoch {saved}), continue with --resume" in err
    assert os.listdir(tmp_path) == ["run.npz"]


def test_next_run_removes_temporaries_of_killed_saves(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".tmp-run.npz.{serialization._host()}.{dead.pid}.0badf00d"
    stale.write_bytes(b"half a checkpoint")
    code, out, _ = run_main(
        ["train", "--epochs", "1", "--hidden", "8", "--checkpoint", str(tmp_path / "run.npz")], capsys
    )
    assert code == 0 and f"removed {stale}" in out
    assert os.listdir(tmp_path) == ["run.npz"]


def test_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    fit(TrainConfig(epochs=2, hidden=[16], plot=str(png), progress=False), log=_quiet)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_damaged_training_state_on_resume_is_one_line(tmp_path, capsys):
    ckpt = str(tmp_path / "run.npz")
    fit(TrainConfig(epochs=1, checkpoint=ckpt, **QUIET), log=_quiet)
    good = gc.load(ckpt)
    for key, junk in (
        ("config", "{not json"),
        ("history", [1, 2]),
        ("loader_rng", '{"x": 1}'),
        ("model", {}),
    ):
        gc.save({**good, key: junk}, ckpt)
        code, _, err = run_main(
            ["train", "--hidden", "16", "--checkpoint", ckpt, "--resume", "--no-progress"], capsys
        )
        assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (key, err)
        assert f"{ckpt} holds a damaged training" in err, (key, err)


def test_train_and_test_images_of_different_sizes_are_refused(tmp_path, capsys):
    for prefix, side in (("train", 4), ("t10k", 5)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", np.zeros((3, side, side), np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.array([0, 1, 2], np.uint8))
    code, out, err = run_main(["train", "--data", str(tmp_path), "--no-progress"], capsys)
    assert code == 1 and "train images have 16 pixels, test images 25" in err and "epoch" not in out


# ------------------------------------------------------------------ the CNN (--model cnn)
def test_cnn_short_run_on_28x28_idx_digits(tmp_path, capsys):
    x, y = gc.data.load_mnist_subset("test")
    for prefix, sl in (("train", slice(0, 96)), ("t10k", slice(96, 128))):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", np.round(x[sl, 0] * 255).astype(np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", y[sl].astype(np.uint8))
    ckpt = str(tmp_path / "cnn.npz")
    argv = ["train", "--model", "cnn", "--data", str(tmp_path), "--no-progress", "--checkpoint", ckpt]
    code, out, err = run_main([*argv, "--epochs", "1"], capsys)
    assert code == 0, err
    assert "conv32-pool-conv64-pool-fc128-dropout0.5-fc10 CNN on 96 samples" in out  # the CNN defaults
    assert re.search(r"final test accuracy: [0-9.]+%", out)
    state = gc.load(ckpt)
    assert state["model"]["0.weight"].shape == (32, 1, 3, 3) and '"batch_size": 32' in state["config"]
    code, out, err = run_main([*argv, "--epochs", "2", "--resume"], capsys)  # resumes as the MLP does
    assert code == 0 and "resumed from" in out and "epoch 2/2" in out, err
    code, _, err = run_main(["train", "--data", str(tmp_path), "--checkpoint", ckpt, "--resume"], capsys)
    assert code == 2 and "--model cnn (now mlp)" in err  # the model kind is part of the architecture
    # The CNN's learning rate follows a cosine over the epochs (epoch 2 of 2 runs at half); the MLP's stays.
    cfg = dict(data=str(tmp_path), epochs=2, progress=False)
    assert fit(TrainConfig(model="cnn", **cfg), log=_quiet)["optimizer"].param_groups[0]["lr"] == 0.5e-3
    assert fit(TrainConfig(hidden=[8], **cfg), log=_quiet)["optimizer"].param_groups[0]["lr"] == 1e-3


def test_cnn_on_the_bundled_8x8_digits_and_bad_model(capsys):
    code, out, err = run_main(["train", "--model", "cnn", "--epochs", "1", "--no-progress"], capsys)
    assert code == 0 and "CNN on 1438 samples (digits)" in out, err
    code, _, err = run_main(["train", "--model", "rnn"], capsys)
    assert code == 2 and "argument --model: invalid choice: 'rnn'" in err
    with pytest.raises(ConfigError, match="model: must be one of mlp, cnn"):
        validate_config(TrainConfig(model="lstm"))


def test_mnist_subset_data_for_both_models():
    from gradcore.train import load_data

    cfg = validate_config(TrainConfig(data="mnist-subset"))  # a name, not a folder
    assert cfg.data == "mnist-subset"
    x_train, y_train, x_test, y_test = load_data(cfg)
    assert x_train.shape == (4000, 784) and x_test.shape == (1000, 784) and y_train.dtype == np.int64
    default = build_parser().parse_args(["train"])
    assert (default.model, default.dropout, default.batch_size) == ("mlp", None, None)
    assert TrainConfig().model == "mlp" and TrainConfig().dropout == 0.0 and TrainConfig().batch_size == 64
