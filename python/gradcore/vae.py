"""The seed's convolutional VAE on MNIST, corrected: model, ELBO loss, training loop and its pictures."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from . import backend, nn, optim
from .autograd import no_grad
from .creation import manual_seed, randn_like
from .data import DataLoader, load_mnist, load_mnist_subset
from .images import grid, write_png
from .nn import functional as F
from .serialization import load, remove_stale_temporaries, save
from .tensor import Tensor
from .train import (
    ConfigError,
    TrainingInterrupted,
    _checkpoint_state,
    _progress,
    _restore_checkpoint_state,
    _sigint_deferred,
    refuse_changed_settings,
)

MNIST_SUBSET = "mnist-subset"  # --data naming the bundled digits (a folder of that name: ./mnist-subset)
# What may differ between a VAE checkpoint and the run resuming it (the rest shapes model, data or noise).
RESUMABLE_CHANGES = ("epochs", "lr", "batch_size", "device", "checkpoint", "out", "progress", "resume")


class VAE(nn.Module):
    """The seed's convolutional VAE for 1x28x28 images, with its two published mistakes fixed.

    Encoder: Conv2d(1, 32, 3, padding 1) + ReLU -> MaxPool2d(2) -> Conv2d(32, 32, 3) + ReLU -> MaxPool2d(2)
    -> Flatten -> Linear(1152, 32) + ReLU -> z_mean, z_log_var (Linear(32, z_dim) each).
    Decoder: Linear(z_dim, 32) + ReLU -> Linear(32, 32*7*7) + ReLU -> Unflatten to 32x7x7 ->
    ConvTranspose2d(stride 2) 7->14 -> ConvTranspose2d(stride 2) 14->28 -> ConvTranspose2d(stride 1, 28->28)
    -> sigmoid. The seed reshaped to 4x4 and used stride-1 3x3 transposed convs: each adds only
    kernel-1 = 2 pixels (4 -> 6 -> 8 -> 10), so it could never produce 28x28; two stride-2 layers
    double 7 -> 14 -> 28 (padding 1 and output_padding 1 make the size exactly 2x).

    ``decoder`` ends in logits: the loss takes BCE on logits (the same value as BCE on the sigmoid,
    without its log(0) clamp); ``decode`` applies the sigmoid.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.vae import VAE
        >>> logits, mean, log_var = VAE()(gc.zeros(2, 1, 28, 28))
        >>> logits.shape, mean.shape
        ((2, 1, 28, 28), (2, 32))
    """

    def __init__(self, z_dim: int = 32) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),  # Keras padding="same"
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(32, 32, 3),  # 14 -> 12 (Keras's default padding="valid")
            nn.ReLU(),
            nn.MaxPool2d(2),  # 12 -> 6
            nn.Flatten(),
            nn.Linear(32 * 6 * 6, 32),
            nn.ReLU(),
        )
        self.z_mean = nn.Linear(32, z_dim)
        self.z_log_var = nn.Linear(32, z_dim)
        self.decoder = nn.Sequential(
            nn.Linear(z_dim, 32),
            nn.ReLU(),
            nn.Linear(32, 32 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1),  # 7 -> 14
            nn.ReLU(),
            nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1),  # 14 -> 28
            nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 3, padding=1),  # 28 -> 28, one channel of logits
        )

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x)
        return self.z_mean(h), self.z_log_var(h)

    def decode(self, z: Tensor) -> Tensor:
        """Images in (0, 1) for latent codes z of shape (n, z_dim)."""
        return self.decoder(z).sigmoid()

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(reconstruction logits, z_mean, z_log_var) for images x of shape (n, 1, 28, 28)."""
        mean, log_var = self.encode(x)
        return self.decoder(reparameterize(mean, log_var)), mean, log_var


def reparameterize(mean: Tensor, log_var: Tensor) -> Tensor:
    """z = mean + exp(0.5 log_var) * eps with eps ~ N(0, I): a sample whose gradient reaches mean and log_var.

    (The seed's z = mean * exp(0.5 log_var) has no noise at all: the "VAE" was a deterministic autoencoder.)

    Example:
        >>> import gradcore as gc
        >>> from gradcore.vae import reparameterize
        >>> z = reparameterize(gc.zeros(10000), gc.zeros(10000))
        >>> abs(z.mean().item()) < 0.05 and abs(z.std().item() - 1) < 0.05
        True
    """
    return mean + (0.5 * log_var).exp() * randn_like(mean)


def vae_loss(logits: Tensor, x: Tensor, mean: Tensor, log_var: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(loss, reconstruction, KL): per-image summed binary cross-entropy and KL divergence to N(0, I),
    each averaged over the batch; loss = reconstruction + KL (the negative ELBO).

    KL = -0.5 * sum(1 + log_var - mean^2 - exp(log_var)) per image.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.vae import vae_loss
        >>> x = gc.full((2, 1, 2, 2), 0.5)
        >>> loss, rec, kl = vae_loss(gc.zeros(2, 1, 2, 2), x, gc.zeros(2, 3), gc.zeros(2, 3))
        >>> round(rec.item(), 4), kl.item() == 0  # 4 pixels * log 2; a posterior equal to the prior
        (2.7726, True)
    """
    n = x.shape[0]
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
    kl = -0.5 * (1 + log_var - mean * mean - log_var.exp()).sum() / n
    return rec + kl, rec, kl


@dataclass
class VAEConfig:
    data: str = MNIST_SUBSET  # or a folder of MNIST-style IDX files (28x28 images, pixels in [0, 1])
    device: str = "cpu"
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    z_dim: int = 32
    out: str = os.path.join("runs", "vae")
    checkpoint: str | None = None
    resume: bool = False
    progress: bool = True


def validate_vae_config(cfg: VAEConfig) -> VAEConfig:
    """Checks every setting before any work starts (``ConfigError`` naming the option); normalizes paths."""
    for name in ("epochs", "batch_size", "z_dim"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(name, f"must be a positive integer, got {value!r}")
    lr = cfg.lr
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ConfigError("lr", f"must be a positive finite number, got {cfg.lr!r}")
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, (int, np.integer)) or cfg.seed < 0:
        raise ConfigError("seed", f"must be a non-negative integer, got {cfg.seed!r}")
    try:
        device = backend.normalize_device(cfg.device)
        if device != "cpu":
            backend.get(device)
    except (ValueError, RuntimeError) as e:
        raise ConfigError("device", str(e)) from None
    data = cfg.data
    if data != MNIST_SUBSET:
        if not os.path.exists(data):
            raise ConfigError("data", f"data folder {data} does not exist (or give {MNIST_SUBSET})")
        if not os.path.isdir(data):
            raise ConfigError("data", f"{data} is a file; give the folder holding the IDX files")
        data = os.path.realpath(data)
    out = os.path.abspath(cfg.out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError("out", f"{cfg.out} exists and is not a folder")
    existing = out
    while not os.path.exists(existing):  # out is created later: its nearest existing parent must be writable
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError("out", f"cannot write into {existing}")
    if cfg.checkpoint is not None:
        if os.path.isdir(cfg.checkpoint):
            raise ConfigError("checkpoint", f"{cfg.checkpoint} is a directory; give a file such as vae.npz")
        folder = os.path.dirname(os.path.abspath(cfg.checkpoint))
        if not os.path.isdir(folder):
            raise ConfigError("checkpoint", f"folder {folder} for the checkpoint does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError("checkpoint", f"cannot write the checkpoint into {folder} (permission denied)")
    if cfg.resume and (cfg.checkpoint is None or not os.path.isfile(cfg.checkpoint)):
        raise ConfigError("resume", f"needs an existing --checkpoint file, got {cfg.checkpoint!r}")
    return replace(cfg, device=device, data=data, out=out)


def load_images(data: str) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) images of shape (n, 1, 28, 28) in [0, 1]: the bundled subset or an IDX folder."""
    if data == MNIST_SUBSET:
        return load_mnist_subset("train")[0], load_mnist_subset("test")[0]
    parts = []
    for split in ("train", "test"):
        x, _ = load_mnist(data, split)
        if x.shape[1] != 28 * 28:
            raise ValueError(f"{data}: the VAE needs 28x28 images, {split} images have {x.shape[1]} pixels")
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"{data}: {split} pixels must lie in [0, 1] for binary cross-entropy")
        parts.append(x.reshape(-1, 1, 28, 28))
    return parts[0], parts[1]


def evaluate_vae(model: VAE, x: np.ndarray, device: str, batch_size: int = 500) -> tuple[float, float]:
    """(reconstruction, KL) per image over x, with sampled z as in training, without a graph."""
    rec_sum = kl_sum = 0.0
    with no_grad():
        for xb, _ in DataLoader(x, np.zeros(len(x)), batch_size=batch_size, device=device):
            logits, mean, log_var = model(xb)
            _, rec, kl = vae_loss(logits, xb, mean, log_var)
            rec_sum, kl_sum = rec_sum + rec.item() * len(xb), kl_sum + kl.item() * len(xb)
    return rec_sum / len(x), kl_sum / len(x)


def write_pictures(
    model: VAE, x_test: np.ndarray, out: str, device: str, seed: int, n: int = 16
) -> list[str]:
    """reconstructions.png (n test digits above, their reconstructions from z_mean below) and samples.png
    (64 decodings of z ~ N(0, I) on an 8x8 grid), both at 2x scale; returns the two paths."""
    os.makedirs(out, exist_ok=True)
    model.eval()
    with no_grad():
        inputs = x_test[:n]
        mean, _ = model.encode(Tensor(inputs, device=device))
        recon = model.decode(mean).numpy()
        # A generator of its own: the pictures neither consume nor depend on the training noise.
        z = np.random.default_rng(seed).standard_normal((64, model.z_dim)).astype(np.float32)
        samples = model.decode(Tensor(z, device=device)).numpy()
    model.train()
    paths = [os.path.join(out, "reconstructions.png"), os.path.join(out, "samples.png")]
    for path, picture in zip(paths, (grid(np.concatenate([inputs, recon]), cols=n), grid(samples, cols=8))):
        write_png(path, np.kron(picture, np.ones((2, 2))))  # 2x: 28-pixel digits are small on screen
    return paths


def fit_vae(cfg: VAEConfig, log=print) -> dict[str, Any]:
    """Trains the VAE per cfg, writes the pictures into cfg.out; returns history, model and optimizer.

    Checkpoints and resume follow ``train.fit``: ``cfg.checkpoint`` is written atomically after each
    epoch, ``cfg.resume`` continues from it (only ``RESUMABLE_CHANGES`` may differ), Ctrl-C raises
    ``TrainingInterrupted`` naming the last complete checkpoint.
    """
    cfg = validate_vae_config(cfg)
    status: dict[str, Any] = {"epoch": 0, "saved": None}
    try:
        return _fit(cfg, log, status)
    except KeyboardInterrupt as e:
        if isinstance(e, TrainingInterrupted):
            raise
        raise TrainingInterrupted(status["epoch"], cfg.epochs, cfg.checkpoint, status["saved"]) from None


def _fit(cfg: VAEConfig, log, status: dict[str, Any]) -> dict[str, Any]:
    if cfg.checkpoint:
        for stale in remove_stale_temporaries(cfg.checkpoint):
            log(f"removed {stale}, left by an interrupted save")
    manual_seed(cfg.seed)
    x_train, x_test = load_images(cfg.data)
    model = VAE(cfg.z_dim).to(cfg.device)
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    no_labels = np.zeros(len(x_train), np.int64)
    loader = DataLoader(x_train, no_labels, cfg.batch_size, shuffle=True, seed=cfg.seed, device=cfg.device)
    keys = ("loss", "reconstruction", "kl", "test_reconstruction", "test_kl", "seconds")
    history: dict[str, list[float]] = {k: [] for k in keys}
    start_epoch = 0
    if cfg.resume:
        start_epoch, history = _resume(cfg.checkpoint, model, opt, loader, cfg, log)
        status["saved"] = start_epoch
    source = "bundled MNIST subset" if cfg.data == MNIST_SUBSET else cfg.data
    log(
        f"training the convolutional VAE (z_dim {cfg.z_dim}) on {len(x_train)} images ({source}), "
        f"device {cfg.device}"
    )
    for epoch in range(start_epoch, cfg.epochs):
        status["epoch"] = epoch + 1
        t0 = time.perf_counter()
        batches = _progress(loader, f"epoch {epoch + 1}/{cfg.epochs}", cfg.progress)
        seen, rec_sum, kl_sum = 0, 0.0, 0.0
        for xb, _ in batches:
            logits, mean, log_var = model(xb)
            loss, rec, kl = vae_loss(logits, xb, mean, log_var)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = len(xb)
            value, rec_value = loss.item(), rec.item()
            if not math.isfinite(value):
                raise RuntimeError(
                    f"training diverged: loss is {value} in epoch {epoch + 1}; try a smaller --lr"
                )
            seen += n
            rec_sum += rec_value * n
            kl_sum += (value - rec_value) * n
            if hasattr(batches, "set_postfix"):
                batches.set_postfix(rec=f"{rec_sum / seen:.1f}", kl=f"{kl_sum / seen:.1f}")
        seconds = time.perf_counter() - t0
        test_rec, test_kl = evaluate_vae(model, x_test, cfg.device)
        rec_mean, kl_mean = rec_sum / seen, kl_sum / seen
        for key, v in zip(keys, (rec_mean + kl_mean, rec_mean, kl_mean, test_rec, test_kl, seconds)):
            history[key].append(v)
        log(
            f"epoch {epoch + 1}/{cfg.epochs}: loss {rec_mean + kl_mean:.2f} (reconstruction {rec_mean:.2f} "
            f"+ KL {kl_mean:.2f}) test loss {test_rec + test_kl:.2f} (reconstruction {test_rec:.2f} "
            f"+ KL {test_kl:.2f}) ({seconds:.2f} s)"
        )
        if cfg.checkpoint:
            with _sigint_deferred():
                state = _checkpoint_state(model, opt, epoch + 1, history, cfg, loader)
                save({**state, "job": "vae"}, cfg.checkpoint)
                status["saved"] = epoch + 1
    paths = write_pictures(model, x_test, cfg.out, cfg.device, cfg.seed)
    log(f"wrote {paths[0]} and {paths[1]}")
    return {"history": history, "model": model, "optimizer": opt, "pictures": paths}


def _resume(path: str, model, opt, loader, cfg: VAEConfig, log) -> tuple[int, dict[str, list[float]]]:
    state = load(path)
    needed = ("model", "optimizer", "epoch", "history", "config", "loader_rng", "global_rng")
    if not isinstance(state, dict) or state.get("job") != "vae" or any(k not in state for k in needed):
        raise ValueError(f"{path} is a gradcore checkpoint but not one written by `gradcore vae`")
    try:
        saved = {**asdict(VAEConfig()), **json.loads(state["config"])}
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path} holds a damaged training configuration ({e})") from None
    now = asdict(cfg)
    refuse_changed_settings(path, saved, now, RESUMABLE_CHANGES)
    return _restore_checkpoint_state(path, state, saved, now, model, opt, loader, log)
