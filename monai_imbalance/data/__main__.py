"""Command line: ``python -m monai_imbalance.data --output_dir D [--preset metastases] [--num_test 4] ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from monai_imbalance.data.decathlon import make_dataset
from monai_imbalance.data.synthetic import PRESET_NAMES


def main(argv: Sequence[str] | None = None) -> int:
    """Generate a synthetic Decathlon-layout dataset."""
    parser = argparse.ArgumentParser(
        prog="python -m monai_imbalance.data", description="Generate the built-in synthetic multi-lesion dataset."
    )
    parser.add_argument(
        "--output_dir", required=True, help="dataset folder (dataset.json, imagesTr/, labelsTr/, imagesTs/, labelsTs/)"
    )
    parser.add_argument(
        "--preset",
        default="metastases",
        choices=PRESET_NAMES,
        help="lesion statistics; ct_metastases is the second, CT-like design (faint lesions, distractors)",
    )
    parser.add_argument("--num_training", type=int, default=16)
    parser.add_argument("--num_validation", type=int, default=4, help="held-out cases that choose the model")
    parser.add_argument("--num_test", type=int, default=4, help="held-out test cases with labels, for the report")
    parser.add_argument("--shape", type=int, nargs=3, default=(64, 64, 48), metavar=("X", "Y", "Z"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    path = make_dataset(
        args.output_dir,
        preset=args.preset,
        num_training=args.num_training,
        num_validation=args.num_validation,
        num_test=args.num_test,
        shape=tuple(args.shape),
        seed=args.seed,
        progress=not args.no_progress,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
