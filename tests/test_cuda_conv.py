"""The CUDA conv2d kernels themselves (csrc/conv_cuda.cu), both variants (0: direct, 1: implicit GEMM),
against the CPU twins (gradcore._C.cpu) and torch in float64: random shapes with groups, strides,
dilation and padding, the tile shapes, split-K, grid chunking, the int32 fallback, empty operands and
determinism. Real GPU only: the emulated device runs the CPU twins, so these would compare them with
themselves (tests/test_conv_cuda_sim.py runs the same device code on the host)."""

import contextlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcore as gc
from gradcore import backend
from gradcore.testing import assert_close

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not gc.cuda.is_available() or gc.cuda.EMULATED,
        reason="checks the CUDA conv kernels: needs a real GPU (the emulated device runs the CPU twins)",
    ),
]
KERNELS = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")


@contextlib.contextmanager
def conv_variant(v):
    native = gc.cuda.native()
    old = native.conv_variant()
    native.set_conv_variant(v)
    try:
        yield
    finally:
        native.set_conv_variant(old)


def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def run_kernels(device, x, w, gy, stride, padding, dilation, groups):
    """(y, gx, gw) from the native kernels on ``device``; outputs start as NaN, so every element must be
    written."""
    be = backend.get(device)
    args = (*stride, *padding, *dilation, groups)

    def nan_like(shape):
        return be.from_numpy(np.full(shape, np.nan, x.dtype))

    dx, dw, dgy = be.from_numpy(x), be.from_numpy(w), be.from_numpy(gy)
    y, gx, gw = nan_like(gy.shape), nan_like(x.shape), nan_like(w.shape)
    backend.kernel(device, "conv2d_forward")(dx, dw, y, *args)
    backend.kernel(device, "conv2d_backward_input")(dgy, dw, gx, *args)
    backend.kernel(device, "conv2d_backward_weight")(dx, dgy, gw, *args)
    return be.to_numpy(y), be.to_numpy(gx), be.to_numpy(gw)


def torch_reference(x, w, gy, stride, padding, dilation, groups):
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.conv2d(tx, tw, None, stride, padding, dilation, groups)
    y.backward(torch.tensor(gy, dtype=torch.float64))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()


def make_case(n, c, h, w_, o, kh, kw, stride, padding, dilation, groups, dtype, seed=0):
    rng = np.random.default_rng(seed)
    oh = out_size(h, kh, stride[0], padding[0], dilation[0])
    ow = out_size(w_, kw, stride[1], padding[1], dilation[1])
    x = rng.normal(size=(n, c, h, w_)).astype(dtype)
    w = rng.normal(size=(o, c // groups, kh, kw)).astype(dtype)
    gy = rng.normal(size=(n, o, oh, ow)).astype(dtype)
    return x, w, gy


def check_case(variant, x, w, gy, stride, padding, dilation, groups):
    with conv_variant(variant):
        got = run_kernels("cuda", x, w, gy, stride, padding, dilation, groups)
    refs = torch_reference(x, w, gy, stride, padding, dilation, groups)
    cpu = run_kernels("cpu", x, w, gy, stride, padding, dilation, groups)
    # The sums run over (C/g)KhKw, (O/g)KhKw and N*OH*OW terms of unit-variance products.
    n, o, oh, ow = gy.shape
    og, (cg, kh, kw) = o // groups, w.shape[1:]
    lengths = (cg * kh * kw, og * kh * kw, n * oh * ow)
    eps = 1e-6 if x.dtype == np.float32 else 1e-14
    for name, g, r, c, length in zip(KERNELS, got, refs, cpu, lengths):
        tol = 4 * eps * np.sqrt(max(length, 1))
        assert g.dtype == x.dtype
        assert_close(g, r, atol=tol, rtol=tol, name=f"{name} variant {variant} vs torch")
        assert_close(g, c, atol=tol, rtol=tol, name=f"{name} variant {variant} vs the CPU twin")


CASES = [
    # n, c, h, w, o, kh, kw, stride, padding, dilation, groups
    (2, 3, 7, 6, 5, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (4, 1, 28, 28, 32, 3, 3, (1, 1), (1, 1), (1, 1), 1),  # the VAE's first layer (N = 32, K = 9)
    (4, 32, 14, 14, 32, 3, 3, (2, 2), (1, 1), (1, 1), 1),  # strided: a sparse gather in backward-input
    (2, 8, 9, 11, 12, 3, 2, (2, 3), (1, 0), (2, 1), 4),  # groups, dilation, mixed strides
    (1, 6, 5, 5, 6, 3, 3, (1, 1), (2, 2), (1, 1), 6),  # depthwise, padding past the kernel's reach
    (3, 4, 4, 4, 200, 1, 1, (1, 1), (0, 0), (1, 1), 1),  # 1x1, several column tiles
    (2, 150, 5, 5, 3, 3, 3, (1, 1), (1, 1), (1, 1), 1),  # K = 1350 in many slices, N = 3
    (1, 3, 12, 12, 4, 5, 5, (4, 4), (3, 3), (2, 2), 1),
    (2, 2, 1, 1, 3, 3, 3, (1, 1), (1, 1), (1, 1), 1),  # 1x1 input, padding only
    (
        4,
        16,
        14,
        14,
        32,
        4,
        4,
        (2, 2),
        (1, 1),
        (1, 1),
        1,
    ),  # a VAE decoder step (backward-input by stride phase)
    (2, 6, 11, 10, 4, 3, 3, (3, 2), (1, 2), (2, 3), 2),  # stride and dilation sharing factors
    # the benchmark layer at batch 8 (the direct variant runs under compute-sanitizer too): split-K
    (8, 32, 28, 28, 64, 3, 3, (1, 1), (1, 1), (1, 1), 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("variant", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[:7])))
def test_variants_match_torch_and_the_cpu_twin(case, variant, dtype):
    n, c, h, w, o, kh, kw, stride, padding, dilation, groups = case
    x, wt, gy = make_case(n, c, h, w, o, kh, kw, stride, padding, dilation, groups, dtype)
    check_case(variant, x, wt, gy, stride, padding, dilation, groups)


@st.composite
def conv_case(draw):
    groups = draw(st.integers(1, 3))
    c, o = groups * draw(st.integers(1, 5)), groups * draw(st.integers(1, 40))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]) + draw(st.integers(0, 9))
    w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]) + draw(st.integers(0, 9))
    return draw(st.integers(1, 4)), c, h, w, o, kh, kw, stride, padding, dilation, groups


@settings(max_examples=40, deadline=None)
@given(case=conv_case(), variant=st.sampled_from([0, 1]), seed=st.integers(0, 2**16))
def test_random_geometries(case, variant, seed):
    n, c, h, w, o, kh, kw, stride, padding, dilation, groups = case
    x, wt, gy = make_case(n, c, h, w, o, kh, kw, stride, padding, dilation, groups, np.float32, seed)
    check_case(variant, x, wt, gy, stride, padding, dilation, groups)


@pytest.mark.parametrize("variant", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_rows_that_no_window_reaches(variant, dtype):
    # conv_transpose2d with output_padding: x (its output) has rows and columns past the last window, so y
    # is smaller than conv2d's formula gives. Reference: torch on the full-size y, the extra outputs cut off
    # (forward) or fed zero gradients (backward).
    stride, padding, dilation = (2, 1), (1, 0), (1, 3)
    x, w, gy_full = make_case(2, 4, 11, 9, 6, 3, 2, stride, padding, dilation, 2, dtype)
    oh, ow = gy_full.shape[2] - 1, gy_full.shape[3] - 2
    gy = np.ascontiguousarray(gy_full[:, :, :oh, :ow])
    gy_padded = np.zeros_like(gy_full)
    gy_padded[:, :, :oh, :ow] = gy
    y_ref, gx_ref, gw_ref = torch_reference(x, w, gy_padded, stride, padding, dilation, 2)
    with conv_variant(variant):
        y, gx, gw = run_kernels("cuda", x, w, gy, stride, padding, dilation, 2)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close(y, y_ref[:, :, :oh, :ow], atol=tol, rtol=tol, name="y")
    assert_close(gx, gx_ref, atol=tol, rtol=tol, name="gx")
    assert_close(gw, gw_ref, atol=tol * 10, rtol=tol, name="gw")


@pytest.mark.parametrize("variant", [0, 1])
def test_more_groups_than_a_grid_dimension_allows(variant):
    # 70000 groups: the implicit GEMM puts groups on gridDim.z (at most 65535) and launches in chunks.
    g = 70000
    check_case(
        variant,
        *make_case(2, g, 3, 3, g, 2, 2, (1, 1), (0, 0), (1, 1), g, np.float32),
        (1, 1),
        (0, 0),
        (1, 1),
        g,
    )


@pytest.mark.parametrize("variant", [0, 1])
def test_more_column_tiles_than_grid_y_allows(variant):
    # 2^23 + 5 output channels of a 1x1 input: forward's column tiles pass 65535 and loop in the kernel.
    o = (1 << 23) + 5
    x = np.array([[[[1.5]], [[-2.0]]]], np.float32)
    w = np.random.default_rng(1).normal(size=(o, 2, 1, 1)).astype(np.float32)
    gy = np.random.default_rng(2).normal(size=(1, o, 1, 1)).astype(np.float32)
    be = backend.get("cuda")
    args = (1, 1, 0, 0, 1, 1, 1)
    with conv_variant(variant):
        y = be.from_numpy(np.full((1, o, 1, 1), np.nan, np.float32))
        backend.kernel("cuda", "conv2d_forward")(be.from_numpy(x), be.from_numpy(w), y, *args)
        gw = be.from_numpy(np.full(w.shape, np.nan, np.float32))
        backend.kernel("cuda", "conv2d_backward_weight")(be.from_numpy(x), be.from_numpy(gy), gw, *args)
    assert_close(be.to_numpy(y)[0, :, 0, 0], w[:, 0, 0, 0] * 1.5 - 2.0 * w[:, 1, 0, 0], atol=1e-5, rtol=1e-6)
    assert_close(be.to_numpy(gw)[:, :, 0, 0], gy[0, :, 0, :] * x[0, :, 0, 0], atol=0, rtol=1e-6)


def test_shapes_past_int32_take_the_direct_kernel():
    # A stride of 2^31 does not fit the implicit GEMM's int32 coordinates: variant 1 falls back to the
    # direct kernel (int64), which must still give the right answer.
    x, w, gy = make_case(1, 2, 3, 3, 2, 1, 1, (1, 1), (0, 0), (1, 1), 1, np.float64)
    stride = (1 << 31, 1)
    gy = np.ascontiguousarray(gy[:, :, :1, :])  # one output row
    check_case(1, x, w, gy, stride, (0, 0), (1, 1), 1)


@pytest.mark.parametrize("variant", [0, 1])
def test_empty_batch_and_channel_counts(variant):
    be = backend.get("cuda")
    with conv_variant(variant):
        # No batch: y and gx are empty; gw is a sum over nothing and must be zeros (not left as NaN).
        x, w, gy = make_case(0, 4, 5, 5, 6, 3, 3, (1, 1), (1, 1), (1, 1), 2, np.float32)
        y, gx, gw = run_kernels("cuda", x, w, gy, (1, 1), (1, 1), (1, 1), 2)
        assert y.shape == (0, 6, 5, 5) and gx.shape == (0, 4, 5, 5)
        assert (gw == 0).all()
        # No input channels: y is a sum over nothing.
        x = np.zeros((2, 0, 4, 4), np.float32)
        y = be.from_numpy(np.full((2, 3, 2, 2), np.nan, np.float32))
        wt = be.from_numpy(np.zeros((3, 0, 3, 3), np.float32))
        backend.kernel("cuda", "conv2d_forward")(be.from_numpy(x), wt, y, 1, 1, 0, 0, 1, 1, 1)
        assert (be.to_numpy(y) == 0).all()


def test_backward_weight_with_split_k_is_deterministic():
    x, w, gy = make_case(64, 16, 28, 28, 32, 3, 3, (1, 1), (1, 1), (1, 1), 1, np.float32)
    with conv_variant(1):
        first = run_kernels("cuda", x, w, gy, (1, 1), (1, 1), (1, 1), 1)
        second = run_kernels("cuda", x, w, gy, (1, 1), (1, 1), (1, 1), 1)
    for a, b in zip(first, second):
        assert np.array_equal(a, b)


def test_variant_selection_and_bad_input():
    native = gc.cuda.native()
    with pytest.raises(ValueError, match="conv variant must be 0"):
        native.set_conv_variant(2)
    assert native.conv_variant() in (0, 1)
    be = backend.get("cuda")
    x = be.from_numpy(np.zeros((1, 2, 5, 5), np.float32))
    w = be.from_numpy(np.zeros((3, 2, 3, 3), np.float64))
    y = be.from_numpy(np.zeros((1, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="conv2d_forward: dtype mismatch"):
        backend.kernel("cuda", "conv2d_forward")(x, w, y, 1, 1, 0, 0, 1, 1, 1)
    w = be.from_numpy(np.zeros((3, 2, 3, 3), np.float32))
    with pytest.raises(ValueError, match="output spatial size does not match"):
        backend.kernel("cuda", "conv2d_forward")(x, w, y, 2, 1, 0, 0, 1, 1, 1)
    with pytest.raises(ValueError, match="channels not divisible by groups"):
        backend.kernel("cuda", "conv2d_backward_weight")(x, y, w, 1, 1, 0, 0, 1, 1, 3)
