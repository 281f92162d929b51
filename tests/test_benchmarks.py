"""The benchmark harness's smoke run (--quick): every case's correctness check passes, JSON is written."""

import json
import pathlib
import subprocess
import sys

RUN = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def test_quick_benchmark_run(tmp_path):
    out = tmp_path / "cpu.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--device", "cpu", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    cases = {r["case"] for r in data["results"]}
    assert {"matmul fp32", "relu fwd", "softmax-CE fwd+bwd", "Adam step", "MLP train step (CE+Adam)"} <= cases
    assert {"conv fwd+bwd", "VAE train step (BCE+KL, Adam)"} <= cases
    assert all(isinstance(r["times"]["gradcore"], float) for r in data["results"])
    assert "| case | size | gradcore |" in proc.stdout


def test_lib_option_times_one_library_only(tmp_path):
    # A full CPU run starts one process per library with --lib and merges their JSON.
    out = tmp_path / "numpy.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--device", "cpu", "--quick", "--only", "softmax_ce", "--lib", "numpy",
         "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())["results"]
    assert results and all(set(r["times"]) == {"numpy"} for r in results)
