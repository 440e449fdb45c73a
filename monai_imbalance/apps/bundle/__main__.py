"""Command line: ``python -m monai_imbalance.apps.bundle {list,export}``: the shipped bundles, written out to run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from monai_imbalance.apps.bundle.export import bundle_names, describe_bundle, export_bundle


def main(argv: Sequence[str] | None = None) -> int:
    """List the shipped bundles or export one into a new folder.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        0 on success, 1 when the bundle name is unknown or the folder is not empty (the error is printed).

    Example:
        >>> main(["list"])
        lesion_inverse_weighting ...
        multiclass_region_wise ...
        0
        >>> main(["export", "no_such_bundle", "somewhere"])
        1
    """
    parser = argparse.ArgumentParser(prog="python -m monai_imbalance.apps.bundle", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the shipped bundles, their versions and tasks")
    export = commands.add_parser("export", help="copy a bundle into a new or empty folder")
    export.add_argument("name", help="bundle name (see `list`)")
    export.add_argument("output_dir", help="the new bundle root (must not exist or be empty)")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name in bundle_names():
            print(describe_bundle(name))
        return 0
    try:
        out = export_bundle(args.name, args.output_dir)
    except (KeyError, FileExistsError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 1
    configs = out / "configs"
    print(f"exported {args.name} to {out}; train it with:")
    print(
        f"  python -m monai.bundle run --bundle_root {out} --config_file {configs / 'train.yaml'} "
        f"--meta_file {configs / 'metadata.json'} --logging_file {configs / 'logging.conf'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
