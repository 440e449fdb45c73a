"""Command line: ``python -m monai_imbalance.data --output_dir D [--preset metastases] ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from monai_imbalance.data.decathlon import make_dataset
from monai_imbalance.data.synthetic import PRESETS


def main(argv: Sequence[str] | None = None) -> int:
    """Generate a synthetic Decathlon-layout dataset."""
    parser = argparse.ArgumentParser(
        prog="python -m monai_imbalance.data", description="Generate the built-in synthetic multi-lesion dataset."
    )
    parser.add_argument("--output_dir", required=True, help="dataset folder (dataset.json, imagesTr/, labelsTr/)")
    parser.add_argument("--preset", default="metastases", choices=sorted(PRESETS), help="lesion statistics")
    parser.add_argument("--num_training", type=int, default=16)
    parser.add_argument("--num_validation", type=int, default=4)
    parser.add_argument("--shape", type=int, nargs=3, default=(64, 64, 48), metavar=("X", "Y", "Z"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    path = make_dataset(
        args.output_dir,
        preset=args.preset,
        num_training=args.num_training,
        num_validation=args.num_validation,
        shape=tuple(args.shape),
        seed=args.seed,
        progress=not args.no_progress,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
