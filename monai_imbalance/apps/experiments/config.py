"""Experiment configs: a bundle, base overrides, a grid of loss fragments x seeds x presets, an evaluation, analyses.

An experiment YAML (``configs/experiments/*.yaml``) reads::

    name: paper2_multiclass
    root: ../..                          # repository root, relative to this file (the default)
    bundle: bundles/multiclass_region_wise
    train_config: [configs/train.yaml]   # relative to the bundle
    evaluate_config: [configs/train.yaml, configs/evaluate.yaml]
    loss_dir: configs/losses             # relative to the bundle: <loss>.yaml is merged onto train_config
    evaluation: {kind: multiclass}       # or {kind: lesion}: which report the evaluation writes
    overrides: {num_epochs: 40}          # bundle ids set in every run (train and evaluate)
    loss_overrides: {mc_gradual: {gradual_alpha_step: 0.05}}
    loss_fragments: {mix50: iw_bce_recipe}   # optional: a grid name -> the fragment it merges (variants of one
                                         # fragment, told apart by their loss_overrides)
    presets: {multiclass: {preset: multiclass}}   # preset axis: name -> overrides (default {preset: name})
    grid: {loss: [mc_rrw, mc_dice], seed: [0, 1], preset: [multiclass]}
    data_seed: seed                      # "seed": one dataset per seed; an integer: one dataset for all seeds
    gradient_signs: {losses: [mc_rrw], interval: 5}   # optional: GradientSignHandler during training
    analyses: {multiclass: {reference: mc_rrw}}
    profiles: {gpu: {overrides: {num_epochs: 300}}}   # merged over the file by ``--profile gpu``
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monai_imbalance.apps.resources import resolve_resource, resource_root

__all__ = ["EVALUATION_KINDS", "EXPERIMENTS_DIR", "ExperimentConfig", "RunSpec", "load_experiment", "plan_runs"]

#: the shipped experiment configs: ``configs/experiments`` of the source checkout or of the packaged copy
#: (:func:`monai_imbalance.apps.resources.resource_root`)
EXPERIMENTS_DIR = resource_root() / "configs" / "experiments"

#: what the bundle's evaluation writes under its output_dir, per kind
EVALUATION_KINDS: dict[str, dict[str, str]] = {
    "lesion": {"report": "lesion_report.json", "records": "lesion_report_records.json"},
    "multiclass": {"report": "evaluation.json"},
}
_KEYS = {
    "name", "root", "bundle", "train_config", "evaluate_config", "meta_file", "loss_dir", "evaluation", "overrides",
    "evaluate_overrides", "loss_overrides", "loss_fragments", "presets", "grid", "data_seed", "seed_id", "handlers_id",
    "gradient_signs", "analyses", "profiles", "description",
}  # fmt: skip


@dataclass(frozen=True)
class RunSpec:
    """One run of a grid: train the bundle with one loss fragment, seed and preset, then evaluate it.

    Attributes:
        run_id: ``<preset>-<loss>-s<seed>``, the folder name under ``runs/``.
        loss: loss fragment name (``<loss_dir>/<loss>.yaml``).
        seed: training seed (``set_determinism``).
        preset: preset axis value.
        data_seed: seed of the built-in dataset.
    """

    run_id: str
    loss: str
    seed: int
    preset: str
    data_seed: int

    @property
    def data_name(self) -> str:
        """Folder name of the dataset shared by every run with this preset and data seed."""
        return f"{self.preset}-s{self.data_seed}"


@dataclass
class ExperimentConfig:
    """A parsed experiment (see the module docstring for the YAML keys)."""

    name: str
    root: Path
    bundle: Path
    train_config: list[Path]
    evaluate_config: list[Path]
    meta_file: Path
    loss_dir: Path
    evaluation: dict[str, Any]
    overrides: dict[str, Any]
    evaluate_overrides: dict[str, Any]
    loss_overrides: dict[str, dict[str, Any]]
    presets: dict[str, dict[str, Any]]
    grid: dict[str, list[Any]]
    data_seed: str | int = "seed"
    seed_id: str = "seed"
    handlers_id: str = "train#handlers"
    gradient_signs: dict[str, Any] = field(default_factory=dict)
    analyses: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    loss_fragments: dict[str, str] = field(default_factory=dict)

    @property
    def result_name(self) -> str:
        """Folder name under the results directory: the name, suffixed by the profile if any."""
        return self.name if self.profile is None else f"{self.name}-{self.profile}"

    def loss_file(self, loss: str) -> Path:
        """The loss fragment merged onto the train config (``loss_fragments[loss]``, else ``<loss>.yaml``)."""
        return self.loss_dir / f"{self.loss_fragments.get(loss, loss)}.yaml"


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dictionary merge: mappings merge, anything else replaces."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else copy.deepcopy(v)
    return out


def _str_list(value: Any, name: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not items or not all(isinstance(x, str) for x in items):
        raise ValueError(f"`{name}` must be a non-empty list of strings, got {value!r}.")
    return list(items)


def _mapping(value: Any, name: str) -> dict[str, Any]:
    value = {} if value is None else value
    if not isinstance(value, Mapping):
        raise TypeError(f"`{name}` must be a mapping, got {type(value).__name__}.")
    return dict(value)


def _check_grid(grid: Any) -> dict[str, list[Any]]:
    grid = _mapping(grid, "grid")
    unknown = set(grid) - {"loss", "seed", "preset"}
    if unknown or "loss" not in grid or "preset" not in grid:
        raise ValueError(f"`grid` must have the axes loss, preset and optionally seed, got {sorted(grid)}.")
    out = {"loss": _str_list(grid["loss"], "grid.loss"), "preset": _str_list(grid["preset"], "grid.preset")}
    seeds = grid.get("seed", [0])
    seeds = [seeds] if isinstance(seeds, int) else seeds
    if not isinstance(seeds, Sequence) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ValueError(f"`grid.seed` must be a non-empty list of non-negative integers, got {seeds!r}.")
    out["seed"] = list(seeds)
    for axis, values in out.items():
        if len(set(values)) != len(values):
            raise ValueError(f"`grid.{axis}` holds duplicates: {values}.")
    return out


def load_experiment(
    source: str | Path | Mapping[str, Any],
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    base_dir: str | Path | None = None,
) -> ExperimentConfig:
    """Read and check an experiment YAML (or an already loaded mapping).

    Args:
        source: path of the YAML file, or its content as a mapping; a path that does not exist as given is
            looked up as a repository-relative resource (:func:`~monai_imbalance.apps.resources.resolve_resource`:
            the source checkout, then the copy shipped in the package), so ``configs/experiments/<name>.yaml``
            works from any folder.
        profile: name of an entry of ``profiles`` merged over the file (e.g. ``"gpu"``).
        overrides: bundle ids set in every run, on top of the file's ``overrides`` (the CLI's ``--set``).
        base_dir: folder that ``root`` is relative to; default the YAML's folder (the current one for a mapping).

    Returns:
        The :class:`ExperimentConfig`, paths resolved.

    Raises:
        FileNotFoundError: when the YAML, the bundle, a config file or a loss fragment of the grid is missing.
        KeyError: when a required key is missing or ``profile`` is unknown.
        ValueError: on an unknown key, a bad grid, evaluation kind or ``data_seed``.
        TypeError: when a section that must be a mapping is not.

    Example:
        >>> cfg = load_experiment(EXPERIMENTS_DIR / "paper2_multiclass.yaml", overrides={"num_epochs": 1})
        >>> cfg.name, cfg.evaluation["kind"], cfg.overrides["num_epochs"], cfg.grid["loss"][0]
        ('paper2_multiclass', 'multiclass', 1, 'mc_rrw')
    """
    if isinstance(source, Mapping):
        raw, folder = dict(source), Path(base_dir or ".")
    else:
        path = resolve_resource(source)
        if not path.is_file():
            raise FileNotFoundError(f"experiment config {str(path)!r} is not a file.")
        raw = yaml.safe_load(path.read_text()) or {}
        folder = Path(base_dir) if base_dir is not None else path.parent
    if not isinstance(raw, Mapping):
        raise TypeError(f"an experiment config must be a mapping, got {type(raw).__name__}.")
    unknown = set(raw) - _KEYS
    if unknown:
        raise ValueError(f"unknown experiment keys {sorted(unknown)}; expected some of {sorted(_KEYS)}.")
    profiles = _mapping(raw.get("profiles"), "profiles")
    if profile is not None:
        if profile not in profiles:
            raise KeyError(f"`profile` must be one of {sorted(profiles)}, got {profile!r}.")
        raw = _merge(raw, _mapping(profiles[profile], f"profiles.{profile}"))
    for key in ("name", "bundle", "grid", "evaluation"):
        if key not in raw:
            raise KeyError(f"experiment config must define `{key}`.")

    root = (folder / str(raw.get("root", "../.."))).resolve()
    bundle = (root / str(raw["bundle"])).resolve()
    if not bundle.is_dir():
        raise FileNotFoundError(f"bundle folder {str(bundle)!r} does not exist.")
    train = [bundle / p for p in _str_list(raw.get("train_config", ["configs/train.yaml"]), "train_config")]
    evaluate = [
        bundle / p
        for p in _str_list(
            raw.get("evaluate_config", ["configs/train.yaml", "configs/evaluate.yaml"]), "evaluate_config"
        )
    ]
    meta = bundle / str(raw.get("meta_file", "configs/metadata.json"))
    loss_dir = bundle / str(raw.get("loss_dir", "configs/losses"))
    evaluation = _mapping(raw["evaluation"], "evaluation")
    kind = evaluation.get("kind")
    if kind not in EVALUATION_KINDS:
        raise ValueError(f"`evaluation.kind` must be one of {sorted(EVALUATION_KINDS)}, got {kind!r}.")
    evaluation = {**EVALUATION_KINDS[kind], **evaluation}
    grid = _check_grid(raw["grid"])
    data_seed = raw.get("data_seed", "seed")
    if not (data_seed == "seed" or (isinstance(data_seed, int) and data_seed >= 0)):
        raise ValueError(f"`data_seed` must be 'seed' or a non-negative integer, got {data_seed!r}.")
    presets = {str(k): _mapping(v, f"presets.{k}") for k, v in _mapping(raw.get("presets"), "presets").items()}
    cfg = ExperimentConfig(
        name=str(raw["name"]),
        root=root,
        bundle=bundle,
        train_config=train,
        evaluate_config=evaluate,
        meta_file=meta,
        loss_dir=loss_dir,
        evaluation=evaluation,
        overrides={**_mapping(raw.get("overrides"), "overrides"), **dict(overrides or {})},
        evaluate_overrides=_mapping(raw.get("evaluate_overrides"), "evaluate_overrides"),
        loss_overrides={
            str(k): _mapping(v, f"loss_overrides.{k}")
            for k, v in _mapping(raw.get("loss_overrides"), "loss_overrides").items()
        },
        presets={p: presets.get(p, {"preset": p}) for p in grid["preset"]},
        grid=grid,
        data_seed=data_seed,
        seed_id=str(raw.get("seed_id", "seed")),
        handlers_id=str(raw.get("handlers_id", "train#handlers")),
        gradient_signs=_mapping(raw.get("gradient_signs"), "gradient_signs"),
        analyses=_mapping(raw.get("analyses"), "analyses"),
        profile=profile,
        source=raw,
        loss_fragments={str(k): str(v) for k, v in _mapping(raw.get("loss_fragments"), "loss_fragments").items()},
    )
    for p in [*cfg.train_config, *cfg.evaluate_config, cfg.meta_file, *map(cfg.loss_file, grid["loss"])]:
        if not p.is_file():
            raise FileNotFoundError(f"experiment {cfg.name!r}: file {str(p)!r} does not exist.")
    return cfg


def plan_runs(cfg: ExperimentConfig) -> list[RunSpec]:
    """Every run of the grid, preset-major then seed then loss (the datasets are generated once, in order).

    Args:
        cfg: the experiment.

    Returns:
        The list of :class:`RunSpec`.

    Example:
        >>> cfg = load_experiment(EXPERIMENTS_DIR / "paper2_convergence.yaml")
        >>> runs = plan_runs(cfg)
        >>> len(runs), runs[0].run_id, runs[1].run_id, runs[0].data_name == runs[-1].data_name
        (20, 'multiclass-mc_rrw-s0', 'multiclass-mc_rw_boundary-s0', True)
    """
    runs = []
    for preset, seed, loss in itertools.product(cfg.grid["preset"], cfg.grid["seed"], cfg.grid["loss"]):
        data_seed = seed if cfg.data_seed == "seed" else int(cfg.data_seed)
        runs.append(RunSpec(f"{preset}-{loss}-s{seed}", loss, int(seed), preset, int(data_seed)))
    return runs
