"""Run under mpiexec by tests/test_distributed.py: one rank fails (or stalls); the others must not hang.

argv: mode ("raise": rank 1 raises before an all_reduce; "ddp": rank 1 raises in its 3rd training step
while rank 0 waits for the gradients; "stall": rank 1 sleeps, rank 0's all_reduce times out), timeout s.
"""

import sys
import time

import gradcore as gc
import gradcore.distributed as dist
from gradcore import nn

mode, timeout = sys.argv[1], float(sys.argv[2])
dist.init_process_group(timeout=timeout)
rank = dist.get_rank()
if mode == "raise":
    if rank == 1:
        raise ValueError("boom on rank 1")
    dist.all_reduce(gc.ones(3))
elif mode == "ddp":
    model = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
    for step in range(5):
        out = model(gc.randn(16, 4))
        if rank == 1 and step == 2:
            raise FloatingPointError("loss is nan on rank 1")
        out.sum().backward()
elif mode == "stall":
    if rank == 1:
        time.sleep(120)
    dist.all_reduce(gc.ones(3))
print(f"rank {rank} finished", flush=True)
