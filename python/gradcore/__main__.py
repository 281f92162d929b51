"""Command line: ``python -m gradcore train|vae [options]`` (also installed as ``gradcore``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from . import __version__
from .backend import normalize_device
from .train import RESUMABLE_CHANGES, ConfigError, TrainConfig, TrainingInterrupted, fit

_RESUME_RULE = (
    "--resume continues from --checkpoint: "
    + ", ".join("--" + k.replace("_", "-") for k in RESUMABLE_CHANGES[:4])
    + " may differ from the run that wrote it (a new --lr applies to the optimizer from then on); "
    "--model, --hidden, --dropout, --data and --seed must match, or resuming is refused with the differences "
    "listed."
)


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _hidden(text: str) -> list[int]:
    parts = [s.strip() for s in text.split(",")]
    if any(not p for p in parts):
        raise argparse.ArgumentTypeError(
            f"empty size in {text!r}: give comma-separated sizes such as 256,128"
        )
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes must be comma-separated ints, got {text!r}") from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def _device(text: str) -> str:
    try:
        return normalize_device(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gradcore", description="gradcore: train an MLP with a native autodiff engine")
    parser.add_argument("--version", action="version", version=f"gradcore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser(
        "train",
        help="train the seed MLP (default: bundled 8x8 digits, hidden 256,128, Adam 1e-3)",
        description="Train an MLP (Linear-ReLU blocks, softmax cross-entropy, Adam) and print its test "
        "accuracy. Every option is checked before the first epoch.",
        epilog=_RESUME_RULE
        + " Ctrl-C stops cleanly (exit status 130) and says where the last checkpoint is.",
    )
    t.add_argument(
        "--data",
        metavar="DIR",
        help="folder with MNIST / Fashion-MNIST IDX files, gzipped or not, or mnist-subset for the bundled "
        "4,000/1,000 28x28 MNIST digits (default: the bundled 8x8 digits)",
    )
    t.add_argument(
        "--model",
        choices=["mlp", "cnn"],
        default="mlp",
        help="mlp (sizes from --hidden) or cnn (conv32-pool-conv64-pool-fc128-dropout, for square images; "
        "try --data mnist-subset) (default: %(default)s)",
    )
    t.add_argument("--device", type=_device, default="cpu", help="cpu, cuda or cuda:0 (default: %(default)s)")
    t.add_argument("--epochs", type=int, default=20, help="epochs in total (default: %(default)s)")
    t.add_argument(
        "--batch-size", type=int, default=None, help="samples per step; 32 with --model cnn (default: 64)"
    )
    t.add_argument(
        "--hidden",
        type=_hidden,
        default="256,128",
        help="comma-separated hidden sizes (default: %(default)s)",
    )
    t.add_argument(
        "--dropout",
        type=float,
        default=None,
        help="dropout after each hidden layer (the CNN: before its last layer), in [0, 1) "
        "(default: 0.0 for the MLP, 0.5 for the CNN)",
    )
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: %(default)s)")
    t.add_argument(
        "--seed", type=int, default=0, help="seed of weights, shuffling, dropout (default: %(default)s)"
    )
    t.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="save a checkpoint here after every epoch, atomically (default: none)",
    )
    t.add_argument("--resume", action="store_true", help="continue from --checkpoint (see below)")
    t.add_argument(
        "--plot",
        metavar="FILE",
        help="write loss and accuracy curves here, e.g. curves.png (needs matplotlib; default: none)",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)")
    t.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel over the ranks started by mpiexec -n N (needs gradcore[distributed]); "
        "--batch-size is the global batch; rank 0 prints and writes the checkpoint and plot",
    )
    _add_vae_parser(sub)
    return parser


def _add_vae_parser(sub: Any) -> None:
    from .vae import MNIST_SUBSET, VAEConfig

    d = VAEConfig()
    v = sub.add_parser(
        "vae",
        help="train the seed's convolutional VAE on MNIST digits and draw reconstructions and samples",
        description="Train the corrected seed VAE (conv encoder, z_dim 32, transposed-conv decoder, "
        "BCE + KL, Adam), print reconstruction and KL per epoch, and write reconstructions.png and "
        "samples.png into --out. Every option is checked before the first epoch.",
        epilog="--resume continues from --checkpoint: --epochs, --lr, --batch-size, --device, --out may "
        "differ from the run that wrote it; --data and --seed must match. Ctrl-C stops cleanly (exit status "
        "130) and says where the last checkpoint is.",
    )
    v.add_argument(
        "--data",
        default=MNIST_SUBSET,
        metavar="mnist-subset|DIR",
        help="the bundled 4,000/1,000 MNIST digits, or a folder of 28x28 MNIST IDX files "
        "(default: %(default)s)",
    )
    v.add_argument(
        "--device", type=_device, default=d.device, help="cpu, cuda or cuda:0 (default: %(default)s)"
    )
    v.add_argument("--epochs", type=int, default=d.epochs, help="epochs in total (default: %(default)s)")
    v.add_argument(
        "--batch-size", type=int, default=d.batch_size, help="images per step (default: %(default)s)"
    )
    v.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (default: %(default)s)")
    v.add_argument(
        "--seed", type=int, default=d.seed, help="seed of weights, shuffling, noise (default: %(default)s)"
    )
    v.add_argument(
        "--out", metavar="DIR", default=d.out, help="folder for the two PNGs (default: %(default)s)"
    )
    v.add_argument(
        "--checkpoint", metavar="PATH", help="save a checkpoint here after every epoch (default: none)"
    )
    v.add_argument("--resume", action="store_true", help="continue from --checkpoint (see below)")
    v.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)")


def _main_vae(args: argparse.Namespace, prog: str) -> int:
    from .vae import VAEConfig, fit_vae

    progress = not args.no_progress and sys.stderr.isatty()
    cfg = VAEConfig(
        data=args.data,
        device=args.device,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        out=args.out,
        checkpoint=args.checkpoint,
        resume=args.resume,
        progress=progress,
    )
    return _run(lambda: fit_vae(cfg), prog, progress)


def _run(job: Any, prog: str, progress: bool) -> int:
    """Runs a training job, turning its failures into one line on stderr and an exit status."""
    try:
        job()
    except ConfigError as e:  # a bad option: argparse style
        print(f"{prog}: error: argument {e.option}: {e.problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # TrainingInterrupted says where the last checkpoint is
        newline = "\n" if progress else ""  # past the progress bar
        what = e if isinstance(e, TrainingInterrupted) else "interrupted"
        print(f"{newline}{prog}: {what}", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError, MemoryError) as e:  # bad data or checkpoint, divergence
        print(f"{prog}: error: {' '.join(str(e).split())}", file=sys.stderr)  # one line
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"{parser.prog} {args.command}"
    if args.command == "vae":
        return _main_vae(args, prog)
    cfg = TrainConfig(
        data=args.data,
        device=args.device,
        epochs=args.epochs,
        batch_size=args.batch_size if args.batch_size is not None else (32 if args.model == "cnn" else 64),
        hidden=args.hidden,
        dropout=args.dropout if args.dropout is not None else (0.5 if args.model == "cnn" else 0.0),
        lr=args.lr,
        seed=args.seed,
        checkpoint=args.checkpoint,
        resume=args.resume,
        plot=args.plot,
        progress=not args.no_progress and sys.stderr.isatty(),
        distributed=args.distributed,
        model=args.model,
    )
    return _run(lambda: fit(cfg), prog, cfg.progress)


if __name__ == "__main__":
    sys.exit(main())
