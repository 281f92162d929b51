"""Seed network 3: the 784-256-128-10 MLP with ReLU, dropout 0.5, softmax cross-entropy and Adam.

With --data DIR it trains on MNIST / Fashion-MNIST IDX files; without, on the bundled 8x8 digits
upsampled to 28x28 = 784 inputs (nearest neighbour), so it runs anywhere. Prints the test accuracy.
"""

import argparse

import numpy as np

import gradcore as gc
from gradcore.data import load_digits, load_mnist
from gradcore.train import build_mlp, evaluate

parser = argparse.ArgumentParser()
parser.add_argument("--data", help="folder with MNIST-style IDX files")
parser.add_argument("--epochs", type=int, default=15)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()


def to_784(x8: np.ndarray) -> np.ndarray:
    img = x8.reshape(-1, 8, 8)
    big = img.repeat(3, axis=1).repeat(3, axis=2)  # 24x24
    return np.pad(big, ((0, 0), (2, 2), (2, 2))).reshape(-1, 784).astype(np.float32)


if args.data:
    (xtr, ytr), (xte, yte) = load_mnist(args.data, "train"), load_mnist(args.data, "test")
else:
    (xtr, ytr), (xte, yte) = load_digits("train"), load_digits("test")
    xtr, xte = to_784(xtr), to_784(xte)

gc.manual_seed(0)
model = build_mlp(784, [256, 128], 10, dropout=0.5).to(args.device)
opt = gc.optim.Adam(model.parameters(), lr=1e-3)
loader = gc.data.DataLoader(xtr, ytr, batch_size=64, shuffle=True, seed=0, device=args.device)
for _ in range(args.epochs):
    for xb, yb in loader:
        loss = gc.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
test_loss, test_acc = evaluate(model, xte, yte, args.device)
print(f"784-256-128-10 dropout MLP: test loss {test_loss:.4f}, test accuracy {test_acc:.2%}")
