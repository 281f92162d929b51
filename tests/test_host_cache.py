"""The CPU host buffer cache (csrc/allocator_cpu.cpp): which tensors it serves, huge-page alignment of its
blocks, reuse without page faults across training steps, and values written through cached blocks."""

import resource

import numpy as np

import gradcore as gc
from gradcore import _C
from gradcore.nn import functional as F

MIB = 1 << 20


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _served() -> int:
    stats = dict(_C.cpu.memory_stats())
    return stats["allocations"] + stats["cache_hits"]


def test_threshold_is_one_mib_so_large_batch_activations_are_cached():
    # 4-8 MiB activations (the MLP at batch 8192) page-faulted in every step through glibc's heap trim.
    assert _C.cpu.cache_min_bytes == MIB
    n0 = _served()
    small = gc.empty(MIB // 4 - 1)  # float32: one element short of the threshold
    assert _served() == n0
    big = gc.empty(MIB // 4)
    assert _served() == n0 + 1
    assert small.shape == (MIB // 4 - 1,) and big.shape == (MIB // 4,)


def test_blocks_of_two_mib_and_more_are_huge_page_aligned():
    for n in (2 * MIB, 3 * MIB + 5, 9 * MIB):
        x = gc.empty(n // 4)
        assert x.numpy().ctypes.data % (2 * MIB) == 0, n


def test_smaller_blocks_are_rounded_to_64_kib_not_to_a_huge_page():
    before = dict(_C.cpu.memory_stats())["cached_bytes"]
    x = gc.empty((MIB + 100) // 4 + 1)
    del x
    grown = dict(_C.cpu.memory_stats())["cached_bytes"] - before
    assert grown in (0, MIB + 64 * 1024)  # 0 when an already cached block served it


def test_cached_blocks_hold_the_values_written_to_them():
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((1024, 512)).astype(np.float32)  # 2 MiB: a huge-page block
    a = gc.tensor(a_np)
    for _ in range(3):  # outputs reuse freed blocks: stale data must never show through
        out = (a * 2.0 + 1.0).relu()
        np.testing.assert_allclose(out.numpy(), np.maximum(a_np * 2.0 + 1.0, 0), rtol=1e-6)
        del out


def test_a_repeated_large_step_does_not_page_fault_once_warm():
    # Linear at batch 8192: 8 MiB activations and gradients allocated and freed every step.
    rng = np.random.default_rng(1)
    x = gc.tensor(rng.standard_normal((8192, 64)).astype(np.float32))
    w = gc.tensor(rng.standard_normal((256, 64)).astype(np.float32), requires_grad=True)

    def step():
        y = F.linear(x, w).relu()
        y.sum().backward()
        w.grad = None

    for _ in range(3):
        step()
    f0 = _minor_faults()
    for _ in range(10):
        step()
    # glibc's heap trim would fault ~2,000 pages (8 MiB) back in per step; cached blocks none.
    assert _minor_faults() - f0 < 500
