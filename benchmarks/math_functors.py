"""Times torch's elementwise math set on 1M contiguous elements, one library per process (gradcore or torch),
so the two never share a thread pool: run both, interleaved, and compare (see NOTES.md, "Math functors").

    python benchmarks/math_functors.py gradcore --threads 2 --reps 15
    python benchmarks/math_functors.py torch --threads 2 --reps 15
Prints one JSON line per (function, dtype): the minimum time of `reps` calls, in ms.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

# name -> input range(s); binary functions get (a range, b range), b's sign drawn at random for divisions.
UNARY = {
    "sin": (-10, 10), "cos": (-10, 10), "tan": (-1.5, 1.5), "asin": (-1, 1), "acos": (-1, 1),
    "atan": (-10, 10), "sinh": (-10, 10), "cosh": (-10, 10), "asinh": (-10, 10), "acosh": (1, 10),
    "atanh": (-0.99, 0.99), "log1p": (-0.9, 10), "expm1": (-10, 10), "log2": (0.01, 10),
    "log10": (0.01, 10), "exp2": (-10, 10), "floor": (-100, 100), "ceil": (-100, 100),
    "round": (-100, 100), "trunc": (-100, 100), "frac": (-100, 100), "rsqrt": (0.1, 10),
    "reciprocal": (0.1, 10), "erf": (-3, 3),
}  # fmt: skip
BINARY = {
    "atan2": ((-10, 10), (-10, 10)), "hypot": ((-10, 10), (-10, 10)), "fmod": ((-100, 100), (0.5, 10)),
    "remainder": ((-100, 100), (0.5, 10)), "floor_divide": ((-100, 100), (0.5, 10)),
    "copysign": ((-10, 10), (-10, 10)),
}  # fmt: skip


def inputs(name: str, dtype: str, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    if name in UNARY:
        lo, hi = UNARY[name]
        return [rng.uniform(lo, hi, n).astype(dtype)]
    (alo, ahi), (blo, bhi) = BINARY[name]
    a = rng.uniform(alo, ahi, n)
    b = rng.uniform(blo, bhi, n)
    if name in ("fmod", "remainder", "floor_divide"):
        b *= rng.choice([-1.0, 1.0], n)
    return [a.astype(dtype), b.astype(dtype)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lib", choices=["gradcore", "torch"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--n", type=int, default=1 << 20)
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--only", default="", help="comma-separated function names")
    args = ap.parse_args()
    names = [*UNARY, *BINARY]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    if args.lib == "torch":
        import torch

        torch.set_num_threads(args.threads)
        wrap, mod = torch.from_numpy, torch
    else:
        os.environ["GRADCORE_NUM_THREADS"] = str(args.threads)
        import gradcore

        wrap, mod = gradcore.tensor, gradcore
    for dtype in args.dtypes.split(","):
        for name in names:
            xs = [wrap(x) for x in inputs(name, dtype, args.n)]
            fn = getattr(mod, name)
            fn(*xs)
            best = float("inf")
            for _ in range(args.reps):
                t0 = time.perf_counter()
                fn(*xs)
                best = min(best, time.perf_counter() - t0)
            print(json.dumps({"lib": args.lib, "fn": name, "dtype": dtype, "ms": round(best * 1e3, 4)}),
                  flush=True)


if __name__ == "__main__":
    main()
