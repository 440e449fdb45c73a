"""Training iterations per second of the lesion bundle: plain Dice vs inverse-weighted Dice (device or transform maps).

Usage::

    python benchmarks/bench_train.py            # the bundle's patches (2 x 48x48x32) and network, 3 x 12 iterations
    python benchmarks/bench_train.py --quick    # 2 x 16^3 patches, 1 timed epoch of 2 iterations (a smoke test)
    python benchmarks/bench_train.py --device cuda
    python benchmarks/bench_train.py --device cuda --patch 128 128 128   # the paper's patch size
    python benchmarks/bench_train.py --num_threads 1   # on a CPU shared with other jobs
    python benchmarks/bench_train.py --family recipe --num_threads 1   # the CPU recipes against plain BCE
    python benchmarks/bench_train.py --family default --num_threads 1 --rounds 5   # the bundle's default loss

Every variant runs MONAI's ``SupervisedTrainer`` with the network and optimiser of
``bundles/lesion_inverse_weighting/configs/train.yaml`` on the same fixed patches (cut from one built-in
metastases-like case, half of them centred on a lesion, as the bundle samples them):

- ``dice``: ``VoxelWeightedDiceLoss(sigmoid=True, squared_pred=True)`` without weights (``configs/losses/dice.yaml``);
- ``iw_dice (device)``: ``InverseWeightedLoss(VoxelWeightedDiceLoss(...))``: the weights are computed from the
  target inside the loss, on the training device;
- ``iw_dice (transform)``: ``ComputeInverseWeightsd`` in the data pipeline (CPU, every iteration, as the bundle does
  with ``num_workers: 0``), the map brought to the loss by ``PrepareBatchWithMap`` + ``MapBridgeLoss``
  (``configs/losses/iw_dice.yaml``).

``--family recipe`` times instead, against plain BCE (``configs/losses/bce.yaml``) on the same patches:

- ``bce`` (reference) and ``iw_bce (transform)`` (``configs/losses/iw_bce.yaml``, weights clipped to [1, 2e5]);
- ``iw_bce recipe`` and ``iw_dice recipe``: the ``loss`` of ``configs/losses/iw_{bce,dice}_recipe.yaml`` as that
  fragment defines it (a mix of the plain and the inverse-weighted loss, the weights computed inside the loss);
- ``dice``, the twin of ``iw_dice recipe``.

``--family default`` times the lesion bundle's default ``loss`` (``train.yaml``: ``InverseWeightedLoss`` around
``VoxelWeightedBCELoss``, the weights computed from each patch's label inside the loss and capped at 20) against
plain BCE, with the bundle's own patch size and batch (``patch_size``, ``num_samples`` of ``train.yaml``) unless
``--patch`` is given.

``--rounds R`` interleaves the variants: R rounds, each timing every variant once (one warm-up epoch and
``--epochs`` timed epochs); the median over all rounds is reported. On a machine shared with other jobs the load
changes over minutes, and interleaving exposes every variant to the same load.

An epoch is timed from its start to its end (data transform, transfer, forward, loss, backward, optimiser step);
the first epoch is a warm-up; the table reports the median iterations per second over the others and the ratio
of the time per iteration to plain Dice (one run, the variants one after the other; on a shared machine the
spread is large).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "lesion_inverse_weighting"
TARGET_GPU_RATIO = 1.1  # iw_dice (device) time per iteration / plain Dice's, on a GPU (issue 3)
TARGET_RECIPE_RATIO = 1.1  # the recipes' time per iteration / plain BCE's, on the CPU (issue 12)
LOSSES = BUNDLE / "configs" / "losses"
FAMILIES = {
    "dice": ["dice", "iw_dice (device)", "iw_dice (transform)"],
    "recipe": ["bce", "iw_bce (transform)", "iw_bce recipe", "dice", "iw_dice recipe"],
    "default": ["bce", "default"],
}
TARGET_DEFAULT_RATIO = 1.1  # the bundle's default loss's time per iteration / plain BCE's, on the CPU (issue 12)


def _fragment_loss(name: str) -> Any:
    """The ``loss`` of ``configs/losses/<name>.yaml``, as the bundle would build it (its own ids resolved)."""
    from monai.bundle import ConfigParser

    content = ConfigParser.load_config_file(str(LOSSES / f"{name}.yaml"))
    # the fragment's additions to the bundle (`+train#handlers`: the alpha schedule) have no bundle to merge into
    parser = ConfigParser({k: v for k, v in content.items() if not k.startswith("+")})
    return parser.get_parsed_content("loss")


def _patches(patch: tuple[int, int, int], n: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """``n`` fixed (image, label) patches of one built-in case, every other one centred on a lesion voxel."""
    from monai_imbalance.data.synthetic import make_case

    shape = tuple(max(2 * p, 16) for p in patch)
    image, label, _ = make_case(shape, "metastases", seed=seed)
    image = (image - image.mean()) / image.std()
    rng = np.random.default_rng(seed)
    lesion = np.argwhere(label > 0)
    out = []
    for i in range(n):
        if i % 2 == 0 and len(lesion):
            centre = lesion[rng.integers(len(lesion))]
        else:
            centre = np.array([rng.integers(p // 2, s - p // 2 + 1) for s, p in zip(shape, patch, strict=True)])
        lo = [int(np.clip(c - p // 2, 0, s - p)) for c, s, p in zip(centre, shape, patch, strict=True)]
        sl = tuple(slice(a, a + p) for a, p in zip(lo, patch, strict=True))
        out.append(
            {
                "image": torch.as_tensor(image[sl][None], dtype=torch.float32),
                "label": torch.as_tensor(label[sl][None], dtype=torch.uint8),
            }
        )
    return out


def _bundle_parser() -> Any:
    """A parser of the lesion bundle's ``train.yaml`` (nothing instantiated until asked)."""
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(str(BUNDLE / "configs" / "train.yaml"))
    return parser


def _network(device: torch.device) -> torch.nn.Module:
    return _bundle_parser().get_parsed_content("network_def").to(device)


def bundle_patches() -> tuple[tuple[int, int, int], int]:
    """The lesion bundle's training ``patch_size`` and patches per iteration (``num_samples``: one case a batch)."""
    parser = _bundle_parser()
    patch = tuple(int(p) for p in parser.get_parsed_content("patch_size"))
    return (patch[0], patch[1], patch[2]), int(parser.get_parsed_content("num_samples"))


def _variant(name: str) -> tuple[Any, Any, Any]:
    """(loss, per-sample transform or None, prepare_batch or None) of a variant."""
    from monai_imbalance.losses import (
        InverseWeightedLoss,
        MapBridgeLoss,
        PrepareBatchWithMap,
        VoxelWeightedBCELoss,
        VoxelWeightedDiceLoss,
    )
    from monai_imbalance.transforms import ComputeInverseWeightsd

    dice = VoxelWeightedDiceLoss(sigmoid=True, squared_pred=True)
    if name == "dice":
        return dice, None, None
    if name == "bce":
        return VoxelWeightedBCELoss(), None, None
    if name == "default":
        return _bundle_parser().get_parsed_content("loss"), None, None
    if name == "iw_bce (transform)":
        return (
            MapBridgeLoss(VoxelWeightedBCELoss(), map_key="label_weight"),
            ComputeInverseWeightsd(keys="label", min_weight=1.0, max_weight=2.0e5),
            PrepareBatchWithMap("label_weight"),
        )
    if name.endswith(" recipe"):
        return _fragment_loss(name.replace(" ", "_")), None, None
    if name == "iw_dice (device)":
        return InverseWeightedLoss(dice), None, None
    return (
        MapBridgeLoss(dice, map_key="label_weight"),
        ComputeInverseWeightsd(keys="label"),
        PrepareBatchWithMap("label_weight"),
    )


def _time_variant(
    name: str, data: list[dict[str, torch.Tensor]], device: torch.device, epochs: int, batch: int
) -> list[float]:
    """Seconds per iteration of every timed epoch (after one warm-up epoch)."""
    from monai.data import DataLoader, Dataset
    from monai.engines import SupervisedTrainer

    torch.manual_seed(0)
    network = _network(device)
    loss, transform, prepare = _variant(name)
    loader = DataLoader(Dataset(data, transform=transform), batch_size=batch, shuffle=False, num_workers=0)
    optimizer = torch.optim.SGD(network.parameters(), lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-4)
    kwargs = {"prepare_batch": prepare} if prepare is not None else {}
    trainer = SupervisedTrainer(
        device=device,
        max_epochs=epochs + 1,
        train_data_loader=loader,
        network=network,
        optimizer=optimizer,
        loss_function=loss,
        amp=device.type == "cuda",
        **kwargs,
    )
    from ignite.engine import Events

    times: list[float] = []
    start: list[float] = []

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    @trainer.on(Events.EPOCH_STARTED)
    def _start(engine: Any) -> None:
        sync()
        start.append(time.perf_counter())

    @trainer.on(Events.EPOCH_COMPLETED)
    def _stop(engine: Any) -> None:
        sync()
        times.append((time.perf_counter() - start[-1]) / len(loader))

    trainer.run()
    return times[1:]


def run(
    quick: bool = False,
    device: str | None = None,
    epochs: int | None = None,
    patch: tuple[int, int, int] | None = None,
    iterations: int | None = None,
    family: str = "dice",
    rounds: int = 1,
) -> list[dict[str, Any]]:
    """Time the variants of ``family``, interleaved over ``rounds`` rounds, and return one row per variant.

    Args:
        quick: small patches and few iterations.
        device: ``"cpu"`` or ``"cuda"``; default CUDA when available.
        epochs: timed epochs per variant (default 3, quick 1).
        patch: patch size (default 48x48x32 in batches of 2; family ``default``: the bundle's ``patch_size`` in
            batches of ``num_samples``; quick 16^3 in batches of 2).
        iterations: iterations per epoch (default 12, quick 2).
        family: ``"dice"`` (plain Dice, inverse-weighted Dice with the weights on the device or from the transform)
            or ``"recipe"`` (plain BCE, iw-BCE, the two CPU recipes and plain Dice) or ``"default"`` (plain BCE
            and the lesion bundle's default loss).
        rounds: rounds of timing, each timing every variant once in turn (>= 1); the median over all of them.

    Returns:
        ``[{"variant", "it_per_s", "s_per_it", "ratio"}]`` (ratio: time per iteration / the first variant's,
        plain Dice or plain BCE).

    Raises:
        ValueError: when ``family`` is unknown or ``rounds`` < 1.
    """
    if family not in FAMILIES:
        raise ValueError(f"`family` must be one of {sorted(FAMILIES)}, got {family!r}.")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"`rounds` must be an integer >= 1, got {rounds!r}.")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    default_patch, default_iters, batch = ((16, 16, 16), 2, 2) if quick else ((48, 48, 32), 12, 2)
    if family == "default" and not quick:
        default_patch, batch = bundle_patches()
    patch, iters = patch or default_patch, iterations or default_iters
    epochs = epochs or (1 if quick else 3)
    data = _patches(patch, iters * batch)
    names = FAMILIES[family]
    times: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(rounds):
        for n in names:
            times[n] += _time_variant(n, data, dev, epochs, batch)
    per_it = {n: statistics.median(t) for n, t in times.items()}
    base = per_it[names[0]]
    return [{"variant": n, "it_per_s": 1.0 / t, "s_per_it": t, "ratio": t / base} for n, t in per_it.items()]


def markdown(rows: list[dict[str, Any]], header: str) -> str:
    """The result table in Markdown (the ratio is to the first row's time per iteration)."""
    ref = rows[0]["variant"] if rows else "dice"
    lines = [header, "", f"| variant | it/s | s/it | time ratio to {ref} |", "|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['it_per_s']:.4g} | {r['s_per_it']:.4g} | {r['ratio']:.2f} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small patches, few iterations")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per variant")
    parser.add_argument("--patch", type=int, nargs=3, default=None, help="patch size, e.g. 128 128 128")
    parser.add_argument("--num_threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--family", default="dice", choices=sorted(FAMILIES), help="the variants timed (default dice)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of timing (default 1)")
    args = parser.parse_args(argv)
    if args.num_threads is not None:
        torch.set_num_threads(args.num_threads)
    rows = run(
        args.quick,
        args.device,
        args.epochs,
        tuple(args.patch) if args.patch else None,
        family=args.family,
        rounds=args.rounds,
    )
    dev = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name() if dev.startswith("cuda") else f"CPU, {torch.get_num_threads()} threads"
    print(
        markdown(
            rows, f"Lesion bundle training step on {name}{' (quick)' if args.quick else ''}, torch {torch.__version__}"
        )
    )


if __name__ == "__main__":
    main()
