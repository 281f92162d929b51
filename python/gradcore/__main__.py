"""Command line: ``python -m gradcore train [options]`` (also installed as ``gradcore``)."""

from __future__ import annotations

import argparse
import sys

from .train import TrainConfig, fit


def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes must be comma-separated ints, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcore", description="gradcore: train an MLP with a native autodiff engine"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser(
        "train", help="train the seed MLP (default: bundled 8x8 digits, hidden 256,128, Adam 1e-3)"
    )
    t.add_argument(
        "--data", metavar="DIR", help="folder with MNIST / Fashion-MNIST IDX files (default: bundled digits)"
    )
    t.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument(
        "--hidden", type=_hidden, default=[256, 128], help="comma-separated hidden sizes (default 256,128)"
    )
    t.add_argument("--dropout", type=float, default=0.0, help="dropout after each hidden layer (e.g. 0.5)")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--checkpoint", metavar="PATH", help="save a checkpoint here after every epoch (atomically)"
    )
    t.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    t.add_argument("--plot", metavar="PNG", help="write loss and accuracy curves here (needs matplotlib)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        print("gradcore: --epochs and --batch-size must be >= 1", file=sys.stderr)
        return 2
    cfg = TrainConfig(
        data=args.data,
        device=args.device,
        epochs=args.epochs,
        batch_size=args.batch_size,
        hidden=args.hidden,
        dropout=args.dropout,
        lr=args.lr,
        seed=args.seed,
        checkpoint=args.checkpoint,
        resume=args.resume,
        plot=args.plot,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    try:
        fit(cfg)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"gradcore: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
