"""The hand-written MLP training step (forward, softmax-CE, backprop, Adam) for NumPy or CuPy:
the seeds' equations with the array library passed in, used as the peer in benchmarks."""

from __future__ import annotations

from typing import Any


class ReferenceMLP:
    def __init__(self, xp: Any, sizes: list[int], seed: int = 0, lr: float = 1e-3) -> None:
        import numpy as np

        rng = np.random.default_rng(seed)
        self.xp, self.lr, self.t = xp, lr, 0
        self.params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1 / np.sqrt(fan_in)
            w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
            b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
            self.params += [xp.asarray(w), xp.asarray(b)]
        self.m = [xp.zeros_like(p) for p in self.params]
        self.v = [xp.zeros_like(p) for p in self.params]

    def step(self, x: Any, y: Any) -> Any:
        xp, n = self.xp, x.shape[0]
        layers = len(self.params) // 2
        acts, zs, a = [x], [], x
        for i in range(layers):
            z = a @ self.params[2 * i].T + self.params[2 * i + 1]
            zs.append(z)
            a = xp.maximum(z, 0) if i < layers - 1 else z
            acts.append(a)
        zmax = a.max(axis=1, keepdims=True)
        e = xp.exp(a - zmax)
        s = e.sum(axis=1, keepdims=True)
        rows = xp.arange(n)
        loss = (xp.log(s[:, 0]) + zmax[:, 0] - a[rows, y]).mean()
        delta = e / s
        delta[rows, y] -= 1
        delta /= n
        grads = [None] * len(self.params)
        for i in reversed(range(layers)):
            grads[2 * i] = delta.T @ acts[i]
            grads[2 * i + 1] = delta.sum(axis=0)
            if i:
                delta = (delta @ self.params[2 * i]) * (zs[i - 1] > 0)
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * (m / c1) / (xp.sqrt(v / c2) + eps)
        return loss
