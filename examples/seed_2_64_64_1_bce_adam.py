"""Seed network 2: a 2-64-64-1 ReLU net with a sigmoid output, binary cross-entropy and Adam,
on two interleaved half-moons. Prints the final loss and accuracy."""

import numpy as np

import gradcore as gc
from gradcore import nn

gc.manual_seed(0)
rng = np.random.default_rng(0)
n = 500
t = rng.uniform(0, np.pi, n)
upper = np.stack([np.cos(t), np.sin(t)], 1)
lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
x = (np.concatenate([upper, lower]) + rng.normal(0, 0.1, (2 * n, 2))).astype(np.float32)
y = np.concatenate([np.zeros(n), np.ones(n)])[:, None].astype(np.float32)

model = nn.Sequential(
    nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1), nn.Sigmoid()
)
opt = gc.optim.Adam(model.parameters(), lr=1e-2)
loader = gc.data.DataLoader(x, y, batch_size=64, shuffle=True, seed=0)
for _ in range(100):
    for xb, yb in loader:
        loss = nn.BCELoss()(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
with gc.no_grad():
    prob = model(gc.tensor(x))
    final = nn.BCELoss()(prob, gc.tensor(y)).item()
    acc = ((prob > 0.5) == gc.tensor(y)).mean().item()
print(f"2-64-64-1 ReLU/BCE/Adam on two moons: loss {final:.4f}, accuracy {acc:.1%}")
