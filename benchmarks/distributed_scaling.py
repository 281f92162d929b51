"""Data-parallel scaling of the MLP training step (784-256-128-10, CE + Adam) over N MPI ranks.

Run it with mpiexec; rank 0 prints one markdown row (and appends JSON to --json):

    mpiexec -n 1 python benchmarks/distributed_scaling.py --batch 1024           # 1 rank, no DDP
    mpiexec -n 2 python benchmarks/distributed_scaling.py --batch 1024           # 2 ranks, 512 each

The global batch stays --batch, so the ranks split the same work: the speed-up is step(1 rank) /
step(N ranks). Each step is timed from the first forward to the end of the optimizer step on every
rank (a barrier before the clock starts), median of --steps after --warmup.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import gradcore as gc
import gradcore.distributed as dist
from gradcore import nn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1024, help="global batch (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--bucket-mb", type=float, default=25.0)
    ap.add_argument("--json", help="append the result as one JSON line here")
    args = ap.parse_args()
    dist.init_process_group(timeout=600)
    rank, world = dist.get_rank(), dist.get_world_size()
    gc.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    step_model = (
        nn.parallel.DistributedDataParallel(model, bucket_cap_mb=args.bucket_mb) if world > 1 else model
    )
    opt = gc.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(rank)
    local = args.batch // world
    x = gc.tensor(rng.random((local, 784), dtype=np.float32))
    y = gc.tensor(rng.integers(0, 10, local))
    times = []
    for _ in range(args.warmup + args.steps):
        dist.barrier()
        t0 = time.perf_counter()
        loss = nn.functional.cross_entropy(step_model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    # a rank's step ends when its gradients are averaged, so every rank's time counts: take the slowest
    med = gc.tensor([float(np.median(times[args.warmup :]))], dtype=gc.float64)
    dist.all_reduce(med, op="max")
    if rank == 0:
        threads = os.environ.get("GRADCORE_NUM_THREADS", "default")
        ms = med.item() * 1e3
        print(f"| {world} | {local} | {threads} | {ms:.3f} ms | {args.batch / med.item():,.0f} samples/s |")
        if args.json:
            with open(args.json, "a") as f:
                f.write(
                    json.dumps(
                        {
                            "ranks": world,
                            "global_batch": args.batch,
                            "threads": threads,
                            "step_ms": ms,
                            "bucket_mb": args.bucket_mb,
                            "load": os.getloadavg()[0],
                        }
                    )
                    + "\n"
                )


if __name__ == "__main__":
    main()
