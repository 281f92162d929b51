"""Times the CUDA conv2d kernels (both variants) on the benchmark's and the VAE's layer shapes.

Run on a GPU machine: ``python scripts/conv_cuda_timing.py [--json FILE] [--repeat N]``. Each of the three
kernels (forward, backward_input, backward_weight) is timed alone with CUDA events on the current stream
(warm-up, then the median of ``--repeat`` runs), for variant 0 (direct) and variant 1 (implicit GEMM),
and reported in microseconds and TFLOP/s (2 * N * O * OH * OW * C/g * KH * KW per kernel). It checks the
kernels against nothing: tests/test_cuda_conv.py does that. scripts/gpu_check.sh runs it in its conv step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import numpy as np

import gradcore as gc
from gradcore import backend

# name, (N, C, H, W), (O, KH, KW), stride, padding, dilation, groups
SHAPES = [
    ("bench 64x32x28x28 3x3", (64, 32, 28, 28), (32, 3, 3), 1, 1, 1, 1),
    ("first layer 1->32 28x28", (64, 1, 28, 28), (32, 3, 3), 1, 1, 1, 1),
    ("32->64 14x14", (64, 32, 14, 14), (64, 3, 3), 1, 1, 1, 1),
    ("stride 2 4x4 (transposed 7->14)", (64, 32, 14, 14), (32, 4, 4), 2, 1, 1, 1),
    ("depthwise 64ch 28x28", (64, 64, 28, 28), (64, 3, 3), 1, 1, 1, 64),
    ("1x1 128->128 14x14", (64, 128, 14, 14), (128, 1, 1), 1, 0, 1, 1),
]
KERNELS = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")


def out_size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def time_kernel(fn, args, repeat: int) -> float:
    """Median milliseconds of ``fn(*args)`` over ``repeat`` runs, each between two recorded events."""
    for _ in range(3):
        fn(*args)
    gc.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = gc.cuda.Event(enable_timing=True), gc.cuda.Event(enable_timing=True)
        start.record()
        fn(*args)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if not gc.cuda.is_available() or gc.cuda.EMULATED:
        print("conv_cuda_timing: needs a real CUDA GPU", file=sys.stderr)
        return 2
    native, be = gc.cuda.native(), backend.get("cuda")
    rng = np.random.default_rng(0)
    rows, old = [], native.conv_variant()
    print("| shape | kernel | variant 0 (us) | variant 1 (us) | variant 1 TFLOP/s | speed-up |")
    print("|---|---|---|---|---|---|")
    try:
        for name, (n, c, h, w), (o, kh, kw), s, p, d, g in SHAPES:
            oh, ow = out_size(h, kh, s, p, d), out_size(w, kw, s, p, d)
            x = be.from_numpy(rng.normal(size=(n, c, h, w)).astype(np.float32))
            wt = be.from_numpy(rng.normal(size=(o, c // g, kh, kw)).astype(np.float32))
            gy = be.from_numpy(rng.normal(size=(n, o, oh, ow)).astype(np.float32))
            y, gx, gw = (be.empty(a.shape, np.dtype(np.float32)) for a in (gy, x, wt))
            geom = (s, s, p, p, d, d, g)
            operands = {
                "conv2d_forward": (x, wt, y),
                "conv2d_backward_input": (gy, wt, gx),
                "conv2d_backward_weight": (x, gy, gw),
            }
            flops = 2.0 * n * o * oh * ow * (c // g) * kh * kw
            for kernel in KERNELS:
                fn = backend.kernel("cuda", kernel)
                ms = {}
                for variant in (0, 1):
                    native.set_conv_variant(variant)
                    ms[variant] = time_kernel(fn, (*operands[kernel], *geom), args.repeat)
                tflops = flops / (ms[1] * 1e-3) / 1e12
                rows.append(
                    {"shape": name, "kernel": kernel, "ms_direct": ms[0], "ms_tiled": ms[1], "tflops": tflops}
                )
                print(
                    f"| {name} | {kernel} | {ms[0] * 1e3:.1f} | {ms[1] * 1e3:.1f} | {tflops:.2f} | "
                    f"{ms[0] / ms[1]:.1f}x |"
                )
    finally:
        native.set_conv_variant(old)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": gc.cuda.get_device_name(), "float32": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
