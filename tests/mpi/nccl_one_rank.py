"""Run under ``mpiexec -n 1`` on a GPU machine with nccl4py: the NCCL path of every collective and DDP."""

import numpy as np

import gradcore as gc
import gradcore.distributed as dist
from gradcore import nn

dist.init_process_group(backend="nccl", timeout=60)
assert dist.get_world_size() == 1
x = gc.tensor([[1.0, -2.0], [3.0, 4.5]], device="cuda")
for op in ("sum", "avg", "max", "min", "product"):
    t = x.clone()
    storage = t._data
    dist.all_reduce(t, op=op)
    assert t._data is storage
    np.testing.assert_array_equal(t.numpy(), x.numpy())  # one rank: the reduction of one value
view = x.clone().T  # non-contiguous: through a contiguous copy written back
dist.all_reduce(view)
np.testing.assert_array_equal(view.numpy(), x.numpy().T)
b = gc.arange(6, device="cuda")
dist.broadcast(b, src=0)
np.testing.assert_array_equal(b.numpy(), np.arange(6))
outs = [gc.zeros(2, 2, device="cuda")]
dist.all_gather(outs, x)
np.testing.assert_array_equal(outs[0].numpy(), x.numpy())
flags = gc.tensor([True, False], device="cuda")
dist.all_reduce(flags)
assert flags.tolist() == [True, False]
model = nn.parallel.DistributedDataParallel(nn.Linear(2, 3).to("cuda"))
ref = nn.Linear(2, 3).to("cuda")
ref.load_state_dict(model.module.state_dict())
model(x).sum().backward()
ref(x).sum().backward()
np.testing.assert_allclose(model.module.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-6)
gc.cuda.synchronize()
dist.destroy_process_group()
print("nccl OK")
