"""The main job: train the seed MLP (hidden 256-128, ReLU, CE, Adam) on digits or MNIST-style data."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import nn, optim
from .autograd import no_grad
from .creation import generator, manual_seed
from .data import DataLoader, load_digits, load_mnist
from .serialization import load, save
from .tensor import Tensor


@dataclass
class TrainConfig:
    data: str | None = None  # None: the bundled digits; else a folder of MNIST / Fashion-MNIST IDX files
    device: str = "cpu"
    epochs: int = 20
    batch_size: int = 64
    hidden: list[int] = field(default_factory=lambda: [256, 128])
    dropout: float = 0.0
    lr: float = 1e-3
    seed: int = 0
    checkpoint: str | None = None
    resume: bool = False
    plot: str | None = None
    progress: bool = True


def build_mlp(in_features: int, hidden: list[int], classes: int, dropout: float = 0.0) -> nn.Sequential:
    """Linear-ReLU(-Dropout) blocks for each hidden size, then a Linear to the class logits.

    Example:
        >>> import gradcore as gc
        >>> net = gc.train.build_mlp(784, [256, 128], 10, dropout=0.5)
        >>> len(net)
        7
    """
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def evaluate(
    model: nn.Module, x: np.ndarray, y: np.ndarray, device: str, batch_size: int = 1024
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of model on (x, y), in eval mode and without a graph."""
    model.eval()
    total_loss, correct = 0.0, 0
    with no_grad():
        for xb, yb in DataLoader(x, y, batch_size=batch_size, device=device):
            logits = model(xb)
            total_loss += nn.functional.cross_entropy(logits, yb).item() * len(yb)
            correct += int((logits.argmax(-1) == yb).sum().item())
    model.train()
    return total_loss / len(y), correct / len(y)


def load_data(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if cfg.data is None:
        return (*load_digits("train"), *load_digits("test"))
    return (*load_mnist(cfg.data, "train"), *load_mnist(cfg.data, "test"))


def _checkpoint_state(model, opt, epoch, history, cfg, loader) -> dict[str, Any]:
    return {
        "model": dict(model.state_dict()),
        "optimizer": opt.state_dict(),
        "epoch": epoch,
        "history": history,
        "config": json.dumps(asdict(cfg)),
        "loader_rng": json.dumps(loader.rng.bit_generator.state),
        "global_rng": json.dumps(generator().bit_generator.state),  # dropout masks
    }


def _resume(path: str, model, opt, loader, cfg: TrainConfig) -> tuple[int, dict[str, list[float]]]:
    state = load(path)
    saved = json.loads(state["config"])
    if saved["hidden"] != cfg.hidden or saved["data"] != cfg.data:
        raise ValueError(
            f"checkpoint {path} was trained with hidden={saved['hidden']} data={saved['data']}, "
            f"not hidden={cfg.hidden} data={cfg.data}"
        )
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    loader.rng.bit_generator.state = json.loads(state["loader_rng"])
    generator().bit_generator.state = json.loads(state["global_rng"])
    return int(state["epoch"]), {k: list(v) for k, v in state["history"].items()}


def fit(cfg: TrainConfig, log=print) -> dict[str, Any]:
    """Trains per cfg and returns the history and the final test accuracy."""
    manual_seed(cfg.seed)
    x_train, y_train, x_test, y_test = load_data(cfg)
    classes = int(max(y_train.max(), y_test.max())) + 1
    model = build_mlp(x_train.shape[1], cfg.hidden, classes, cfg.dropout).to(cfg.device)
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    loader = DataLoader(x_train, y_train, cfg.batch_size, shuffle=True, seed=cfg.seed, device=cfg.device)
    history: dict[str, list[float]] = {
        "train_loss": [],
        "train_acc": [],
        "test_loss": [],
        "test_acc": [],
        "seconds": [],
    }
    start_epoch = 0
    if cfg.resume:
        if not cfg.checkpoint or not os.path.exists(cfg.checkpoint):
            raise FileNotFoundError(f"--resume needs an existing --checkpoint, got {cfg.checkpoint!r}")
        start_epoch, history = _resume(cfg.checkpoint, model, opt, loader, cfg)
        log(f"resumed from {cfg.checkpoint} after epoch {start_epoch}")
    sizes = "-".join(map(str, [x_train.shape[1], *cfg.hidden, classes]))
    source = "digits" if cfg.data is None else cfg.data
    log(f"training {sizes} MLP on {len(y_train)} samples ({source}), device {cfg.device}")
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        batches = _progress(loader, f"epoch {epoch + 1}/{cfg.epochs}", cfg.progress)
        seen, loss_sum, correct = 0, 0.0, 0
        for xb, yb in batches:
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = len(yb)
            seen += n
            value = loss.item()
            if not math.isfinite(value):
                raise RuntimeError(
                    f"training diverged: loss is not finite ({value}) at epoch {epoch + 1}, batch "
                    f"{seen // n}; try a smaller --lr"
                )
            loss_sum += value * n
            correct += int((logits.detach().argmax(-1) == yb).sum().item())
            if hasattr(batches, "set_postfix"):
                batches.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")
        seconds = time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, x_test, y_test, cfg.device)
        for key, value in zip(history, (loss_sum / seen, correct / seen, test_loss, test_acc, seconds)):
            history[key].append(value)
        log(
            f"epoch {epoch + 1}/{cfg.epochs}: loss {loss_sum / seen:.4f} train acc {correct / seen:.2%} "
            f"test loss {test_loss:.4f} test acc {test_acc:.2%} ({seconds:.2f} s)"
        )
        if cfg.checkpoint:
            save(_checkpoint_state(model, opt, epoch + 1, history, cfg, loader), cfg.checkpoint)
    final_acc = (
        history["test_acc"][-1] if history["test_acc"] else evaluate(model, x_test, y_test, cfg.device)[1]
    )
    log(f"final test accuracy: {final_acc:.2%}")
    if cfg.plot:
        plot_history(history, cfg.plot)
        log(f"wrote {cfg.plot}")
    return {"history": history, "test_accuracy": final_acc, "model": model}


def _progress(loader: DataLoader, desc: str, enabled: bool):
    if not enabled:
        return loader
    from tqdm import tqdm

    return tqdm(loader, desc=desc, leave=False, dynamic_ncols=True)


def plot_history(history: dict[str, list[float]], path: str) -> None:
    """Loss and accuracy per epoch as a two-panel PNG (needs matplotlib: pip install gradcore[plot])."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plotting needs matplotlib: pip install 'gradcore[plot]'") from None
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"], label="train")
    ax1.plot(epochs, history["test_loss"], label="test")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax2.plot(epochs, np.array(history["train_acc"]) * 100, label="train")
    ax2.plot(epochs, np.array(history["test_acc"]) * 100, label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def predict(model: nn.Module, x: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Class predictions for the rows of x."""
    with no_grad():
        model.eval()
        out = model(Tensor(x, device=device)).argmax(-1).numpy()
        model.train()
    return out
