"""save/load: round trips, atomic writes that survive interruption, clear errors for bad files."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradcore as gc


def test_round_trip_nested(tmp_path):
    obj = {
        "w": gc.ones(2, 3),
        "meta": {"epoch": 4, "name": "x", "lr": 1e-3, "sizes": [1, 2]},
        "a": np.arange(3),
    }
    path = tmp_path / "c.npz"
    gc.save(obj, path)
    back = gc.load(path)
    assert back["meta"] == {"epoch": 4, "name": "x", "lr": 1e-3, "sizes": [1, 2]}
    assert (back["w"] == 1).all() and back["w"].dtype == np.float32
    assert back["a"].tolist() == [0, 1, 2]


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    gc.save({"v": np.array([1.0])}, path)

    def explode(f, **arrays):
        f.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", explode)
    with pytest.raises(OSError, match="disk full"):
        gc.save({"v": np.array([2.0])}, path)
    monkeypatch.undo()
    assert gc.load(path)["v"].tolist() == [1.0]
    assert os.listdir(tmp_path) == ["c.npz"]  # no temporary file left behind


def test_process_killed_mid_save_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "c.npz"
    gc.save({"step": 0, "w": np.zeros(10)}, path)
    script = textwrap.dedent(
        f"""
        import numpy as np, gradcore as gc, sys
        big = np.random.default_rng(0).normal(size=4_000_000)
        print("ready", flush=True)
        step = 1
        while True:
            gc.save({{"step": step, "w": big}}, {str(path)!r})
            step += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    import time

    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = gc.load(path)  # whatever step it reached, the file is whole
    assert isinstance(state["step"], int)


def test_corrupt_and_missing_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match="not a readable gradcore checkpoint"):
        gc.load(bad)
    with pytest.raises(FileNotFoundError):
        gc.load(tmp_path / "nope.npz")
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones(2))  # a valid npz that gradcore did not write
    with pytest.raises(ValueError, match="not a readable gradcore checkpoint"):
        gc.load(plain)


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store a function"):
        gc.save({"f": lambda: 0}, tmp_path / "x.npz")
