"""Profiles the MLP 784-256-128-10 train step (CE + Adam) and one tiny eager op, for benchmarks/NOTES.md.

    python benchmarks/profile_mlp.py time [--batch 64] [--steps 2000]    # median wall time per step
    python benchmarks/profile_mlp.py cprofile [--batch 64]               # Python-side breakdown
    python benchmarks/profile_mlp.py kernels [--batch 64]                # wall time per native kernel
    python benchmarks/profile_mlp.py tiny [--lib torch]                  # a + b on 16 floats
    python benchmarks/profile_mlp.py gemms [--batch 8192] [--steps 20]   # each GEMM of the step vs NumPy
    valgrind --tool=callgrind python benchmarks/profile_mlp.py steps --steps N   # instruction counts

Instruction counts are repeatable on a loaded machine where wall time is not: run ``steps`` under
callgrind at two step counts and divide the difference in Ir by the difference in steps.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import statistics
import time
from collections import defaultdict

import numpy as np


def make_step(batch: int, lib: str = "gradcore"):
    from reference_mlp import ReferenceMLP

    sizes = [784, 256, 128, 10]
    rng = np.random.default_rng(4)
    x_np = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y_np = rng.integers(0, sizes[-1], batch)
    ref = ReferenceMLP(np, sizes)
    if lib == "numpy":
        return lambda: ref.step(x_np, y_np)
    if lib == "torch":
        import run

        b = run.Bench("cpu", False, "torch")
        return run._torch_mlp_step(b, sizes, ref.params, x_np, y_np)
    import run

    import gradcore as gc
    from gradcore.nn import functional as F

    model = run._gradcore_mlp(sizes, ref.params, "cpu")
    opt = gc.optim.Adam(model.parameters(), lr=1e-3)
    x, y = gc.tensor(x_np), gc.tensor(y_np)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def make_tiny(lib: str):
    a_np = np.arange(16, dtype=np.float32)
    if lib == "torch":
        import torch

        a, b = torch.from_numpy(a_np), torch.from_numpy(a_np.copy())
    elif lib == "numpy":
        a, b = a_np, a_np.copy()
    else:
        import gradcore as gc

        a, b = gc.tensor(a_np), gc.tensor(a_np)
    return lambda: a + b


def median_time(fn, steps: int, inner: int = 1) -> float:
    for _ in range(20):
        fn()
    samples = []
    for _ in range(steps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples)


def kernel_times(step, steps: int) -> None:
    """Wraps every native kernel of gradcore._C.cpu to sum its wall time; the rest is host time."""
    from gradcore import _C, backend

    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)

    def wrap(name, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - t0
                counts[name] += 1

        return timed

    class Wrapped:
        def __getattr__(self, name):
            return wrap(name, getattr(_C.cpu, name))

    for _ in range(20):
        step()
    backend._kernel_cache.clear()
    saved = backend.CPUBackend.kernels
    backend.CPUBackend.kernels = Wrapped()
    try:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        total = (time.perf_counter() - t0) / steps
    finally:
        backend.CPUBackend.kernels = saved
        backend._kernel_cache.clear()
    kern = sum(totals.values()) / steps
    host = total - kern
    print(f"step {total * 1e6:.1f} us; native kernels {kern * 1e6:.1f} us; host {host * 1e6:.1f} us")
    for name, t in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {name:24s} {t / steps * 1e6:8.1f} us  {counts[name] / steps:5.1f} calls/step")


def mlp_gemms(batch: int, dtype=np.float32) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The 8 products of one MLP step as (name, A, B) with the layouts the Linear primitive passes (W read
    transposed in x @ W.T, g read transposed in g.T @ x)."""
    rng = np.random.default_rng(0)
    sizes = [784, 256, 128, 10]
    acts = [rng.standard_normal((batch, n)).astype(dtype) for n in sizes]
    ws = [rng.standard_normal((o, i)).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
    out = []
    for i, w in enumerate(ws):
        out.append((f"fwd x@W{i + 1}.T", acts[i], w.T))
    for i in (2, 1, 0):
        g = acts[i + 1]
        if i > 0:
            out.append((f"bwd g@W{i + 1}", g, ws[i]))
        out.append((f"bwd g.T@x{i + 1}", g.T, acts[i]))
    return out


def gemm_times(batch: int, steps: int) -> None:
    """Min and median wall time of each product of the step, gradcore (gradcore._C.cpu.matmul into a reused
    output) vs NumPy (np.matmul with out=), in GFLOP/s."""
    import gradcore as gc
    from gradcore import _C

    total = {"gradcore": 0.0, "numpy": 0.0}
    print(f"{'product':16s} {'M x N x K':>18s}   gradcore min/med (GFLOP/s)   numpy min/med (GFLOP/s)")
    for name, a, b in mlp_gemms(batch):
        (m, k), n = a.shape, b.shape[1]
        # a transposed NumPy operand becomes a transposed gradcore view: the kernel sees the same strides
        ta, tb = (gc.tensor(v) if v.flags.c_contiguous else gc.tensor(v.T.copy()).T for v in (a, b))
        out = np.empty((m, n), a.dtype)
        gout = gc.tensor(out)
        fns = {
            "gradcore": lambda ta=ta, tb=tb, gout=gout: _C.cpu.matmul(ta._data, tb._data, gout._data),
            "numpy": lambda a=a, b=b, out=out: np.matmul(a, b, out=out),
        }
        row = f"{name:16s} {f'{m} x {n} x {k}':>18s}"
        for lib, fn in fns.items():
            for _ in range(3):
                fn()
            samples = []
            for _ in range(steps):
                t0 = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - t0)
            lo, med = min(samples), statistics.median(samples)
            total[lib] += med
            row += f"   {lo * 1e3:7.3f}/{med * 1e3:7.3f} ms ({2 * m * n * k / lo / 1e9:5.0f})"
        print(row)
    print(f"sum of medians: gradcore {total['gradcore'] * 1e3:.2f} ms, numpy {total['numpy'] * 1e3:.2f} ms")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["time", "cprofile", "kernels", "tiny", "steps", "tinysteps", "gemms"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--lib", default="gradcore")
    args = p.parse_args()
    if args.mode in ("tiny", "tinysteps"):
        fn = make_tiny(args.lib)
        if args.mode == "tinysteps":
            for _ in range(args.steps or 1000):
                fn()
            return
        t = median_time(fn, 200, inner=200)
        print(f"{args.lib} tiny a + b (16 floats): {t * 1e6:.2f} us")
        return
    if args.mode == "gemms":
        gemm_times(args.batch, args.steps or 20)
        return
    step = make_step(args.batch, args.lib)
    if args.mode == "steps":
        for _ in range(args.steps or 10):
            step()
    elif args.mode == "time":
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        n = args.steps or 500
        t = median_time(step, n)
        faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / (n + 20)
        # page faults per step: memory handed back to the OS and faulted in again (see allocator_cpu.cpp)
        print(f"{args.lib} b{args.batch}: {t * 1e6:.1f} us/step, {faults:.0f} page faults/step")
    elif args.mode == "kernels":
        kernel_times(step, args.steps or 500)
    else:
        for _ in range(20):
            step()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.steps or 500):
            step()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
