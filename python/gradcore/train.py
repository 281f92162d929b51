"""The main job: train the seed MLP (hidden 256-128, ReLU, CE, Adam) on digits or MNIST-style data."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from . import backend, nn, optim, train_dist
from .autograd import no_grad
from .creation import generator, manual_seed
from .data import DataLoader, load_digits, load_mnist, load_mnist_subset
from .serialization import load, remove_stale_temporaries, save
from .tensor import Tensor

# What may differ between a checkpoint and the run that resumes it. Everything else that shapes the
# model or the data (hidden sizes, dropout, data, seed) must match, or resuming is refused.
RESUMABLE_CHANGES = ("epochs", "lr", "batch_size", "device", "checkpoint", "plot", "progress", "resume")
RESUMABLE_CHANGES += ("distributed",)  # a checkpoint resumes with any number of ranks, or on one process
# --data value naming the bundled 28x28 MNIST subset (a folder of that name is spelled ./mnist-subset).
MNIST_SUBSET = "mnist-subset"
MODELS = ("mlp", "cnn")
# The formats matplotlib writes out of the box (Agg, PDF, PS, SVG, PGF backends and Pillow).
PLOT_FORMATS = tuple("eps jpeg jpg pdf pgf png ps raw rgba svg svgz tif tiff webp".split())


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
    distributed: bool = False  # data-parallel over mpiexec's ranks (--batch-size stays the global batch)
    model: str = "mlp"  # "mlp" or "cnn" (cnn.build_cnn; flat square images are reshaped for it)


class ConfigError(ValueError):
    """A training setting that cannot work; ``option`` names it as the command line spells it."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field, self.option, self.problem = field_name, "--" + field_name.replace("_", "-"), problem
        super().__init__(f"{field_name}: {problem}")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: says in which epoch, and where the last complete checkpoint is."""

    def __init__(self, epoch: int, epochs: int, checkpoint: str | None, saved_epoch: int | None) -> None:
        self.epoch, self.epochs, self.checkpoint, self.saved_epoch = epoch, epochs, checkpoint, saved_epoch
        where = f"interrupted during epoch {epoch}/{epochs}" if epoch else "interrupted before training"
        if checkpoint and saved_epoch:
            where += f"; last checkpoint: {checkpoint} (after epoch {saved_epoch}), continue with --resume"
        elif checkpoint:
            where += f"; no checkpoint was written yet ({checkpoint} is saved after each epoch)"
        else:
            where += "; nothing was saved (pass --checkpoint PATH to keep progress)"
        super().__init__(where)


def _writable_folder(field_name: str, path: str, what: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError(field_name, f"folder {folder} for the {what} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(field_name, f"cannot write the {what} into {folder} (permission denied)")


def validate_config(cfg: TrainConfig) -> TrainConfig:
    """Checks every setting before any work starts; returns cfg with the device and data path normalized.

    Raises ``ConfigError`` (a ValueError naming the setting) for anything that would fail later.

    Example:
        >>> import gradcore as gc, os
        >>> gc.train.validate_config(gc.train.TrainConfig(hidden=[64], data=".")).data == os.getcwd()
        True
    """
    for name in ("epochs", "batch_size"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(name, f"must be a positive integer, got {value!r}")
    if not isinstance(cfg.lr, (int, float)) or not math.isfinite(cfg.lr) or cfg.lr <= 0:
        raise ConfigError("lr", f"must be a positive finite number, got {cfg.lr!r}")
    if not isinstance(cfg.dropout, (int, float)) or not 0.0 <= cfg.dropout < 1.0:  # nan fails too
        raise ConfigError("dropout", f"must be in [0, 1), got {cfg.dropout!r}")
    hidden = list(cfg.hidden)
    if not hidden or any(
        isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden
    ):
        raise ConfigError("hidden", f"must be one or more positive integers, got {cfg.hidden!r}")
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, (int, np.integer)) or cfg.seed < 0:
        raise ConfigError("seed", f"must be a non-negative integer, got {cfg.seed!r}")
    try:
        device = backend.normalize_device(cfg.device)
        if device != "cpu":
            backend.get(device)  # raises when CUDA is not built or no GPU is present
    except (ValueError, RuntimeError) as e:
        raise ConfigError("device", str(e)) from None
    if cfg.model not in MODELS:
        raise ConfigError("model", f"must be one of {', '.join(MODELS)}, got {cfg.model!r}")
    data = cfg.data
    if data is not None and data != MNIST_SUBSET:
        if not os.path.exists(data):
            raise ConfigError("data", f"data folder {data} does not exist")
        if not os.path.isdir(data):
            raise ConfigError("data", f"{data} is a file; give the folder holding the IDX files")
        data = os.path.realpath(data)  # so a relative and an absolute spelling are the same data
    if cfg.checkpoint is not None:
        if os.path.isdir(cfg.checkpoint):
            raise ConfigError("checkpoint", f"{cfg.checkpoint} is a directory; give a file such as run.npz")
        _writable_folder("checkpoint", cfg.checkpoint, "checkpoint")
    if cfg.resume and (cfg.checkpoint is None or not os.path.isfile(cfg.checkpoint)):
        raise ConfigError("resume", f"needs an existing --checkpoint file, got {cfg.checkpoint!r}")
    if cfg.plot is not None:
        ext = os.path.splitext(cfg.plot)[1].lower().lstrip(".")
        if ext not in PLOT_FORMATS:
            raise ConfigError(
                "plot", f"{cfg.plot!r} needs one of the extensions {', '.join('.' + e for e in PLOT_FORMATS)}"
            )
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ConfigError("plot", "needs matplotlib: pip install 'gradcore[plot]'") from None
        if os.path.isdir(cfg.plot):
            raise ConfigError("plot", f"{cfg.plot} is a directory")
        _writable_folder("plot", cfg.plot, "plot")
    return replace(cfg, device=device, data=data, hidden=[int(h) for h in hidden])


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
    if cfg.data == MNIST_SUBSET:  # flat rows like the other loaders; the CNN reshapes them back
        (x_train, y_train), (x_test, y_test) = load_mnist_subset("train"), load_mnist_subset("test")
        return x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test
    x_train, y_train = load_mnist(cfg.data, "train")
    x_test, y_test = load_mnist(cfg.data, "test")
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(
            f"{cfg.data}: train images have {x_train.shape[1]} pixels, test images {x_test.shape[1]}"
        )
    return x_train, y_train, x_test, y_test


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


def _restore_checkpoint_state(
    path: str, state: dict, saved: dict, now: dict, model, opt, loader, log: Callable[[str], None]
) -> tuple[int, dict[str, list[float]]]:
    """The inverse of ``_checkpoint_state`` (shared by ``train`` and ``gradcore vae``): loads model,
    optimizer and both random streams, applies the new --lr and logs each resumable setting that
    changed, then where training resumes. Returns (epochs done, history)."""
    try:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        loader.rng.bit_generator.state = json.loads(state["loader_rng"])
        generator().bit_generator.state = json.loads(state["global_rng"])
        history = {k: [float(x) for x in v] for k, v in state["history"].items()}
        epoch = int(state["epoch"])
    except (AttributeError, KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{path} holds a damaged training state ({type(e).__name__}: {e})") from None
    _set_lr(opt, now["lr"])  # the new --lr applies from here on
    for k in ("lr", "batch_size", "device"):
        if saved.get(k) != now[k]:
            option = "--" + k.replace("_", "-")
            log(f"resuming with {option} {_show(now[k])} (the checkpoint had {_show(saved[k])})")
    log(f"resumed from {path} after epoch {epoch}")
    if epoch >= now["epochs"]:
        log(f"the checkpoint already holds {epoch} epochs; raise --epochs to train more")
    return epoch, history


def _set_lr(opt: optim.Optimizer, lr: float) -> None:
    groups = getattr(opt, "param_groups", None)
    if groups:
        for group in groups:
            group["lr"] = lr
    if hasattr(opt, "lr"):
        opt.lr = lr


def _resume(path: str, model, opt, loader, cfg: TrainConfig, log) -> tuple[int, dict[str, list[float]]]:
    state = train_dist.load_checkpoint(path) if cfg.distributed else load(path)  # distributed: from rank 0
    needed = ("model", "optimizer", "epoch", "history", "config", "loader_rng", "global_rng")
    if not isinstance(state, dict) or any(k not in state for k in needed):
        raise ValueError(f"{path} is a gradcore checkpoint but not one written by training (no {needed})")
    try:
        saved = {**asdict(TrainConfig()), **json.loads(state["config"])}
        if saved["data"] is not None:
            saved["data"] = os.path.realpath(saved["data"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path} holds a damaged training configuration ({e})") from None
    now = asdict(cfg)
    refuse_changed_settings(path, saved, now, RESUMABLE_CHANGES)
    return _restore_checkpoint_state(path, state, saved, now, model, opt, loader, log)


def refuse_changed_settings(path: str, saved: dict, now: dict, resumable: tuple[str, ...]) -> None:
    """Raises ConfigError listing every setting outside ``resumable`` whose value differs between the
    checkpoint's configuration and this run's (shared by ``train`` and ``gradcore vae``)."""
    differences = [
        f"--{k.replace('_', '-')} {_show(saved[k])} (now {_show(now[k])})"
        for k in now
        if k not in resumable and saved.get(k) != now[k]
    ]
    if differences:
        allowed = ", ".join("--" + k.replace("_", "-") for k in resumable[:4])
        raise ConfigError(
            "resume",
            f"checkpoint {path} was trained with {', '.join(differences)}; these cannot change on resume "
            f"(only {allowed} may)",
        )


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "digits" if value is None else str(value)


@contextlib.contextmanager
def _sigint_deferred():
    """Holds Ctrl-C until the block ends, so a checkpoint and the record of it stay consistent."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if pending and callable(old):
            old(signal.SIGINT, None)
        elif pending and old == signal.SIG_DFL:
            raise KeyboardInterrupt


def fit(cfg: TrainConfig, log=print) -> dict[str, Any]:
    """Trains per cfg and returns the history, the final test accuracy, the model and the optimizer.

    Every setting is checked first (``ConfigError``). With ``cfg.checkpoint`` a checkpoint is written
    atomically after each epoch; ``cfg.resume`` continues from it, where only ``RESUMABLE_CHANGES``
    (epochs, lr, batch size, device...) may differ from the run that wrote it. Ctrl-C raises
    ``TrainingInterrupted`` saying where the last complete checkpoint is.
    """
    cfg = train_dist.validate(cfg, validate_config)  # distributed: rank 0 checks, every rank gets its verdict
    status: dict[str, Any] = {"epoch": 0, "saved": None}  # what _fit has reached, for the Ctrl-C message
    try:
        return train_dist.run(_fit, cfg, log, status)  # distributed: a failure is reported to the other ranks
    except KeyboardInterrupt as e:
        if isinstance(e, TrainingInterrupted):
            raise
        raise TrainingInterrupted(status["epoch"], cfg.epochs, cfg.checkpoint, status["saved"]) from None


def _fit(cfg: TrainConfig, log, status: dict[str, Any]) -> dict[str, Any]:
    shard = train_dist.Shard(cfg)  # rank and world size; only rank 0 (the writer) logs and writes files
    log = shard.log(log)
    if cfg.checkpoint and shard.writer:
        for stale in remove_stale_temporaries(cfg.checkpoint):
            log(f"removed {stale}, left by an interrupted save")
    manual_seed(cfg.seed)
    x_train, y_train, x_test, y_test = load_data(cfg)
    classes = int(max(y_train.max(), y_test.max())) + 1
    if cfg.model == "cnn":
        from .cnn import as_images, build_cnn

        x_train, x_test = as_images(x_train, _show(cfg.data)), as_images(x_test, _show(cfg.data))
        model = build_cnn(classes, x_train.shape[-1], cfg.dropout).to(cfg.device)
    else:
        model = build_mlp(x_train.shape[1], cfg.hidden, classes, cfg.dropout).to(cfg.device)
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    loader = DataLoader(
        x_train, y_train, cfg.batch_size, shuffle=True, seed=cfg.seed, device=cfg.device,
        **shard.loader_args(len(y_train)),
    )
    history: dict[str, list[float]] = {
        "train_loss": [],
        "train_acc": [],
        "test_loss": [],
        "test_acc": [],
        "seconds": [],
    }
    start_epoch = 0
    if cfg.resume:
        start_epoch, history = _resume(cfg.checkpoint, model, opt, loader, cfg, log)
        status["saved"] = start_epoch
    sizes = "-".join(map(str, [x_train.shape[1], *cfg.hidden, classes]))
    source = "digits" if cfg.data is None else cfg.data
    if cfg.model == "cnn":
        sizes = f"conv32-pool-conv64-pool-fc128-dropout{cfg.dropout:g}-fc{classes}"
    log(f"training {sizes} {cfg.model.upper()} on {len(y_train)} samples ({source}), device {cfg.device}")
    train_model = shard.wrap(model)  # DistributedDataParallel on 2+ ranks
    if shard.world > 1:
        log(f"data-parallel on {shard.world} ranks, each taking its share of every batch of {cfg.batch_size}")
    for epoch in range(start_epoch, cfg.epochs):
        status["epoch"] = epoch + 1
        if cfg.model == "cnn":  # cosine decay per epoch: its last epochs settle instead of jittering by 0.5%
            _set_lr(opt, cfg.lr * 0.5 * (1 + math.cos(math.pi * epoch / cfg.epochs)))
        t0 = time.perf_counter()
        batches = _progress(loader, f"epoch {epoch + 1}/{cfg.epochs}", cfg.progress and shard.writer)
        seen, loss_sum, correct = 0, 0.0, 0
        for b, (xb, yb) in enumerate(batches):
            logits = train_model(xb)
            loss, weight = shard.loss(logits, yb, b)
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
            loss_sum += value * weight
            correct += int((logits.detach().argmax(-1) == yb).sum().item())
            if hasattr(batches, "set_postfix"):
                batches.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")
        seen, loss_sum, correct = shard.epoch_sums(seen, loss_sum, correct)
        seconds = time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, x_test, y_test, cfg.device)
        for key, value in zip(history, (loss_sum / seen, correct / seen, test_loss, test_acc, seconds)):
            history[key].append(value)
        log(
            f"epoch {epoch + 1}/{cfg.epochs}: loss {loss_sum / seen:.4f} train acc {correct / seen:.2%} "
            f"test loss {test_loss:.4f} test acc {test_acc:.2%} ({seconds:.2f} s)"
        )
        if cfg.checkpoint and shard.writer:
            with _sigint_deferred():
                save(_checkpoint_state(model, opt, epoch + 1, history, cfg, loader), cfg.checkpoint)
                status["saved"] = epoch + 1
        elif cfg.checkpoint:  # distributed: rank 0 saved it, so Ctrl-C on any rank names it
            status["saved"] = epoch + 1
    final_acc = (
        history["test_acc"][-1] if history["test_acc"] else evaluate(model, x_test, y_test, cfg.device)[1]
    )
    log(f"final test accuracy: {final_acc:.2%}")
    if cfg.plot and shard.writer:
        plot_history(history, cfg.plot)
        log(f"wrote {cfg.plot}")
    shard.done()  # distributed: the ranks leave together, so a late failure on rank 0 still reaches them
    return {"history": history, "test_accuracy": final_acc, "model": model, "optimizer": opt}


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
