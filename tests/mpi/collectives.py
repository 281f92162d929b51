"""Run under mpiexec by tests/test_distributed.py: every collective's values, dtypes and errors on N ranks."""

import sys

import numpy as np

import gradcore as gc
import gradcore.distributed as dist

# argv: device (cpu), backend (default: None, MPI for CPU and NCCL for CUDA where usable)
dist.init_process_group(backend=sys.argv[2] if len(sys.argv) > 2 else None, timeout=60)
rank, world = dist.get_rank(), dist.get_world_size()
device = sys.argv[1] if len(sys.argv) > 1 else "cpu"
ranks = np.arange(world)


def check(name, got, want):
    got = got.numpy() if isinstance(got, gc.Tensor) else np.asarray(got)
    if got.dtype != np.asarray(want).dtype or not np.allclose(got, want, rtol=1e-6, atol=0):
        raise AssertionError(f"rank {rank}: {name}: got {got!r} ({got.dtype}), want {want!r}")


base = np.array([[1.0, -2.0, 3.5], [0.25, 4.0, -1.0]])
for np_dtype in (np.float32, np.float64, np.int32, np.int64):
    local = (base * (rank + 1)).astype(np_dtype)
    every = [(base * (r + 1)).astype(np_dtype) for r in ranks]
    wants = {
        "sum": np.sum(every, axis=0).astype(np_dtype),
        "max": np.max(every, axis=0),
        "min": np.min(every, axis=0),
        "product": np.prod(every, axis=0).astype(np_dtype),
    }
    if np.dtype(np_dtype).kind == "f":
        wants["avg"] = (np.sum(every, axis=0) / world).astype(np_dtype)
    for op, want in wants.items():
        t = gc.tensor(local, device=device)
        storage = t._data
        assert dist.all_reduce(t, op=op) is None
        assert t._data is storage, "all_reduce must write into the tensor's own storage"
        check(f"all_reduce {op} {np_dtype.__name__}", t, want)
    t = gc.tensor(local, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # the torch-style enum
    check("all_reduce ReduceOp.SUM", t, wants["sum"])

# bool: sum/max are "or", min/product are "and"
flags = np.array([rank == 0, True, False])
every = np.array([[r == 0, True, False] for r in ranks])
t = gc.tensor(flags, device=device)
dist.all_reduce(t, op="sum")
check("all_reduce bool sum", t, every.any(axis=0))
t = gc.tensor(flags, device=device)
dist.all_reduce(t, op="min")
check("all_reduce bool min", t, every.all(axis=0))

# a non-contiguous view is reduced in place through a copy; a 0-d and an empty tensor work
m = gc.tensor(base.astype(np.float32) * (rank + 1), device=device)
view = m.T
dist.all_reduce(view)
check("all_reduce of a transposed view", m, (base * sum(ranks + 1)).astype(np.float32))
s = gc.tensor(float(rank), device=device)
dist.all_reduce(s, op="max")
check("all_reduce 0-d", s, np.array(float(world - 1), np.float32))
e = gc.zeros(0, 3, device=device)
dist.all_reduce(e)
assert e.shape == (0, 3)

# a tensor that requires grad (a parameter) is reduced too, in place, outside autograd
w = gc.nn.Parameter(gc.ones(3, device=device) * (rank + 1))
dist.all_reduce(w, op="avg")
check("all_reduce of a Parameter", w, np.full(3, (world + 1) / 2, np.float32))
assert w.requires_grad and w.grad is None

# async_op returns a Work
t = gc.ones(4, device=device)
work = dist.all_reduce(t, async_op=True)
assert work.wait() is True and work.is_completed()
check("all_reduce async_op", t, np.full(4, world, np.float32))

# broadcast from every rank in turn
for src in ranks:
    t = gc.arange(5, device=device) * (rank + 1)
    dist.broadcast(t, src=int(src))
    check(f"broadcast src={src}", t, np.arange(5) * (src + 1))
    assert t.dtype is gc.int64

# all_gather (torch's list form) and all_gather_into_tensor
for dtype in (gc.float32, gc.int64, gc.bool):
    mine = (gc.arange(3, device=device) + 10 * rank).to(dtype)
    outs = [gc.zeros(3, dtype=dtype, device=device) for _ in ranks]
    dist.all_gather(outs, mine)
    for r in ranks:
        check(f"all_gather {dtype} [{r}]", outs[r], (np.arange(3) + 10 * r).astype(dtype.np))
out = gc.zeros(world * 2, 3, device=device)
dist.all_gather_into_tensor(out, gc.full((2, 3), float(rank), device=device))
check("all_gather_into_tensor", out, np.repeat(ranks, 6).reshape(world * 2, 3).astype(np.float32))

# reduce into one rank; point to point in a ring
for dst in ranks:
    t = gc.tensor(base.astype(np.float32) * (rank + 1), device=device)
    dist.reduce(t, dst=int(dst), op="sum")
    want = base * (sum(ranks + 1) if rank == dst else rank + 1)
    check(f"reduce dst={dst}", t, want.astype(np.float32))
if world > 1:
    right, left = (rank + 1) % world, (rank - 1) % world
    out = gc.full((2, 2), float(rank), dtype=gc.float64, device=device)
    into = gc.zeros(2, 2, dtype=gc.float64, device=device)
    if rank % 2 == 0:  # even ranks send first: blocking sends and receives in a ring cannot deadlock
        dist.send(out, dst=right)
        assert dist.recv(into, src=left) == left
    else:
        dist.recv(into, src=left)
        dist.send(out, dst=right)
    check("send/recv", into, np.full((2, 2), float(left)))
    works = [dist.isend(out, dst=right, tag=5), dist.irecv(into, src=left, tag=5)]
    for w in works:
        w.wait()
    check("isend/irecv", into, np.full((2, 2), float(left)))

# objects, barrier
box = [{"from": rank, "list": [1, 2]}, "x"] if rank == 1 % world else [None, None]
dist.broadcast_object_list(box, src=1 % world)
assert box == [{"from": 1 % world, "list": [1, 2]}, "x"], box
dist.barrier()

# errors name the problem (raised on every rank alike, before any message is sent)
for call, exc, words in (
    (lambda: dist.all_gather([gc.zeros(3)], gc.zeros(3)), ValueError, "one tensor per rank"),
    (lambda: dist.all_reduce(gc.ones(2, dtype=gc.int64), op="avg"), TypeError, "floating"),
    (lambda: dist.all_reduce(gc.ones(2), op="xor"), ValueError, "unknown reduce op"),
    (lambda: dist.broadcast(gc.ones(2), src=world), ValueError, "not a rank"),
    (lambda: dist.all_reduce(gc.ones(1, 3).expand(2, 3)), ValueError, "expanded"),
    (lambda: dist.all_reduce(np.ones(3)), TypeError, "gradcore Tensor"),
    (lambda: dist.init_process_group(), RuntimeError, "twice"),
):
    try:
        call()
    except exc as e:
        assert words in str(e), (words, str(e))
    else:
        raise AssertionError(f"no {exc.__name__} for {words}")
dist.barrier()
print(f"rank {rank}: collectives OK on {device}")
