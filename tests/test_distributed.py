"""gradcore.distributed, DistributedDataParallel, DistributedSampler and the sharded DataLoader.

In-process tests never start MPI. The multi-rank tests run tests/mpi/*.py (or the CLI) under
``mpiexec -n 2`` in a subprocess with a timeout, in a session of their own so a hung job is killed whole.
"""

import dataclasses
import datetime
import doctest
import importlib
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DistributedSampler as TorchSampler

import gradcore as gc
from gradcore.distributed import DistributedSampler, launch, nccl_backend
from gradcore.distributed.collectives import reduce_op_name
from gradcore.distributed.process_group import as_seconds

MPI_SCRIPTS = Path(__file__).parent / "mpi"
HAVE_MPI = launch.mpi_available() and launch.mpiexec() is not None
needs_mpi = pytest.mark.skipif(
    not HAVE_MPI, reason="mpi4py / mpiexec are not installed (pip install 'gradcore[distributed]')"
)


def mpirun(n: int, *args: str, timeout: float = 90, env: dict | None = None, cwd=None):
    """``mpiexec -n n python args...``; fails the test (killing the whole job) if it outlives ``timeout``."""
    environ = {k: v for k, v in os.environ.items() if k != "GRADCORE_EMULATE_CUDA"}
    environ.update(env or {})
    cmd = launch.mpiexec_command(n, sys.executable, *args)
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} hung for {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    proc.elapsed = time.monotonic() - start
    proc.out, proc.err = out, err
    return proc


def _ok(proc) -> str:
    assert proc.returncode == 0, f"exit status {proc.returncode}\nstdout:\n{proc.out}\nstderr:\n{proc.err}"
    return proc.out


# ---------------------------------------------------------------------------------------- sampler
@pytest.mark.parametrize(
    "n,world,drop_last",
    [(10, 3, False), (10, 3, True), (7, 2, False), (2, 4, False), (8, 4, True), (0, 2, False), (5, 1, False)],
)
def test_sampler_matches_torch_without_shuffle(n, world, drop_last):
    for rank in range(world):
        ours = DistributedSampler(n, num_replicas=world, rank=rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), num_replicas=world, rank=rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("n,world", [(23, 2), (24, 3), (5, 4)])
def test_sampler_shards_are_disjoint_cover_the_data_and_reshuffle_per_epoch(n, world):
    orders = []
    for epoch in range(3):
        shards = []
        for rank in range(world):
            s = DistributedSampler(np.zeros(n), num_replicas=world, rank=rank, seed=7, drop_last=True)
            s.set_epoch(epoch)
            shards.append(s.indices())
            assert len(shards[-1]) == len(s) == n // world
        flat = np.concatenate(shards)
        assert len(set(flat.tolist())) == len(flat), "shards overlap"
        orders.append(flat.tolist())
        padded = [DistributedSampler(n, world, r, seed=7) for r in range(world)]
        for s in padded:
            s.set_epoch(epoch)
        assert set(np.concatenate([s.indices() for s in padded]).tolist()) == set(range(n)), "not covering"
    assert orders[0] != orders[1] != orders[2], "set_epoch must reshuffle"
    again = DistributedSampler(n, world, 0, seed=7, drop_last=True)
    again.set_epoch(1)
    assert again.indices().tolist() == orders[1][: n // world], "same seed and epoch, same order"


def test_sampler_errors():
    with pytest.raises(ValueError, match="Invalid rank 2, rank should be in the interval \\[0, 1\\]"):
        DistributedSampler(10, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(10, num_replicas=0, rank=0)
    with pytest.raises(TypeError, match="sized"):
        DistributedSampler(object(), num_replicas=2, rank=0)
    with pytest.raises(ValueError, match="not been initialized"):  # defaults come from the process group
        DistributedSampler(10)


# ---------------------------------------------------------------------------------------- DataLoader
@pytest.mark.parametrize("n,batch,world", [(23, 8, 2), (23, 8, 3), (10, 4, 4), (5, 16, 2)])
def test_dataloader_rank_world_size_splits_each_global_batch(n, batch, world):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    whole = gc.data.DataLoader(x, y, batch_size=batch, shuffle=True, seed=3)
    shards = [
        gc.data.DataLoader(x, y, batch_size=batch, shuffle=True, seed=3, rank=r, world_size=world)
        for r in range(world)
    ]
    for epoch in range(2):
        steps = [list(s) for s in shards]
        expected = list(whole)
        assert all(len(s) == len(expected) == len(whole) for s in steps)
        for b, (_, yb) in enumerate(expected):
            parts = [steps[r][b][1].numpy() for r in range(world)]
            assert np.array_equal(np.concatenate(parts), yb.numpy()), f"epoch {epoch} batch {b}"
            sizes = [len(p) for p in parts]
            assert max(sizes) - min(sizes) <= 1
            assert np.array_equal(steps[0][b][0].numpy(), x[parts[0]])


def test_dataloader_with_a_sampler():
    x, y = np.zeros((10, 1), np.float32), np.arange(10)
    sampler = DistributedSampler(10, num_replicas=3, rank=1, shuffle=False)
    loader = gc.data.DataLoader(x, y, batch_size=3, sampler=sampler)
    assert [yb.tolist() for _, yb in loader] == [[1, 4, 7], [0]] and len(loader) == 2
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        gc.data.DataLoader(x, y, sampler=sampler, shuffle=True)
    with pytest.raises(ValueError, match="not both"):
        gc.data.DataLoader(x, y, sampler=sampler, rank=0, world_size=2)
    with pytest.raises(ValueError, match="go together"):
        gc.data.DataLoader(x, y, rank=0)
    with pytest.raises(ValueError, match="rank must be in \\[0, 1\\]"):
        gc.data.DataLoader(x, y, rank=2, world_size=2)


# ---------------------------------------------------------------------------------------- small pieces
def test_contiguous_cpu_tensors_go_to_mpi_without_a_copy():
    from gradcore.distributed.collectives import _host_buffer

    t = gc.ones(3, 4)
    host, copy_back = _host_buffer(t)
    assert host is t._data and not copy_back  # MPI reads and writes the tensor's own NumPy buffer
    host, copy_back = _host_buffer(t.T)  # not contiguous: a contiguous copy, written back after
    assert copy_back and host.flags.c_contiguous and not np.shares_memory(host, t._data)
    host, copy_back = _host_buffer(gc.tensor(2.0))
    assert host.shape == () and not copy_back  # 0-d stays 0-d


def test_reduce_op_names():
    assert reduce_op_name(gc.distributed.ReduceOp.SUM) == "sum"
    assert [reduce_op_name(s) for s in ("SUM", "mean", "prod", "Max", "min")] == [
        "sum",
        "avg",
        "product",
        "max",
        "min",
    ]
    assert reduce_op_name(torch.distributed.ReduceOp.MAX) == "max"  # torch's enum works too
    with pytest.raises(ValueError, match="unknown reduce op 'xor'"):
        reduce_op_name("xor")


def test_timeout_argument():
    assert as_seconds(datetime.timedelta(minutes=2)) == 120.0
    assert as_seconds(2.5) == 2.5
    with pytest.raises(ValueError, match="positive"):
        as_seconds(0)


def test_post_accumulate_grad_hook_matches_torch():
    seen, seen_torch = [], []
    w = gc.tensor([1.0, 2.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    tw.register_post_accumulate_grad_hook(lambda p: seen_torch.append(p.grad.tolist()))
    for f in (lambda v: (v * 3).sum(), lambda v: (v * v * v).sum()):  # w used 3 times: one call
        f(w).backward()
        f(tw).backward()
    assert seen == seen_torch == [[3.0, 3.0], [6.0, 15.0]]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        gc.ones(2).register_post_accumulate_grad_hook(print)


def test_leaf_gradients_arrive_layer_by_layer_from_the_last_as_in_torch():
    """DDP's buckets can only start early if a layer's parameters get their gradients right after that
    layer's backward, not all at the end of the pass."""

    def layer_order(model, x):
        order = []
        for name, p in model.named_parameters():
            p.register_post_accumulate_grad_hook(lambda p, name=name: order.append(int(name.split(".")[0])))
        model(x).sum().backward()
        return [k for i, k in enumerate(order) if k not in order[:i]]

    ours = gc.nn.Sequential(
        gc.nn.Linear(5, 16), gc.nn.Tanh(), gc.nn.Linear(16, 8), gc.nn.ReLU(), gc.nn.Linear(8, 3)
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(5, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 3),
    )
    assert layer_order(ours, gc.randn(4, 5)) == layer_order(theirs, torch.randn(4, 5)) == [4, 2, 0]


def test_backend_route_selection():
    route = nccl_backend.choose_route
    assert route(None, "cpu", "anything") == "mpi"
    assert route("nccl", "cpu", None) == "mpi"  # CPU tensors always go through MPI
    assert route("mpi", "cuda", None) == "mpi"
    assert route(None, "cuda", None) == "nccl"
    assert route("nccl", "cuda", None) == "nccl"
    with pytest.raises(RuntimeError, match="'nccl' cannot carry cuda tensors: nccl4py is not installed"):
        route("nccl", "cuda", "nccl4py is not installed (pip install 'gradcore[nccl]')")
    assert route(None, "cuda", "the cuda device is emulated") == "mpi"  # quietly: tests emulate
    nccl_backend._warned = False
    with pytest.warns(UserWarning, match="through host memory and MPI: nccl4py is not installed"):
        assert route(None, "cuda", "nccl4py is not installed") == "mpi"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        route(None, "cuda", "nccl4py is not installed")  # warned once only


def test_nccl_reason_without_a_gpu():
    reason = nccl_backend.usable_reason()
    if gc.cuda.EMULATED:
        assert "emulated" in reason
    elif not gc.cuda.is_available():
        assert reason == "no CUDA device is available"
    elif not nccl_backend.nccl_installed():
        assert "pip install 'gradcore[nccl]'" in reason


@pytest.mark.parametrize(
    "name",
    [
        "gradcore.distributed",
        "gradcore.distributed.launch",
        "gradcore.distributed.sampler",
        "gradcore.distributed.collectives",
        "gradcore.distributed.process_group",
        "gradcore.nn.parallel.distributed",
    ],
)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_package_imports_without_starting_mpi():
    code = (
        "import sys, gradcore, gradcore.distributed, gradcore.nn.parallel; print('mpi4py.MPI' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    with pytest.raises(ValueError, match="not been initialized"):
        gc.distributed.get_rank()
    assert not gc.distributed.is_initialized()


@needs_mpi
def test_nccl_backend_without_nccl_is_a_clear_error_and_one_process_is_a_world():
    code = (
        "import gradcore.distributed as d\n"
        "try:\n    d.init_process_group('nccl')\nexcept RuntimeError as e:\n    print('ERR', e)\n"
        "assert not d.is_initialized()\n"
        "d.init_process_group(backend='gloo', timeout=30)\n"  # torch's CPU backend name: MPI here
        "print('WORLD', d.get_rank(), d.get_world_size())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GRADCORE_EMULATE_CUDA"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "WORLD 0 1" in proc.stdout  # plain python, no mpiexec: a world of one
    err = proc.stdout.split("ERR ")[1].splitlines()[0]
    assert err.startswith("backend 'nccl' cannot be used: ") and (
        "no CUDA device" in err or "nccl4py is not installed" in err
    ), err


# ---------------------------------------------------------------------------------------- 2 ranks
@needs_mpi
def test_collectives_on_two_ranks():
    out = _ok(mpirun(2, str(MPI_SCRIPTS / "collectives.py")))
    assert "rank 0: collectives OK on cpu" in out and "rank 1: collectives OK on cpu" in out


@needs_mpi
def test_ddp_equals_one_process_on_the_global_batch_and_no_sync():
    out = _ok(mpirun(2, str(MPI_SCRIPTS / "ddp.py")))
    assert "rank 0: ddp OK" in out and "rank 1: ddp OK" in out


@needs_mpi
@pytest.mark.parametrize(
    "mode,words",
    [
        ("raise", "rank 1 failed: ValueError: boom on rank 1"),
        ("ddp", "rank 1 failed: FloatingPointError: loss is nan on rank 1"),
    ],
)
def test_a_raising_rank_stops_the_others_with_a_clear_error(mode, words):
    proc = mpirun(2, str(MPI_SCRIPTS / "failure.py"), mode, "60", timeout=60)
    assert proc.returncode != 0
    assert f"gradcore.distributed: rank 0 stops: {words}" in proc.err, proc.err
    assert "PeerFailure" in proc.err and "finished" not in proc.out
    assert proc.elapsed < 40  # not the 60 s collective timeout: the notice stops rank 0 at once


@needs_mpi
def test_a_stalled_rank_makes_the_collective_time_out():
    proc = mpirun(2, str(MPI_SCRIPTS / "failure.py"), "stall", "2", env={"GRADCORE_DIST_ABORT_GRACE": "1"})
    assert proc.returncode != 0
    assert "DistributedTimeoutError: all_reduce on rank 0 of 2 timed out after 2 s" in proc.err, proc.err
    assert "rank(s) 1 did not answer within 1 s: aborting the job" in proc.err
    assert proc.elapsed < 60  # rank 1 sleeps 120 s: the abort ended it


def _epoch_numbers(lines):
    pat = re.compile(
        r"epoch (\d+)/\d+: loss ([\d.]+) train acc ([\d.]+)% test loss ([\d.]+) test acc ([\d.]+)"
    )
    return [tuple(map(float, m.groups())) for m in map(pat.search, lines) if m]


@needs_mpi
def test_train_distributed_on_two_ranks_then_resume_on_one(tmp_path):
    ck = tmp_path / "run.npz"
    args = ["--epochs", "2", "--hidden", "32", "--batch-size", "50", "--no-progress", "--seed", "3"]
    proc = mpirun(2, "-m", "gradcore", "train", "--distributed", *args, "--checkpoint", str(ck))
    out = _ok(proc).splitlines()
    assert sum("final test accuracy" in line for line in out) == 1, "only rank 0 prints"
    assert any("data-parallel on 2 ranks" in line for line in out)
    two_ranks = _epoch_numbers(out)
    one: list[str] = []
    cfg = gc.train.TrainConfig(epochs=2, hidden=[32], batch_size=50, progress=False, seed=3)
    gc.train.fit(cfg, log=one.append)
    one_process = _epoch_numbers(one)
    assert len(two_ranks) == len(one_process) == 2
    for a, b in zip(two_ranks, one_process):  # the same global batches: the same training, to rounding
        np.testing.assert_allclose(a[1::2], b[1::2], atol=2e-4)  # losses
        np.testing.assert_allclose(a[2::2], b[2::2], atol=0.5)  # accuracies in %
    state = gc.load(ck)
    assert sorted(state["model"]) == ["0.bias", "0.weight", "2.bias", "2.weight"], "no 'module.' prefix"
    resumed: list[str] = []
    more = dataclasses.replace(cfg, epochs=3, checkpoint=str(ck), resume=True)
    res = gc.train.fit(more, log=resumed.append)
    assert resumed[0] == f"resumed from {ck} after epoch 2" and len(res["history"]["train_loss"]) == 3
    again = mpirun(  # and the one-process checkpoint goes on on two ranks
        2,
        "-m",
        "gradcore",
        "train",
        "--distributed",
        *args[2:],
        "--epochs",
        "4",
        "--checkpoint",
        str(ck),
        "--resume",
    )
    assert "after epoch 3" in _ok(again) and "epoch 4/4" in again.out


@needs_mpi
def test_train_distributed_bad_option_fails_on_every_rank(tmp_path):
    proc = mpirun(
        2,
        "-m",
        "gradcore",
        "train",
        "--distributed",
        "--resume",
        "--checkpoint",
        str(tmp_path / "missing.npz"),
    )
    assert proc.returncode == 2, proc.err
    assert "argument --resume: needs an existing --checkpoint file" in proc.err


# ---------------------------------------------------------------------------------------- devices
@needs_mpi
@pytest.mark.cuda
def test_cuda_tensors_on_two_ranks_through_the_host():
    if not gc.cuda.is_available():
        pytest.skip("no CUDA device (GRADCORE_EMULATE_CUDA=1 emulates one)")
    env = {"GRADCORE_EMULATE_CUDA": "1"} if gc.cuda.EMULATED else {}
    # Both ranks share this machine's one GPU, which NCCL refuses: through the host (backend "mpi")
    out = _ok(mpirun(2, str(MPI_SCRIPTS / "collectives.py"), "cuda", "mpi", env=env))
    assert "rank 1: collectives OK on cuda" in out
    out = _ok(mpirun(2, str(MPI_SCRIPTS / "ddp.py"), "cuda", "mpi", env=env))
    assert "rank 1: ddp OK on cuda" in out


@needs_mpi
@pytest.mark.cuda
def test_nccl_one_rank_on_a_real_gpu():
    if gc.cuda.EMULATED or not gc.cuda.is_available():
        pytest.skip("needs a real GPU (none here, or the device is emulated): NCCL cannot run without one")
    if not nccl_backend.nccl_installed():
        pytest.skip("nccl4py is not installed (pip install 'gradcore[nccl]')")
    out = _ok(mpirun(1, str(MPI_SCRIPTS / "nccl_one_rank.py")))
    assert "nccl OK" in out


class _FakeNccl:
    """Stands in for nccl4py (module ``nccl.core``) on the emulated device, whose device pointers are host
    addresses: it records every call and does one rank's work with memmove, so the glue (pointers,
    counts, dtypes, ops, stream, contiguous copies) is checked without a GPU."""

    class NcclRedOp:
        SUM, AVG, PROD, MIN, MAX = "SUM", "AVG", "PROD", "MIN", "MAX"

    class UniqueId:
        @staticmethod
        def from_bytes(b):
            assert len(b) == 128
            return b

    calls: list = []

    @staticmethod
    def get_unique_id():
        return b"u" * 128

    class Communicator:
        @classmethod
        def init(cls, nranks, rank, uid):
            assert (nranks, rank, uid) == (1, 0, b"u" * 128)
            return cls()

        def allreduce(self, send, recv, op, *, stream):
            _FakeNccl.calls.append(("allreduce", send.__cuda_array_interface__, op, stream))
            assert send.__cuda_array_interface__ == recv.__cuda_array_interface__  # in place

        def broadcast(self, send, recv, root, *, stream):
            _FakeNccl.calls.append(("broadcast", recv.__cuda_array_interface__, root, stream))

        def allgather(self, send, recv, *, stream):
            import ctypes

            s, r = send.__cuda_array_interface__, recv.__cuda_array_interface__
            nbytes = s["shape"][0] * np.dtype(s["typestr"]).itemsize
            ctypes.memmove(r["data"][0], s["data"][0], nbytes)
            _FakeNccl.calls.append(("allgather", s, r, stream))

        def destroy(self):
            _FakeNccl.calls.append(("destroy",))


class _OneRankGroup:
    rank, size, nccl = 0, 1, None

    class comm:  # noqa: N801 - stands in for an mpi4py communicator
        @staticmethod
        def Ibcast(buf, root):  # noqa: N802
            return None

    def wait(self, requests, what):
        pass


@pytest.mark.cuda
def test_nccl_glue_with_a_stand_in_for_nccl4py(monkeypatch):
    if not gc.cuda.EMULATED:
        pytest.skip("the stand-in reads device pointers as host memory: emulated device only")
    import types

    pkg, core = types.ModuleType("nccl"), types.ModuleType("nccl.core")
    for name in ("NcclRedOp", "UniqueId", "get_unique_id", "Communicator"):
        setattr(core, name, getattr(_FakeNccl, name))
    pkg.core = core
    monkeypatch.setitem(sys.modules, "nccl", pkg)
    monkeypatch.setitem(sys.modules, "nccl.core", core)
    monkeypatch.setattr(nccl_backend, "usable_reason", lambda: None)
    _FakeNccl.calls.clear()
    comm = nccl_backend.NCCLCommunicator(_OneRankGroup())
    stream = gc.cuda.Stream()
    with gc.cuda.stream(stream):
        t = gc.tensor([[1.0, 2.0], [3.0, 4.0]], device="cuda")
        comm.all_reduce(t, "avg")
        kind, cai, op, on = _FakeNccl.calls[-1]
        assert (kind, op, on) == ("allreduce", "AVG", stream.cuda_stream)  # on the current stream
        assert cai["data"][0] == t.__cuda_array_interface__["data"][0] and cai["shape"] == (4,)
        assert cai["typestr"] == "<f4"
        flags = gc.tensor([True, False], device="cuda")
        comm.all_reduce(flags, "sum")  # bool: or = max over 0/1 bytes
        assert _FakeNccl.calls[-1][1]["typestr"] == "|u1" and _FakeNccl.calls[-1][2] == "MAX"
        comm.all_reduce(flags, "product")
        assert _FakeNccl.calls[-1][2] == "MIN"
        view = t.T  # not contiguous: a contiguous copy goes to NCCL and is written back
        version = view._version
        comm.broadcast(view, 0)
        assert _FakeNccl.calls[-1][1]["data"][0] != t.__cuda_array_interface__["data"][0]
        assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]] and view._version > version
        n = len(_FakeNccl.calls)
        comm.all_reduce(gc.zeros(0, device="cuda"), "sum")  # nothing to send: no call
        assert len(_FakeNccl.calls) == n
        outs = [gc.zeros(2, 2, dtype=gc.int64, device="cuda")]
        comm.all_gather(outs, gc.tensor([[5, 6], [7, 8]], device="cuda"))
        assert outs[0].tolist() == [[5, 6], [7, 8]] and _FakeNccl.calls[-1][1]["typestr"] == "<i8"
        with pytest.raises(TypeError, match="NCCL cannot carry"):
            comm._check_dtype(types.SimpleNamespace(dtype=types.SimpleNamespace(name="complex64")), "x")
    comm.destroy()
    assert _FakeNccl.calls[-1] == ("destroy",)


def test_train_warns_when_mpiexec_started_copies_without_distributed(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    with pytest.warns(UserWarning, match="mpiexec started 2 processes but --distributed was not given"):
        gc.train_dist.validate(gc.train.TrainConfig(), gc.train.validate_config)
    monkeypatch.setenv("PMI_SIZE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gc.train_dist.validate(gc.train.TrainConfig(), gc.train.validate_config)


def test_train_distributed_without_mpi_is_an_option_error(monkeypatch):
    monkeypatch.setattr(launch, "mpi_available", lambda: False)
    with pytest.raises(gc.train.ConfigError, match="distributed: needs mpi4py") as info:
        gc.train.fit(gc.train.TrainConfig(distributed=True, epochs=1))
    assert info.value.option == "--distributed"
    assert not gc.distributed.is_initialized()
