"""gradcore benchmarks against NumPy, CuPy and PyTorch, measured on the same work in one run.

    python benchmarks/run.py --device cpu            # full CPU table, JSON to benchmarks/results/cpu.json
    python benchmarks/run.py --device cuda           # GPU table
    python benchmarks/run.py --device cpu --quick    # smoke run: small sizes, correctness checks only

Every case checks gradcore's result against a reference before timing. Timing: warm-up, then the
median of >= 20 runs, synchronizing the device around each run. ratio = peer time / gradcore time
(above 1: gradcore is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import gradcore as gc
from gradcore import nn
from gradcore.nn import functional as F
from gradcore.ops import ReluBackward

HERE = os.path.dirname(os.path.abspath(__file__))


def optional(name: str) -> Any:
    try:
        return __import__(name)
    except Exception:  # noqa: BLE001 - a broken install counts as absent too
        return None


@dataclass
class Result:
    case: str
    size: str
    unit: str
    work: float  # units of work per run (FLOP or bytes), for the derived rate
    times: dict[str, float | str] = field(default_factory=dict)  # library -> median seconds, or why absent
    rounds: dict[str, list[float | str]] = field(default_factory=dict)  # library -> each process's median

    def rate(self, lib: str) -> float | None:
        t = self.times.get(lib)
        return self.work / t / 1e9 if isinstance(t, float) and self.work else None


class Bench:
    def __init__(self, device: str, quick: bool, lib: str | None = None) -> None:
        self.device, self.quick = device, quick
        self.lib = lib  # time only this library (the others are left to their own processes)
        self.np = np
        # A process that times gradcore or NumPy alone does not import torch: with torch loaded, the
        # gradcore MLP step read 1.3-1.6x slower (b64 533 vs 339 us, b8192 46 vs 30 ms; same machine,
        # minutes apart). The checks against torch run in torch's own process, which runs ours too.
        self.torch = optional("torch") if lib in (None, "torch") else None
        if self.torch is not None and device == "cuda" and not self.torch.cuda.is_available():
            self.torch = None
        self.cupy = optional("cupy") if device == "cuda" else None
        self.results: list[Result] = []
        self.reps = 3 if quick else 20

    # ------------------------------------------------------------ timing
    def sync(self, lib: str) -> None:
        if self.device != "cuda":
            return
        if lib == "gradcore":
            gc.cuda.synchronize()
        elif lib == "torch":
            self.torch.cuda.synchronize()
        elif lib == "cupy":
            self.cupy.cuda.runtime.deviceSynchronize()

    def time(self, lib: str, fn: Callable[[], Any]) -> float:
        for _ in range(2 if self.quick else 3):
            fn()
        self.sync(lib)
        samples = []
        for _ in range(self.reps):
            t0 = time.perf_counter()
            fn()
            self.sync(lib)
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    def run(
        self, case: str, size: str, unit: str, work: float, fns: dict[str, Callable[[], Any] | str]
    ) -> None:
        res = Result(case, size, unit, work)
        for lib, fn in fns.items():
            if self.lib is not None and lib != self.lib:
                continue
            if isinstance(fn, str):
                res.times[lib] = fn
                continue
            # Let the previous library's OpenMP threads stop spinning: two thread pools busy-waiting on
            # the same cores distort both (seen here: 30x slowdowns on a 2-core machine).
            time.sleep(0.5)
            try:
                res.times[lib] = self.time(lib, fn)
            except Exception as e:  # noqa: BLE001 - a failing peer is reported, gradcore failures re-raise
                if lib == "gradcore":
                    raise
                res.times[lib] = f"error: {type(e).__name__}: {e}"[:80]
        self.results.append(res)
        print(
            f"  {case} {size}: " + ", ".join(f"{k} {_fmt_time(v)}" for k, v in res.times.items()), flush=True
        )

    # ------------------------------------------------------------ helpers
    def peer_arrays(self, *arrays: np.ndarray) -> dict[str, list[Any]]:
        """The same host arrays on each available peer library for this device."""
        out: dict[str, list[Any]] = {}
        if self.device == "cpu":
            out["numpy"] = list(arrays)
        elif self.cupy is not None:
            out["cupy"] = [self.cupy.asarray(a) for a in arrays]
        if self.torch is not None:
            out["torch"] = [self.torch.from_numpy(np.ascontiguousarray(a)).to(self.device) for a in arrays]
        return out

    def absent(self) -> dict[str, str]:
        libs = ["numpy"] if self.device == "cpu" else ["cupy"]
        libs.append("torch")
        return {
            lib: "absent"
            for lib in libs
            if (lib == "torch" and self.torch is None) or (lib == "cupy" and self.cupy is None)
        }

    def g(self, a: np.ndarray, requires_grad: bool = False) -> gc.Tensor:
        return gc.tensor(a, device=self.device, requires_grad=requires_grad)


def check(name: str, got: Any, expected: Any, atol: float, rtol: float) -> None:
    got = np.asarray(got, np.float64)
    expected = np.asarray(expected, np.float64)
    err = np.abs(got - expected) - (atol + rtol * np.abs(expected))
    if got.shape != expected.shape or np.any(err > 0) or not np.all(np.isfinite(got)):
        raise SystemExit(
            f"benchmark {name}: gradcore result differs from the reference (max err {err.max():.3g})"
        )


# ------------------------------------------------------------------ cases
def bench_matmul(b: Bench) -> None:
    sizes = [64, 128] if b.quick else ([256, 1024, 2048] + ([4096] if b.device == "cuda" else []))
    rng = np.random.default_rng(0)
    for n in sizes:
        a_np = rng.standard_normal((n, n), dtype=np.float32)
        b_np = rng.standard_normal((n, n), dtype=np.float32)
        ga, gb = b.g(a_np), b.g(b_np)
        check(
            f"matmul {n}",
            (ga @ gb).numpy(),
            a_np.astype(np.float64) @ b_np,
            atol=1e-3 * np.sqrt(n),
            rtol=1e-3,
        )
        fns: dict[str, Any] = {"gradcore": lambda ga=ga, gb=gb: ga @ gb}
        for lib, (pa, pb) in b.peer_arrays(a_np, b_np).items():
            fns[lib] = lambda pa=pa, pb=pb: pa @ pb
        fns.update(b.absent())
        b.run("matmul fp32", f"{n}^3", "GFLOP/s", 2.0 * n**3, fns)


def bench_elementwise(b: Bench) -> None:
    n = 1 << 16 if b.quick else (64 << 20 if b.device == "cuda" else 16 << 20)
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal(n, dtype=np.float32)
    g_np = rng.standard_normal(n, dtype=np.float32)
    x, gr = b.g(x_np), b.g(g_np)
    check("relu", x.relu().numpy(), np.maximum(x_np, 0), 0, 0)
    check("relu_bwd", ReluBackward.apply(gr, x).numpy(), g_np * (x_np > 0), 0, 0)
    check("sigmoid", x.sigmoid().numpy(), 1 / (1 + np.exp(-x_np.astype(np.float64))), 1e-6, 1e-5)
    peers = b.peer_arrays(x_np, g_np)
    size = f"{n >> 20}M" if n >= 1 << 20 else str(n)
    for case, ours, bytes_per in (
        ("relu fwd", lambda: x.relu(), 8),
        ("relu bwd", lambda: ReluBackward.apply(gr, x), 12),
        ("sigmoid fwd", lambda: x.sigmoid(), 8),
    ):
        fns: dict[str, Any] = {"gradcore": ours}
        for lib, (px, pg) in peers.items():
            fns[lib] = _peer_elementwise(b, lib, case, px, pg)
        fns.update(b.absent())
        b.run(case, size, "GB/s", float(bytes_per * n), fns)
    if b.device == "cuda":  # the ceiling for memory-bound kernels: a device copy
        fns = {"gradcore": lambda: x.clone()}
        for lib, (px, _) in peers.items():
            fns[lib] = (lambda px=px: px.clone()) if lib == "torch" else (lambda px=px: px.copy())
        b.run("copy (ceiling)", size, "GB/s", float(8 * n), fns)


def _peer_elementwise(b: Bench, lib: str, case: str, x: Any, g: Any) -> Callable[[], Any]:
    if lib == "torch":
        t = b.torch
        return {
            "relu fwd": lambda: t.relu(x),
            "relu bwd": lambda: t.ops.aten.threshold_backward(g, x, 0),
            "sigmoid fwd": lambda: t.sigmoid(x),
        }[case]
    xp = np if lib == "numpy" else b.cupy
    return {
        "relu fwd": lambda: xp.maximum(x, 0),
        "relu bwd": lambda: xp.where(x > 0, g, 0),
        "sigmoid fwd": lambda: 1 / (1 + xp.exp(-x)),
    }[case]


def bench_softmax_ce(b: Bench) -> None:
    shapes = [(64, 10), (256, 1000)] if b.quick else [(8192, 32768), (65536, 1024), (64, 10)]
    rng = np.random.default_rng(2)
    for n, c in shapes:
        logits_np = rng.standard_normal((n, c), dtype=np.float32)
        t_np = rng.integers(0, c, n)
        logits = b.g(logits_np, requires_grad=True)
        targets = b.g(t_np)

        def ours(logits=logits, targets=targets):
            logits.grad = None
            F.cross_entropy(logits, targets).backward()

        ours()
        x64 = logits_np.astype(np.float64)
        p = np.exp(x64 - x64.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(n), t_np] -= 1
        check(f"softmax_ce {n}x{c}", logits.grad.numpy(), p / n, 1e-6, 1e-4)
        fns: dict[str, Any] = {"gradcore": ours}
        for lib, (px, pt) in b.peer_arrays(logits_np, t_np).items():
            fns[lib] = _peer_ce(b, lib, px, pt)
        fns.update(b.absent())
        b.run("softmax-CE fwd+bwd", f"{n}x{c}", "GB/s", float(8 * n * c), fns)


def _peer_ce(b: Bench, lib: str, x: Any, t: Any) -> Callable[[], Any]:
    if lib == "torch":
        xt = x.clone().requires_grad_(True)

        def step():
            xt.grad = None
            b.torch.nn.functional.cross_entropy(xt, t).backward()

        return step
    xp = np if lib == "numpy" else b.cupy

    def manual():
        m = x.max(axis=1, keepdims=True)
        e = xp.exp(x - m)
        s = e.sum(axis=1, keepdims=True)
        rows = xp.arange(x.shape[0])
        loss = (xp.log(s[:, 0]) + m[:, 0] - x[rows, t]).mean()
        grad = e / s
        grad[rows, t] -= 1
        grad /= x.shape[0]
        return loss, grad

    return manual


def bench_adam(b: Bench) -> None:
    cases = [("1M params", [1 << 20])] if b.quick else [("100M params", [100_000_000])]
    cases.append(("MLP 784-256-128-10 (6 tensors)", [256 * 784, 256, 128 * 256, 128, 10 * 128, 10]))
    rng = np.random.default_rng(3)
    for label, sizes in cases:
        host = [rng.standard_normal(s, dtype=np.float32) for s in sizes]
        grads = [rng.standard_normal(s, dtype=np.float32) for s in sizes]
        params = [b.g(h, requires_grad=True) for h in host]
        for p, gr in zip(params, grads):
            p.grad = b.g(gr)
        opt = gc.optim.Adam(params, lr=1e-3)
        opt.step()
        expected = [
            h - 1e-3 * gr / (np.abs(gr) + 1e-8) for h, gr in zip(host, grads)
        ]  # step 1: m_hat=g, v_hat=g^2
        check(f"adam {label}", params[0].numpy(), expected[0], 1e-6, 1e-5)
        total = sum(sizes)
        fns: dict[str, Any] = {"gradcore": opt.step}
        peers = b.peer_arrays(*host, *grads)
        for lib, arrays in peers.items():
            fns[lib] = _peer_adam(b, lib, arrays[: len(sizes)], arrays[len(sizes) :])
        fns.update(b.absent())
        b.run("Adam step", label, "GB/s", float(16 * total + 12 * total), fns)  # p,m,v read+write, g read


def _peer_adam(b: Bench, lib: str, params: list[Any], grads: list[Any]) -> Callable[[], Any]:
    if lib == "torch":
        torch = b.torch
        ps = [p.clone().requires_grad_(True) for p in params]
        for p, gr in zip(ps, grads):
            p.grad = gr.clone()
        try:
            opt = torch.optim.Adam(ps, lr=1e-3, fused=True)
            opt.step()
        except (RuntimeError, TypeError):
            opt = torch.optim.Adam(ps, lr=1e-3, foreach=True)
        return opt.step
    xp = np if lib == "numpy" else b.cupy
    ms = [xp.zeros_like(p) for p in params]
    vs = [xp.zeros_like(p) for p in params]
    state = {"t": 0}

    def step():
        state["t"] += 1
        c1, c2 = 1 - 0.9 ** state["t"], 1 - 0.999 ** state["t"]
        for p, gr, m, v in zip(params, grads, ms, vs):
            m *= 0.9
            m += 0.1 * gr
            v *= 0.999
            v += 0.001 * gr * gr
            p -= 1e-3 * (m / c1) / (xp.sqrt(v / c2) + 1e-8)

    return step


def bench_mlp(b: Bench) -> None:
    from reference_mlp import ReferenceMLP

    mlp = [784, 256, 128, 10]
    configs = [(mlp, 64)] if b.quick else [(mlp, 64), (mlp, 1024), (mlp, 8192)]
    if b.device == "cuda" and not b.quick:
        configs.append(([4096, 4096, 4096, 1000], 4096))
    rng = np.random.default_rng(4)
    for sizes, batch in configs:
        x_np = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
        y_np = rng.integers(0, sizes[-1], batch)
        ref = ReferenceMLP(np, sizes)
        model = _gradcore_mlp(sizes, ref.params, b.device)
        opt = gc.optim.Adam(model.parameters(), lr=1e-3)
        x, y = b.g(x_np), b.g(y_np)

        def ours(model=model, opt=opt, x=x, y=y):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        loss = ours()
        expected = ReferenceMLP(np, sizes).step(x_np, y_np)
        check(f"mlp step {sizes}", loss.item(), expected, 1e-4, 1e-4)
        flops = 6.0 * batch * sum(a * c for a, c in zip(sizes[:-1], sizes[1:]))
        fns: dict[str, Any] = {"gradcore": ours}
        if b.device == "cpu":
            fns["numpy"] = lambda ref=ref, x_np=x_np, y_np=y_np: ref.step(x_np, y_np)
        elif b.cupy is not None:
            cref = ReferenceMLP(b.cupy, sizes)
            cx, cy = b.cupy.asarray(x_np), b.cupy.asarray(y_np)
            fns["cupy"] = lambda cref=cref, cx=cx, cy=cy: cref.step(cx, cy)
        if b.torch is not None:
            fns["torch"] = _torch_mlp_step(b, sizes, ref.params, x_np, y_np)
            if b.device == "cuda":
                fns["torch graph"] = _torch_graph_step(b, sizes, ref.params, x_np, y_np)
        fns.update(b.absent())
        b.run("MLP train step (CE+Adam)", f"{'-'.join(map(str, sizes))} b{batch}", "GFLOP/s", flops, fns)


def bench_tiny(b: Bench) -> None:
    """One tiny eager op (a + b on 16 floats): the per-op host cost, 1000 ops per timed run."""
    a_np = np.arange(16, dtype=np.float32)
    x, y = b.g(a_np), b.g(a_np[::-1].copy())
    check("tiny add", (x + y).numpy(), a_np + a_np[::-1], 0, 0)
    ops = range(1000)

    def ours():
        for _ in ops:
            x + y

    fns: dict[str, Any] = {"gradcore": ours}
    for lib, (px, py) in b.peer_arrays(a_np, a_np[::-1].copy()).items():

        def peer(px=px, py=py):
            for _ in ops:
                px + py

        fns[lib] = peer
    fns.update(b.absent())
    # work: 1000 ops, scaled so that the derived rate reads in Mop/s
    b.run("tiny eager op a + b (x1000)", "16 floats", "Mop/s", 1000 * 1e3, fns)


def _gradcore_mlp(sizes: list[int], host_params: list[np.ndarray], device: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, c) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, c))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    model.load_state_dict(
        {name: np.asarray(p) for (name, _), p in zip(model.named_parameters(), host_params)}
    )
    return model.to(device)


def _torch_model(b: Bench, sizes: list[int], host_params: list[np.ndarray]) -> Any:
    torch = b.torch
    layers: list[Any] = []
    for i, (a, c) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = torch.nn.Linear(a, c)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.asarray(host_params[2 * i])))
            lin.bias.copy_(torch.from_numpy(np.asarray(host_params[2 * i + 1])))
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).to(b.device)


def _torch_mlp_step(b: Bench, sizes, host_params, x_np, y_np) -> Callable[[], Any]:
    torch = b.torch
    model = _torch_model(b, sizes, host_params)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(x_np).to(b.device)
    y = torch.from_numpy(y_np).to(b.device)

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step


def _torch_graph_step(b: Bench, sizes, host_params, x_np, y_np) -> Callable[[], Any]:
    """PyTorch's whole-step CUDA graph (capturable Adam), the strongest eager-framework baseline."""
    torch = b.torch
    model = _torch_model(b, sizes, host_params)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
    x = torch.from_numpy(x_np).to("cuda")
    y = torch.from_numpy(y_np).to("cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return graph.replay


# ------------------------------------------------------------------ convolution and the VAE
# (name, batch, in, out, side, kernel, stride, padding, output_padding, transposed)
CONV_CASES = [
    ("conv2d 3x3 pad 1", 64, 32, 32, 28, 3, 1, 1, 0, False),
    ("VAE conv1 1->32 pad 1", 32, 1, 32, 28, 3, 1, 1, 0, False),
    ("VAE conv2 32->32 valid", 32, 32, 32, 14, 3, 1, 0, 0, False),
    ("VAE convT 7->14 s2", 32, 32, 32, 7, 3, 2, 1, 1, True),
    ("VAE convT 14->28 s2", 32, 32, 32, 14, 3, 2, 1, 1, True),
    ("VAE convT 32->1 28", 32, 32, 1, 28, 3, 1, 1, 0, True),
]


def bench_conv(b: Bench) -> None:
    cases = CONV_CASES[:2] if b.quick else CONV_CASES
    rng = np.random.default_rng(5)
    for name, n, cin, cout, side, k, stride, pad, out_pad, transposed in cases:
        if b.quick:
            n = 4
        w_shape = (cin, cout, k, k) if transposed else (cout, cin, k, k)
        x_np = rng.standard_normal((n, cin, side, side), dtype=np.float32)
        w_np = (rng.standard_normal(w_shape, dtype=np.float32) / np.sqrt(cin * k * k)).astype(np.float32)
        bias_np = rng.standard_normal(cout, dtype=np.float32)
        extra = {"output_padding": out_pad} if transposed else {}
        fn = F.conv_transpose2d if transposed else F.conv2d
        x, w, bias = b.g(x_np, True), b.g(w_np, True), b.g(bias_np, True)
        y = fn(x, w, bias, stride=stride, padding=pad, **extra)
        up_np = rng.standard_normal(y.shape, dtype=np.float32)
        up = b.g(up_np)

        def ours(x=x, w=w, bias=bias, up=up, fn=fn, stride=stride, pad=pad, extra=extra):
            x.grad = w.grad = bias.grad = None
            fn(x, w, bias, stride=stride, padding=pad, **extra).backward(up)

        fns: dict[str, Any] = {"gradcore": ours}
        if b.torch is not None:
            torch = b.torch
            tx, tw, tb = (
                torch.from_numpy(a).to(b.device).requires_grad_(True) for a in (x_np, w_np, bias_np)
            )
            tup = torch.from_numpy(up_np).to(b.device)
            tfn = torch.nn.functional.conv_transpose2d if transposed else torch.nn.functional.conv2d
            ours()
            tfn(tx, tw, tb, stride=stride, padding=pad, **extra).backward(tup)
            for label, got, want in (("dx", x, tx), ("dw", w, tw)):
                check(f"{name} {label}", got.grad.numpy(), want.grad.cpu().numpy(), 1e-3, 1e-3)

            def theirs(tx=tx, tw=tw, tb=tb, tup=tup, tfn=tfn, stride=stride, pad=pad, extra=extra):
                tx.grad = tw.grad = tb.grad = None
                tfn(tx, tw, tb, stride=stride, padding=pad, **extra).backward(tup)

            fns["torch"] = theirs
        else:
            fns["torch"] = "absent"
        # Forward MACs: every output pixel of a conv (every input pixel of a transposed conv) meets
        # cin * k * k weights per output channel; fwd + both backward products = 3x, 2 FLOP per MAC.
        pixels = (x_np.shape[2] * x_np.shape[3]) if transposed else (y.shape[2] * y.shape[3])
        flops = 3 * 2.0 * n * pixels * cin * cout * k * k
        b.run("conv fwd+bwd", f"{name} b{n}", "GFLOP/s", flops, fns)


def bench_vae(b: Bench) -> None:
    from gradcore.vae import VAE, vae_loss

    batches = [8] if b.quick else [32, 128]
    rng = np.random.default_rng(6)
    for batch in batches:
        gc.manual_seed(0)
        model = VAE().to(b.device)
        opt = gc.optim.Adam(model.parameters(), lr=1e-3)
        x_np = rng.uniform(0, 1, (batch, 1, 28, 28)).astype(np.float32)
        eps_np = rng.standard_normal((batch, 32), dtype=np.float32)
        x, eps = b.g(x_np), b.g(eps_np)  # fixed noise, so both libraries do the same work

        def ours(model=model, opt=opt, x=x, eps=eps):
            mean, log_var = model.encode(x)
            loss, _, _ = vae_loss(model.decoder(mean + (0.5 * log_var).exp() * eps), x, mean, log_var)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        fns: dict[str, Any] = {"gradcore": ours}
        if b.torch is not None:
            fns["torch"] = _torch_vae_step(b, model, x_np, eps_np, ours)
        else:
            fns["torch"] = "absent"
        # The table prints work / 1e9 per second: with work = images * 1e9 that is images per second.
        b.run("VAE train step (BCE+KL, Adam)", f"b{batch}", "images/s", float(batch) * 1e9, fns)


def _torch_vae_step(b: Bench, model: Any, x_np: np.ndarray, eps_np: np.ndarray, ours: Any) -> Any:
    torch = b.torch
    tnn = torch.nn
    parts = tnn.ModuleDict(
        {
            "encoder": tnn.Sequential(
                tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(32, 32, 3),
                tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(1152, 32), tnn.ReLU(),
            ),
            "z_mean": tnn.Linear(32, 32),
            "z_log_var": tnn.Linear(32, 32),
            "decoder": tnn.Sequential(
                tnn.Linear(32, 32), tnn.ReLU(), tnn.Linear(32, 1568), tnn.ReLU(),
                tnn.Unflatten(1, (32, 7, 7)),
                tnn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), tnn.ReLU(),
                tnn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), tnn.ReLU(),
                tnn.ConvTranspose2d(32, 1, 3, padding=1),
            ),
        }
    )  # fmt: skip
    parts.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in model.state_dict().items()})
    parts = parts.to(b.device)
    opt = torch.optim.Adam(parts.parameters(), lr=1e-3)
    x, eps = torch.from_numpy(x_np).to(b.device), torch.from_numpy(eps_np).to(b.device)
    F_t = torch.nn.functional

    def step():
        h = parts["encoder"](x)
        mean, log_var = parts["z_mean"](h), parts["z_log_var"](h)
        logits = parts["decoder"](mean + torch.exp(0.5 * log_var) * eps)
        rec = F_t.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        loss = rec - 0.5 * torch.sum(1 + log_var - mean**2 - log_var.exp()) / len(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    # The same weights and noise: the first steps' losses agree (then each library times its own copy).
    for _ in range(2):
        check("vae step", ours().item(), step().item(), 1e-2, 1e-4)
    return step


# ------------------------------------------------------------------ report
BATCHNORM_CASES = [(64, 32, 28), (128, 64, 14)]  # (N, C, side): BatchNorm2d after a conv layer


def bench_batchnorm(b: Bench) -> None:
    """BatchNorm2d training step (forward with batch statistics + backward to x, weight, bias)."""
    cases = [(4, 8, 8)] if b.quick else BATCHNORM_CASES
    rng = np.random.default_rng(6)
    for n, c, side in cases:
        x_np = rng.standard_normal((n, c, side, side), dtype=np.float32)
        up_np = rng.standard_normal((n, c, side, side), dtype=np.float32)
        bn = nn.BatchNorm2d(c).to(b.device)
        x, up = b.g(x_np, True), b.g(up_np)

        def ours(bn=bn, x=x, up=up):
            x.grad = bn.weight.grad = bn.bias.grad = None
            bn(x).backward(up)

        fns: dict[str, Any] = {"gradcore": ours}
        if b.torch is not None:
            torch = b.torch
            tbn = torch.nn.BatchNorm2d(c).to(b.device)
            tx = torch.from_numpy(x_np).to(b.device).requires_grad_(True)
            tup = torch.from_numpy(up_np).to(b.device)
            ours()
            tbn(tx).backward(tup)
            check(f"batchnorm {n}x{c}x{side} dx", x.grad.numpy(), tx.grad.cpu().numpy(), 1e-3, 1e-3)

            def theirs(tbn=tbn, tx=tx, tup=tup):
                tx.grad = tbn.weight.grad = tbn.bias.grad = None
                tbn(tx).backward(tup)

            fns["torch"] = theirs
        else:
            fns["torch"] = "absent"
        # bytes moved at the minimum: forward reads x and writes y; backward reads g and x, writes dx
        b.run("batchnorm2d fwd+bwd", f"{n}x{c}x{side}x{side}", "GB/s", 5.0 * x_np.nbytes, fns)


def _fmt_time(t: float | str) -> str:
    if not isinstance(t, float):
        return str(t)
    return f"{t * 1e3:.3f} ms" if t >= 1e-3 else f"{t * 1e6:.1f} us"


def _spread(r: Result, peer: str) -> str:
    """' (lo-hi)': the lowest and highest ratio of the rounds taken pairwise, when there were several."""
    ours, theirs = r.rounds.get("gradcore", []), r.rounds.get(peer, [])
    pairs = [t / o for o, t in zip(ours, theirs) if isinstance(o, float) and isinstance(t, float)]
    return f" ({min(pairs):.2f}-{max(pairs):.2f})" if len(pairs) > 1 else ""


def markdown(results: list[Result], device: str) -> str:
    peers = sorted({lib for r in results for lib in r.times if lib != "gradcore"})
    head = ["case", "size", "gradcore", "rate"] + [f"{p}" for p in peers] + [f"ratio {p}" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        ours = r.times["gradcore"]
        rate = r.rate("gradcore")
        row = [r.case, r.size, _fmt_time(ours), f"{rate:.1f} {r.unit}" if rate else ""]
        row += [_fmt_time(r.times.get(p, "")) if p in r.times else "" for p in peers]
        for p in peers:
            t = r.times.get(p)
            both = isinstance(t, float) and isinstance(ours, float)
            row.append(f"{t / ours:.2f}x{_spread(r, p)}" if both else "")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "device": device,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "gradcore_threads": gc._C.cpu.num_threads(),
    }
    torch = optional("torch")
    if torch is not None:
        info["torch"] = torch.__version__
        if device == "cuda" and torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _results_in_own_processes(argv: list[str], libs: list[str], rounds: int = 1) -> list[Result]:
    """Runs this script once per library (--lib) and merges the timings case by case.

    With rounds > 1 the processes are interleaved (gradcore, numpy, torch, then numpy, torch, gradcore, ...)
    and each case keeps the median of its per-process medians, with every round's figure in
    ``Result.rounds``: one process on a shared VM can read 2x slow for reasons of its own."""
    parts: list[list[dict[str, Any]]] = []
    for k in range(rounds):
        order = libs[k % len(libs) :] + libs[: k % len(libs)]  # rotate, so no library always runs first
        for lib in order:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "part.json")
                tag = f", round {k + 1}/{rounds}" if rounds > 1 else ""
                print(f"[{lib}: own process{tag}]", flush=True)
                subprocess.run([sys.executable, __file__, *argv, "--lib", lib, "--json", out], check=True)
                with open(out) as f:
                    parts.append(json.load(f)["results"])
    return merge_rounds(parts)


def merge_rounds(parts: list[list[dict[str, Any]]]) -> list[Result]:
    """Merges the child processes' results case by case: each library's time is the median of its
    processes' medians (a failure text stands when any round failed), every round kept in ``rounds``."""
    merged: dict[tuple[str, str], Result] = {}
    for part in parts:
        for r in part:
            key = (r["case"], r["size"])
            res = merged.setdefault(key, Result(r["case"], r["size"], r["unit"], r["work"]))
            for name, t in r["times"].items():
                res.rounds.setdefault(name, []).append(t)
    for res in merged.values():
        for name, ts in res.rounds.items():
            floats = [t for t in ts if isinstance(t, float)]
            res.times[name] = (
                statistics.median(floats)
                if len(floats) == len(ts)
                else next(t for t in ts if not isinstance(t, float))
            )
    return list(merged.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 runs: a correctness smoke test")
    parser.add_argument("--json", help="where to write results (default benchmarks/results/<device>.json)")
    parser.add_argument(
        "--only", help="comma-separated subset: matmul,elementwise,softmax_ce,adam,mlp,conv,vae,batchnorm"
    )
    parser.add_argument("--plot", help="write a PNG bar chart of the ratios (needs matplotlib)")
    parser.add_argument("--lib", help="time only this library (gradcore, numpy, torch or cupy)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="CPU: run each library's process this many times, interleaved, and report the median of the "
        "rounds (the spread of the rounds goes to the JSON)",
    )
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="time every library in this process (default for --quick and --device cuda; a full CPU run "
        "times each library in its own process, as OpenMP/OpenBLAS/torch thread pools disturb each other)",
    )
    args = parser.parse_args(argv)
    if args.device == "cuda" and not gc.cuda.is_available():
        print("benchmarks: CUDA is not available here", file=sys.stderr)
        return 2
    b = Bench(args.device, args.quick, args.lib)
    families = {
        "tiny": bench_tiny,  # also a valid --only name: one tiny eager op, the per-op host cost
        "matmul": bench_matmul,
        "elementwise": bench_elementwise,
        "softmax_ce": bench_softmax_ce,
        "adam": bench_adam,
        "mlp": bench_mlp,
        "conv": bench_conv,
        "vae": bench_vae,
        "batchnorm": bench_batchnorm,
    }
    chosen = args.only.split(",") if args.only else list(families)
    for name in chosen:
        if name not in families:
            parser.error(f"unknown family {name!r}")
    if args.device == "cpu" and not (args.quick or args.one_process or args.lib):
        own_argv = list(argv if argv is not None else sys.argv[1:])
        if "--rounds" in own_argv:  # the children time once each
            i = own_argv.index("--rounds")
            del own_argv[i : i + 2]
        own_argv = [a for a in own_argv if not a.startswith("--rounds=")]
        b.results = _results_in_own_processes(own_argv, ["gradcore", "numpy", "torch"], max(1, args.rounds))
    else:
        for name in chosen:
            print(f"[{name}]", flush=True)
            families[name](b)
    # A --lib child process only hands its timings back; its parent prints the table.
    table = markdown(b.results, args.device) if args.lib is None else ""
    out = args.json or (None if args.quick else os.path.join(HERE, "results", f"{args.device}.json"))
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump(
                {"machine": machine(args.device), "results": [r.__dict__ for r in b.results]}, f, indent=1
            )
    status = 0
    if args.plot:
        try:
            _plot(b.results, args.plot)
            print(f"wrote {args.plot}")
        except ImportError:
            print("--plot needs matplotlib: pip install 'gradcore[bench]'", file=sys.stderr)
            status = 1
    if table:
        print()
        print(table)  # last, so the table is what a reader of the log sees at the bottom
    return status


def _plot(results: list[Result], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, ratios, colors = [], [], []
    for r in results:
        for lib, t in r.times.items():
            if lib != "gradcore" and isinstance(t, float):
                labels.append(f"{r.case} {r.size}\nvs {lib}")
                ratios.append(t / r.times["gradcore"])
                colors.append("tab:green" if ratios[-1] >= 1 else "tab:red")
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(labels) + 1))
    ax.barh(labels, ratios, color=colors)
    ax.axvline(1.0, color="black", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("peer time / gradcore time (> 1: gradcore faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
