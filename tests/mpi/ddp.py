"""Run under mpiexec by tests/test_distributed.py: DDP equals one process on the global batch; no_sync."""

import copy
import sys

import numpy as np

import gradcore as gc
import gradcore.distributed as dist
from gradcore import nn
from gradcore.nn.parallel import DistributedDataParallel as DDP

# argv: device (cpu), backend (default: None, MPI for CPU and NCCL for CUDA where usable)
dist.init_process_group(backend=sys.argv[2] if len(sys.argv) > 2 else None, timeout=60)
rank, world = dist.get_rank(), dist.get_world_size()
device = sys.argv[1] if len(sys.argv) > 1 else "cpu"
B = 6  # per rank


def make_model():
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)


def batch(step):  # the same global batch on every rank; rank r takes rows r*B .. (r+1)*B
    rng = np.random.default_rng(100 + step)
    x = rng.standard_normal((world * B, 5)).astype(np.float32)
    y = rng.integers(0, 3, world * B)
    return gc.tensor(x, device=device), gc.tensor(y, device=device)


def mine(t):
    return t[rank * B : (rank + 1) * B]


def max_diff(a, b):
    return max(float(np.abs(p.numpy() - q.numpy()).max()) for p, q in zip(a.parameters(), b.parameters()))


# --- 3 Adam steps: DDP on 2 ranks == one process on the global batch -----------------------------------
gc.manual_seed(1234 + rank)  # different inits: wrapping must replace them with rank 0's
model = make_model()
ddp = DDP(model, bucket_cap_mb=0.0005)  # ~500 bytes: several buckets, so their order matters
assert ddp.module is model
assert len(ddp.reducer.buckets) >= 3, len(ddp.reducer.buckets)
reference = copy.deepcopy(model)  # rank 0's weights, now on every rank
opt = gc.optim.Adam(ddp.parameters(), lr=1e-2)
ref_opt = gc.optim.Adam(reference.parameters(), lr=1e-2)
for step in range(3):
    x, y = batch(step)
    loss = nn.functional.cross_entropy(ddp(mine(x)), mine(y))
    opt.zero_grad()
    loss.backward()
    opt.step()
    ref_loss = nn.functional.cross_entropy(reference(x), y)
    ref_opt.zero_grad()
    ref_loss.backward()
    ref_opt.step()
    # the averaged gradients equal the global-batch gradients
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)
diff = max_diff(model, reference)
assert diff <= 1e-5, f"rank {rank}: DDP parameters differ from one process on the global batch by {diff}"
flat = gc.cat([p.detach().reshape(-1) for p in model.parameters()])
gathered = [gc.zeros_like(flat) for _ in range(world)]
dist.all_gather(gathered, flat)
assert all(bool((g == gathered[0]).all().item()) for g in gathered), "replicas diverged"

# buckets start while backward still runs: the first launch comes before the last gradient arrives
events = []
real_all_reduce = dist.all_reduce


def spy(t, *args, **kwargs):
    events.append(sum(sum(b.ready) for b in ddp.reducer.buckets))  # gradients arrived so far
    return real_all_reduce(t, *args, **kwargs)


ddp.reducer.dist = type("Spy", (), {"all_reduce": staticmethod(spy)})
x, y = batch(5)
nn.functional.cross_entropy(ddp(mine(x)), mine(y)).backward()
ddp.reducer.dist = dist
n_params = len(list(model.parameters()))
assert len(events) == len(ddp.reducer.buckets) and events == sorted(events), events
assert events[0] < n_params, f"the first bucket waited for every gradient: {events}"

# state_dict as torch: "module." in front; the module's own state_dict has none
assert list(ddp.state_dict())[0] == "module.0.weight" and list(model.state_dict())[0] == "0.weight"

# --- no_sync: two local backwards, then one synchronized one, average the sum -----------------------------
ref2 = copy.deepcopy(model)
ref2.zero_grad()
x1, y1 = batch(10)
x2, y2 = batch(11)
for p in ddp.parameters():
    p.grad = None
with ddp.no_sync():
    nn.functional.cross_entropy(ddp(mine(x1)), mine(y1)).backward()
local = [p.grad.numpy().copy() for p in model.parameters()]
ref_local = copy.deepcopy(model)
ref_local.zero_grad()
nn.functional.cross_entropy(ref_local(mine(x1)), mine(y1)).backward()
for g, q in zip(local, ref_local.parameters()):  # inside no_sync: this rank's own gradient, not averaged
    np.testing.assert_allclose(g, q.grad.numpy(), rtol=1e-5, atol=1e-7)
nn.functional.cross_entropy(ddp(mine(x2)), mine(y2)).backward()
loss_ref = sum(
    nn.functional.cross_entropy(ref2(x[r * B : (r + 1) * B]), y[r * B : (r + 1) * B])
    for r in range(world)
    for x, y in ((x1, y1), (x2, y2))
) * (1.0 / world)
loss_ref.backward()
for p, q in zip(model.parameters(), ref2.parameters()):
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)


# --- gradient_as_bucket_view and find_unused_parameters ----------------------------------------------------
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, x, use_b):
        return self.a(x) + (self.b(x) if use_b else 0)


gc.manual_seed(0)
heads = TwoHeads().to(device)
wrapped = DDP(heads, find_unused_parameters=True, gradient_as_bucket_view=True)
x = gc.ones(3, 4, device=device) * (rank + 1)
wrapped(x, use_b=False).sum().backward()
assert heads.b.weight.grad is None, "a parameter no rank used keeps no gradient"
np.testing.assert_allclose(heads.a.weight.grad.numpy(), np.full((2, 4), 3 * (world + 1) / 2), rtol=1e-6)
wrapped(x, use_b=rank == 0).sum().backward()  # used on rank 0 only: averaged with rank 1's zeros
np.testing.assert_allclose(heads.b.weight.grad.numpy(), np.full((2, 4), 3.0 / world), rtol=1e-6)

strict = DDP(TwoHeads().to(device))
strict(x, use_b=False).sum().backward()
try:
    strict(x, use_b=False)
except RuntimeError as e:
    assert "b.weight" in str(e) and "find_unused_parameters" in str(e), str(e)
else:
    raise AssertionError("an unused parameter must be reported at the next forward")
dist.barrier()
print(f"rank {rank}: ddp OK on {device}")
