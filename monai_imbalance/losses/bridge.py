r"""The bridge that brings a map made by a transform to the loss inside MONAI's stock engines.

MONAI's ``SupervisedTrainer`` calls ``loss_function(pred, target)`` with two arguments. The bridge attaches the
map to the *label's metadata* on its way to the device and unpacks it in the loss:

- :class:`PrepareBatchWithMap` (``prepare_batch=`` of ``SupervisedTrainer`` / ``SupervisedEvaluator``) moves
  ``image``, ``label`` and the map (e.g. ``label_weight`` from ``ComputeInverseWeightMapd``, ``label_rrw`` from
  ``ComputeRRWMapd``) to the device and returns ``(image, label)`` where ``label`` is a ``MetaTensor`` whose
  ``meta[map_key]`` is the map;
- :class:`MapBridgeLoss` wraps a map-taking loss: ``loss(pred, label.as_tensor(), weight=label.meta[map_key])``
  (the map's keyword, ``map_arg``, is ``weight`` for the voxel-weighted losses and ``rw_map`` for the region-wise
  loss, as in :func:`~monai_imbalance.reporting.logit_gradient`).

Why this route (measured against MONAI 1.6.1): the label keeps its shape and values, so train-time metrics,
post transforms, decollation and the evaluator see an ordinary label and need no change; the map is a view
moved once with the batch; AMP (``torch.autocast`` wraps the loss call) and gradient accumulation
(``accumulation_steps``) live in MONAI's ``_iteration`` and are untouched. Rejected: concatenating the map to
the label's channels (every metric and post transform must then drop the channels, and the label turns float);
stashing the map on the loss object (state mutated between calls, unsafe with several engines); a custom
``iteration_update`` (a copy of MONAI's ``_iteration``); ``PrepareBatchExtraInput`` (sends extras to the
network, not the loss). Limitation: ``SupervisedTrainer(compile=True)`` strips the label's metadata before the
loss, so the map cannot arrive; :class:`MapBridgeLoss` then raises a ``KeyError`` saying so. Without CUDA,
``SupervisedTrainer(amp=True)`` (monai 1.6.1) builds ``torch.cuda.amp.GradScaler`` and ``torch.autocast("cuda")``,
which warn and disable themselves: training runs in float32 (tested); under CPU bf16/fp16 autocast and CUDA AMP
the losses promote half-precision inputs to float32 before their sums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from monai.data import MetaTensor
from monai.engines import PrepareBatch
from monai.utils import CommonKeys, convert_to_tensor, ensure_tuple
from torch.nn.modules.loss import _Loss

from monai_imbalance.losses._common import accepts_keyword, renamed_keyword

__all__ = ["MapBridgeLoss", "PrepareBatchWithMap"]


class PrepareBatchWithMap(PrepareBatch):
    """Return ``(image, label)`` on the device with the maps of ``map_keys`` attached to ``label.meta``.

    The batch is not modified: the returned label is a new ``MetaTensor`` sharing the label's storage with a
    copied metadata dictionary.

    Args:
        map_keys: batch keys of the maps, ``(B, 1 or C, *spatial)`` each (e.g. ``"label_weight"``).
        image_key: batch key of the network input.
        label_key: batch key of the label.
        allow_missing_keys: skip a missing map key (e.g. validation data without maps) instead of raising
            (MONAI's name).
        allow_missing: deprecated name of ``allow_missing_keys`` (a ``DeprecationWarning``).

    Raises:
        TypeError: when both ``allow_missing_keys`` and ``allow_missing`` are given; (when called) ``batchdata``
            is not a dictionary.
        KeyError: (when called) a key is missing from the batch and ``allow_missing_keys`` is False.

    Example:
        >>> batch = {"image": torch.zeros(2, 1, 4), "label": torch.ones(2, 1, 4), "label_weight": torch.rand(2, 1, 4)}
        >>> image, label = PrepareBatchWithMap("label_weight")(batch, "cpu")
        >>> type(label).__name__, tuple(label.shape), torch.equal(label.meta["label_weight"], batch["label_weight"])
        ('MetaTensor', (2, 1, 4), True)
    """

    def __init__(
        self,
        map_keys: str | Sequence[str] = "label_weight",
        image_key: str = CommonKeys.IMAGE,
        label_key: str = CommonKeys.LABEL,
        allow_missing_keys: bool = False,
        *,
        allow_missing: bool | None = None,
    ) -> None:
        self.map_keys = ensure_tuple(map_keys)
        self.image_key = image_key
        self.label_key = label_key
        self.allow_missing_keys = bool(
            renamed_keyword(
                allow_missing_keys, allow_missing, "allow_missing_keys", "allow_missing", "PrepareBatchWithMap", False
            )
        )

    def __call__(
        self,
        batchdata: Mapping[str, Any],
        device: str | torch.device | None = None,
        non_blocking: bool = False,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Move image, label and maps to ``device`` and attach the maps to the label's metadata."""
        if not isinstance(batchdata, Mapping):
            raise TypeError(f"`batchdata` must be a dictionary, got {type(batchdata).__name__}.")
        for key in (self.image_key, self.label_key):
            if key not in batchdata:
                raise KeyError(f"Key `{key}` not found in the batch; available keys: {sorted(batchdata)}.")
        image = batchdata[self.image_key].to(device=device, non_blocking=non_blocking, **kwargs)
        label = batchdata[self.label_key].to(device=device, non_blocking=non_blocking, **kwargs)
        if isinstance(label, MetaTensor):
            # assigned after construction: MetaTensor(x, meta=...) inspects collated (batched) meta and fails on it
            out = MetaTensor(label.as_tensor())
            out.meta = dict(label.meta)
            out.applied_operations = list(label.applied_operations)
            out.is_batch = label.is_batch
        else:
            out = MetaTensor(label)
            out.is_batch = True
        for key in self.map_keys:
            if key not in batchdata:
                if self.allow_missing_keys:
                    continue
                raise KeyError(
                    f"Map key `{key}` not found in the batch; available keys: {sorted(batchdata)}. Add the map "
                    "transform (e.g. ComputeInverseWeightMapd) or set `allow_missing_keys=True`."
                )
            m = convert_to_tensor(batchdata[key], track_meta=False)  # a MetaTensor's plain tensor
            out.meta[key] = m.to(device=device, non_blocking=non_blocking)
        return image, out


class MapBridgeLoss(_Loss):
    """Call ``loss(input, target, **{map_arg: target.meta[map_key]})``: the map from :class:`PrepareBatchWithMap`.

    Args:
        loss: a loss taking the map as a keyword argument (``weight`` for the voxel-weighted losses, ``rw_map``
            for :class:`~monai_imbalance.losses.RegionWiseLoss`).
        map_key: the key given to :class:`PrepareBatchWithMap`.
        map_arg: keyword of ``loss`` receiving the map; None picks the one of ``weight`` / ``rw_map`` that
            ``loss.forward`` accepts.
        loss_arg: deprecated name of ``map_arg`` (a ``DeprecationWarning``).

    Raises:
        TypeError: when ``loss`` is not callable, or both ``map_arg`` and ``loss_arg`` are given.
        ValueError: when ``map_arg`` is None and ``loss.forward`` accepts both or neither of ``weight``/``rw_map``.

    Example:
        >>> from monai_imbalance.losses import VoxelWeightedBCELoss
        >>> batch = {"image": torch.zeros(1, 1, 4), "label": torch.ones(1, 1, 4)}
        >>> batch["label_weight"] = torch.full((1, 1, 4), 2.0)
        >>> image, label = PrepareBatchWithMap("label_weight")(batch, "cpu")
        >>> MapBridgeLoss(VoxelWeightedBCELoss(), "label_weight")(image, label)  # 2 * log(2)
        tensor(1.3863)
    """

    def __init__(
        self,
        loss: torch.nn.Module,
        map_key: str = "label_weight",
        map_arg: str | None = None,
        *,
        loss_arg: str | None = None,
    ) -> None:
        super().__init__()
        if not callable(loss):
            raise TypeError(f"`loss` must be a callable loss, got {type(loss).__name__}.")
        map_arg = renamed_keyword(map_arg, loss_arg, "map_arg", "loss_arg", "MapBridgeLoss", default=None)
        if map_arg is None:
            found = [a for a in ("weight", "rw_map") if accepts_keyword(loss, a)]
            if len(found) != 1:
                raise ValueError(
                    f"Cannot tell which argument of {type(loss).__name__}.forward takes the map (found {found}); "
                    "set `map_arg`."
                )
            map_arg = found[0]
        self.loss = loss
        self.map_key = map_key
        self.map_arg: str = map_arg

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Unpack the map from ``target.meta`` and call the wrapped loss on the plain target.

        Raises:
            KeyError: when ``target`` carries no map under ``map_key``.
        """
        meta = target.meta if isinstance(target, MetaTensor) else {}
        if self.map_key not in meta:
            raise KeyError(
                f"`target` carries no map under `{self.map_key}`: use `prepare_batch=PrepareBatchWithMap("
                f"'{self.map_key}')` in the engine (SupervisedTrainer(compile=True) drops the label's metadata)."
            )
        plain = convert_to_tensor(target, track_meta=False)  # a MetaTensor's plain tensor
        return self.loss(input, plain, **{self.map_arg: meta[self.map_key]})
