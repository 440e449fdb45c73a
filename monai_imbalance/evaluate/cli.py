"""Command line of :func:`~monai_imbalance.evaluate.folder.evaluate_folder`.

``python -m monai_imbalance.evaluate --pred <folder or glob> --label <folder> --output_dir <folder>``; every
option has the bundles' default (luna16 protocol, threshold 0.5, strict view one-to-one at IoU ≥ 0.1 heading
the report), except the size groups (volume tertiles unless ``--size_thresholds``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence

__all__ = ["main", "parser"]


def _numbers(kind: type) -> Callable[[str], list]:
    def parse(text: str) -> list:
        try:
            return [kind(v) for v in text.replace(" ", "").split(",") if v]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__}s, got {text!r}") from None

    parse.__name__ = f"{kind.__name__} list"
    return parse


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m monai_imbalance.evaluate``.

    Example:
        >>> args = parser().parse_args(["--pred", "p", "--label", "l", "--output_dir", "o", "--lesion_labels", "1,2"])
        >>> args.lesion_labels, args.protocol, args.workers, args.key_view
        ([1, 2], 'luna16', 1, 'strict')
    """
    p = argparse.ArgumentParser(
        prog="python -m monai_imbalance.evaluate",
        description=(
            "Lesion-wise evaluation (FROC average recall, object Dice, over-segmentation; paper and strict "
            "matching side by side) of predictions made by any model, against a folder of labels. Writes the "
            "report the bundles write: <name>.json, .md, _froc.png, _recall_by_size.png, _records.json."
        ),
        epilog=(
            "Files are paired by case name: the file name without .nii.gz/.nii/.nrrd/.mhd/.mha and without the "
            "suffixes _prob, _pred, _seg. NIfTI is read with nibabel, NRRD and MetaImage with ITK (MONAI readers); "
            "spacing and affine come from each label file; world coordinates in the records are RAS mm."
        ),
    )
    p.add_argument("--pred", required=True, help="folder or glob pattern (quoted; ** recursive) of the predictions")
    p.add_argument("--label", required=True, help="folder of the labels (ground truth)")
    p.add_argument("--output_dir", required=True, help="folder of the report (created)")
    p.add_argument("--protocol", default="luna16", choices=("luna16", "shirokikh2020"), help="FROC protocol")
    p.add_argument("--threshold", type=float, default=0.5, help="probability above which a voxel is lesion")
    p.add_argument("--strict_hit_rule", default="iou", choices=("iou", "dice"), help="overlap of the strict view")
    p.add_argument("--strict_hit_threshold", type=float, default=0.1, help="overlap a strict match needs")
    p.add_argument("--key_view", default="strict", choices=("strict", "paper"), help="view of the headline figures")
    p.add_argument("--connectivity", type=int, default=None, help="orthogonal hops (1..ndim); default full")
    p.add_argument(
        "--lesion_labels", type=_numbers(int), default=None, help="label values that are lesion, e.g. 2 or 1,2"
    )
    p.add_argument("--sigmoid", action="store_true", help="the predictions are logits")
    p.add_argument(
        "--size_thresholds",
        type=_numbers(float),
        default=None,
        help="equivalent-sphere diameters (mm) between size groups, e.g. 5,10; default volume tertiles",
    )
    p.add_argument("--n_draws", type=int, default=None, help="bootstrap draws (default: the protocol's)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--workers", type=int, default=1, help="processes reading and scoring cases (1: this process)")
    p.add_argument(
        "--mp_context",
        default="auto",
        choices=("auto", "fork", "forkserver", "spawn"),
        help="start method of the worker processes (auto: fork on Linux, the workers start at once; "
        "forkserver / spawn: each server or worker imports MONAI first)",
    )
    p.add_argument("--name", default="lesion_report", help="file name stem of the report")
    p.add_argument("--title", default=None, help="heading of the report")
    p.add_argument("--overwrite", action="store_true", help="replace a report of the same name in --output_dir")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation and return the exit status.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        0 on success, 1 on an error (logged, naming the folder, file or setting); argparse exits with 2 on
        malformed arguments.
    """
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = _evaluate(args)
    except (FileExistsError, FileNotFoundError, TypeError, ValueError) as e:
        # a bad folder, setting or file: the message names it; no traceback for the user to read through
        logging.getLogger("monai_imbalance.evaluate").error(f"{type(e).__name__}: {e}")
        return 1
    view = report["views"][report["key_view"]]
    print(
        f"{report['n_cases']} cases, {report['n_lesions']} lesions; view {report['key_view']!r} "
        f"({report['matching']}): average recall {view['average_recall']}, object Dice "
        f"{view['object_dice']['mean']}; report: {args.output_dir}/{args.name}.md"
    )
    return 0


def _evaluate(args: argparse.Namespace) -> dict:
    from monai_imbalance.evaluate.folder import evaluate_folder

    return evaluate_folder(
        args.pred,
        args.label,
        args.output_dir,
        protocol=args.protocol,
        threshold=args.threshold,
        strict_hit_rule=args.strict_hit_rule,
        strict_hit_threshold=args.strict_hit_threshold,
        key_view=args.key_view,
        connectivity=args.connectivity,
        lesion_labels=args.lesion_labels,
        sigmoid=args.sigmoid,
        size_thresholds=args.size_thresholds,
        n_draws=args.n_draws,
        seed=args.seed,
        workers=args.workers,
        mp_context=args.mp_context,
        name=args.name,
        title=args.title,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
