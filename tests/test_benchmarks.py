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


def test_rounds_take_the_median_per_library_and_show_the_spread():
    sys.path.insert(0, str(RUN.parent))
    try:
        import run
    finally:
        sys.path.remove(str(RUN.parent))

    def part(lib, t):
        return [{"case": "MLP", "size": "b64", "unit": "GFLOP/s", "work": 1e6, "times": {lib: t}}]

    # Three rounds, one slow outlier process per library: the medians ignore it.
    parts = [part("gradcore", 1.0), part("numpy", 2.0), part("gradcore", 5.0), part("numpy", 2.2),
             part("gradcore", 1.1), part("numpy", 1.8)]
    (res,) = run.merge_rounds(parts)
    assert res.times == {"gradcore": 1.1, "numpy": 2.0}
    assert res.rounds["gradcore"] == [1.0, 5.0, 1.1]
    table = run.markdown([res], "cpu")
    assert "1.82x (0.44-2.00)" in table  # 2.0 / 1.1, and the rounds' pairwise ratios 2.2/5.0 .. 2.0/1.0
    # A round that failed is reported, not averaged away.
    (bad,) = run.merge_rounds([part("gradcore", 1.0), part("numpy", "error: boom"), part("numpy", 2.0)])
    assert bad.times["numpy"] == "error: boom"
