"""Seed network 1: a 2-5-1 sigmoid net trained with MSE and plain SGD on a 2-D two-class problem
(points inside vs outside a circle). Prints the final loss and accuracy."""

import numpy as np

import gradcore as gc
from gradcore import nn

gc.manual_seed(0)
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (400, 2)).astype(np.float32)
y = ((x**2).sum(1, keepdims=True) < 0.5).astype(np.float32)  # 1 inside the circle

model = nn.Sequential(nn.Linear(2, 5), nn.Sigmoid(), nn.Linear(5, 1), nn.Sigmoid())
opt = gc.optim.SGD(model.parameters(), lr=2.0, momentum=0.9)
xs, ys = gc.tensor(x), gc.tensor(y)
for _ in range(2000):
    loss = nn.MSELoss()(model(xs), ys)
    opt.zero_grad()
    loss.backward()
    opt.step()
with gc.no_grad():
    acc = ((model(xs) > 0.5) == ys).mean().item()
print(f"2-5-1 sigmoid/MSE: final loss {loss.item():.4f}, accuracy {acc:.1%}")
