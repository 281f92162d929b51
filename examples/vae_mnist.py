"""The seed's convolutional VAE on real MNIST digits, corrected (noise in the reparameterization, a decoder
that really reaches 28x28), written out in plain PyTorch style. Prints the loss per epoch and writes
reconstructions.png and samples.png.

    python examples/vae_mnist.py                 # 20 epochs on the bundled 4,000 digits, a few minutes
    python examples/vae_mnist.py --epochs 1 --limit 256 --out /tmp/vae
"""

import argparse
import os

import numpy as np

import gradcore as gc
from gradcore import nn
from gradcore.images import grid, write_png
from gradcore.nn import functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--limit", type=int, default=None, help="train on the first N images only")
parser.add_argument("--out", default=os.path.join("runs", "vae_example"))
args = parser.parse_args()

gc.manual_seed(0)
x_train, _ = gc.data.load_mnist_subset("train")
x_test, _ = gc.data.load_mnist_subset("test")
x_train = x_train[: args.limit]

encoder = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 28 -> 14
    nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2),  # 14 -> 12 -> 6
    nn.Flatten(), nn.Linear(32 * 6 * 6, 32), nn.ReLU(),
)  # fmt: skip
z_mean, z_log_var = nn.Linear(32, 32), nn.Linear(32, 32)
decoder = nn.Sequential(  # 7 -> 14 -> 28: the seed's 4x4 start with stride-1 layers ended at 10x10
    nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (32, 7, 7)),
    nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
    nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
    nn.ConvTranspose2d(32, 1, 3, padding=1), nn.Sigmoid(),
)  # fmt: skip
modules = [encoder, z_mean, z_log_var, decoder]
opt = gc.optim.Adam([p for m in modules for p in m.parameters()], lr=1e-3)
loader = gc.data.DataLoader(x_train, np.zeros(len(x_train)), batch_size=32, shuffle=True, seed=0)

for epoch in range(args.epochs):
    rec_sum = kl_sum = 0.0
    for xb, _ in loader:
        h = encoder(xb)
        mean, log_var = z_mean(h), z_log_var(h)
        z = mean + (0.5 * log_var).exp() * gc.randn_like(mean)  # the reparameterization trick
        rec = F.binary_cross_entropy(decoder(z), xb, reduction="sum") / len(xb)
        kl = -0.5 * (1 + log_var - mean**2 - log_var.exp()).sum() / len(xb)
        opt.zero_grad()
        (rec + kl).backward()
        opt.step()
        rec_sum, kl_sum = rec_sum + rec.item() * len(xb), kl_sum + kl.item() * len(xb)
    rec, kl = rec_sum / len(x_train), kl_sum / len(x_train)
    print(f"epoch {epoch + 1}: loss {rec + kl:.2f} = reconstruction {rec:.2f} + KL {kl:.2f}")

os.makedirs(args.out, exist_ok=True)
with gc.no_grad():
    recon = decoder(z_mean(encoder(gc.tensor(x_test[:16])))).numpy()
    samples = decoder(gc.randn(64, 32)).numpy()
write_png(os.path.join(args.out, "reconstructions.png"), grid(np.concatenate([x_test[:16], recon]), cols=16))
write_png(os.path.join(args.out, "samples.png"), grid(samples, cols=8))
print(f"wrote {args.out}/reconstructions.png and samples.png")
