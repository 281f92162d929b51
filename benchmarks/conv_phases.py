"""Per-phase timing of run.py's conv cases (forward, input grad, weight grad, bias grad), gradcore vs torch.

Each (library, thread count) runs in its own process, so GRADCORE_NUM_THREADS / torch.set_num_threads
hold for the whole run; the processes are interleaved over rounds and the table keeps the min over
rounds of each process's min of `--reps` calls. Usage:
    python benchmarks/conv_phases.py [--threads 1,2] [--rounds 3] [--reps 15] [--only SUBSTRING]
Prints ms per phase and the 1 -> 2 thread speed-up of each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# (name, batch, in, out, side, kernel, stride, padding, output_padding, transposed): run.py's CONV_CASES
CASES = [
    ("3x3 pad1 b64", 64, 32, 32, 28, 3, 1, 1, 0, False),
    ("conv1 1->32", 32, 1, 32, 28, 3, 1, 1, 0, False),
    ("conv2 valid 14", 32, 32, 32, 14, 3, 1, 0, 0, False),
    ("convT 7->14", 32, 32, 32, 7, 3, 2, 1, 1, True),
    ("convT 14->28", 32, 32, 32, 14, 3, 2, 1, 1, True),
    ("convT 32->1", 32, 32, 1, 28, 3, 1, 1, 0, True),
]
PHASES = ["fwd", "dx", "dw", "db"]


def _min_time(fn, reps: int) -> float:
    # --clock thread: CPU time of the calling thread only. On a loaded machine it shows how much of the
    # work the caller did itself (2 threads / 1 thread ~ 0.5 when the split works), whatever the waits.
    clock = time.thread_time if os.environ.get("CONV_PHASES_CLOCK") == "thread" else time.perf_counter
    fn()
    best = float("inf")
    for _ in range(reps):
        t = clock()
        fn()
        best = min(best, clock() - t)
    return best * 1e3


def _load_so(path: str) -> None:
    """Loads gradcore._C from another build (A/B of two builds): before gradcore imports its own."""
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.ExtensionFileLoader("gradcore._C", path)
    spec = importlib.util.spec_from_file_location("gradcore._C", path, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    sys.modules["gradcore._C"] = mod


def _torch_fns(x, w, y, s: int, p: int, op: int, tr: bool) -> dict:
    import torch

    tx, tw, ty = (torch.from_numpy(a) for a in (x, w, y))
    cb = torch.ops.aten.convolution_backward
    opad = [op, op] if tr else [0, 0]

    def bwd(mask):
        with torch.no_grad():
            return cb(ty, tx, tw, [ty.shape[1]], [s, s], [p, p], [1, 1], tr, opad, 1, mask)

    def fwd():
        with torch.no_grad():
            if tr:
                return torch.nn.functional.conv_transpose2d(tx, tw, stride=s, padding=p, output_padding=op)
            return torch.nn.functional.conv2d(tx, tw, stride=s, padding=p)

    return {
        "fwd": fwd,
        "dx": lambda: bwd([True, False, False]),
        "dw": lambda: bwd([False, True, False]),
        "db": lambda: bwd([False, False, True]),
    }


def _gradcore_fns(x, w, y, s: int, p: int, tr: bool) -> dict:
    import numpy as np

    import gradcore as gc
    from gradcore import backend

    k = {
        n: backend.kernel("cpu", n)
        for n in ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")
    }
    geom = (s, s, p, p, 1, 1, 1)
    gx, gw, gyv = np.empty_like(x), np.empty_like(w), np.empty_like(y)
    g_y = gc.tensor(y)
    if tr:  # forward = conv2d's input grad (y is conv2d's input z), dx = conv2d's forward of y
        fns = {
            "fwd": lambda: k["conv2d_backward_input"](x, w, gyv, *geom),
            "dx": lambda: k["conv2d_forward"](y, w, gx, *geom),
            "dw": lambda: k["conv2d_backward_weight"](y, x, gw, *geom),
        }
    else:
        fns = {
            "fwd": lambda: k["conv2d_forward"](x, w, gyv, *geom),
            "dx": lambda: k["conv2d_backward_input"](y, w, gx, *geom),
            "dw": lambda: k["conv2d_backward_weight"](x, y, gw, *geom),
        }
    fns["db"] = lambda: g_y.sum(dim=(0, 2, 3))
    return fns


def _worker(lib: str, reps: int, only: str) -> dict:
    import numpy as np

    rng = np.random.default_rng(0)
    out = {}
    if lib == "torch":
        import torch

        torch.set_num_threads(int(os.environ["GRADCORE_NUM_THREADS"]))
    elif ":" in lib:  # gradcore:/path/to/_C.so
        _load_so(lib.split(":", 1)[1])
    for name, n, cin, cout, side, ks, s, p, op, tr in CASES:
        if only and only not in name:
            continue
        x = rng.standard_normal((n, cin, side, side), dtype=np.float32)
        # y: the conv2d output (or, transposed, the conv2d input z that the transposed conv produces)
        oside = (side - 1) * s - 2 * p + ks + op if tr else (side + 2 * p - ks) // s + 1
        w = rng.standard_normal((cin, cout, ks, ks) if tr else (cout, cin, ks, ks), dtype=np.float32)
        y = rng.standard_normal((n, cout, oside, oside), dtype=np.float32)
        fns = _torch_fns(x, w, y, s, p, op, tr) if lib == "torch" else _gradcore_fns(x, w, y, s, p, tr)
        out[name] = {ph: _min_time(f, reps) for ph, f in fns.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--only", default="")
    ap.add_argument("--libs", default="gradcore,torch")
    ap.add_argument("--worker", default="")
    ap.add_argument("--clock", default="wall", choices=["wall", "thread"])
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(_worker(a.worker, a.reps, a.only)))
        return
    best: dict = {}
    for _ in range(a.rounds):
        for lib in a.libs.split(","):
            for nt in a.threads.split(","):
                env = dict(os.environ, GRADCORE_NUM_THREADS=nt, OMP_NUM_THREADS=nt, CONV_PHASES_CLOCK=a.clock)
                cmd = [sys.executable, __file__, "--worker", lib, "--reps", str(a.reps), "--only", a.only]
                run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                res = json.loads(run.stdout)
                for case, ph in res.items():
                    for k, v in ph.items():
                        key = (lib, nt, case, k)
                        best[key] = min(best.get(key, float("inf")), v)
    libs, nts = a.libs.split(","), a.threads.split(",")
    cases = sorted({k[2] for k in best}, key=[c[0] for c in CASES].index)
    print(
        f"{'case':16} {'phase':5} "
        + " ".join(f"{lib[-5:]}/{nt}t".rjust(10) for lib in libs for nt in nts)
        + "".join(f" {lib[-5:]} x".rjust(10) for lib in libs)
    )
    for case in cases:
        for ph in PHASES:
            row = [best.get((lib, nt, case, ph), float("nan")) for lib in libs for nt in nts]
            ups = [best[(lib, nts[0], case, ph)] / best[(lib, nts[-1], case, ph)] for lib in libs]
            cells = " ".join(f"{v:10.3f}" for v in row) + "".join(f"{u:10.2f}" for u in ups)
            print(f"{case:16} {ph:5} {cells}")


if __name__ == "__main__":
    main()
