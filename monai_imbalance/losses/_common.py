"""Shared argument checks and input preparation for the voxel-weighted losses (MONAI's loss vocabulary)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from monai.networks import one_hot
from monai.utils import LossReduction, look_up_option

__all__ = ["check_activation", "check_reduction", "prepare_inputs", "reduce_per_channel"]


def check_reduction(reduction: LossReduction | str) -> str:
    """Resolve ``reduction`` to one of ``"none"``, ``"mean"``, ``"sum"`` (closest match suggested on a typo)."""
    try:
        return str(look_up_option(reduction, LossReduction).value)
    except ValueError as e:
        raise ValueError(f"`reduction` must be one of 'none', 'mean', 'sum', got {reduction!r}. {e}") from e


def check_activation(sigmoid: bool, softmax: bool, other_act: Callable | None) -> None:
    """Check MONAI's activation triple: at most one of ``sigmoid``, ``softmax``, ``other_act``."""
    if other_act is not None and not callable(other_act):
        raise TypeError(f"`other_act` must be None or callable, got {type(other_act).__name__}.")
    if int(bool(sigmoid)) + int(bool(softmax)) + int(other_act is not None) > 1:
        raise ValueError(
            "Incompatible values: more than 1 of [sigmoid=True, softmax=True, other_act is not None], got "
            f"sigmoid={sigmoid}, softmax={softmax}, other_act={other_act!r}."
        )


def check_input(input: torch.Tensor, name: str = "input") -> None:
    """Check that ``input`` is a floating tensor of shape ``(B, C, *spatial)`` with at least one spatial dim."""
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(input).__name__}.")
    if input.ndim < 3:
        raise ValueError(f"`{name}` must have shape (B, C, *spatial), got shape {tuple(input.shape)}.")
    if not input.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {input.dtype}.")


def check_weight(weight: torch.Tensor, input: torch.Tensor, name: str = "weight") -> torch.Tensor:
    """Check a voxel weight map ``(B, 1 or C, *spatial)`` against ``input`` and return it.

    Raises:
        TypeError: when ``weight`` is not a floating tensor.
        ValueError: when its shape does not match ``input`` or it holds a negative value; on a CUDA device a
            negative value fails asynchronously instead (a device-side assertion), without a host sync.
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor or None, got {type(weight).__name__}.")
    if weight.is_complex():
        raise TypeError(f"`{name}` must be a real tensor, got dtype {weight.dtype}.")
    b, c, *spatial = input.shape
    if (
        weight.ndim != input.ndim
        or weight.shape[0] != b
        or weight.shape[1] not in (1, c)
        or tuple(weight.shape[2:]) != tuple(spatial)
    ):
        raise ValueError(
            f"`{name}` must have shape (B, 1 or C, *spatial) = ({b}, 1 or {c}, {', '.join(map(str, spatial))}), "
            f"got shape {tuple(weight.shape)}."
        )
    if weight.numel() == 0:
        return weight
    if weight.device.type == "cuda":
        # on a GPU a host-side check would stall every training step on a device-to-host copy; the asynchronous
        # assertion fails a later kernel launch instead, with this message
        torch._assert_async(weight.amin() >= 0, f"`{name}` must be non-negative, got a negative value.")
    else:
        low = weight.amin()
        if bool(low < 0):
            raise ValueError(f"`{name}` must be non-negative, got a minimum of {float(low)}.")
    return weight


def to_compute_dtype(x: torch.Tensor) -> torch.Tensor:
    """Return ``x`` in float32 unless it is float64 (half precision is promoted for stable sums and logs)."""
    return x if x.dtype == torch.float64 else x.float()


def prepare_inputs(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    *,
    include_background: bool,
    to_onehot_y: bool,
    activation: Callable[[torch.Tensor], torch.Tensor] | None = None,
    softmax: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Validate, activate, one-hot and drop the background exactly as MONAI's ``DiceLoss`` does.

    Half-precision ``input`` is cast to float32 first (autocast-safe sums); float64 stays float64.
    The weight map follows the channel selection when it has ``C`` channels and broadcasts when it has one.

    Returns:
        ``(input, target, weight)`` of shapes ``(B, C', *spatial)`` (weight ``(B, 1 or C', *spatial)`` or None).
    """
    check_input(input)
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"`target` must be a torch.Tensor, got {type(target).__name__}.")
    if target.ndim != input.ndim or target.shape[0] != input.shape[0] or target.shape[2:] != input.shape[2:]:
        raise ValueError(
            f"`target` must have shape (B, 1 or C, *spatial) matching `input` {tuple(input.shape)}, "
            f"got shape {tuple(target.shape)}."
        )
    if weight is not None:
        weight = check_weight(weight, input)
    input = to_compute_dtype(input)
    if weight is not None:
        weight = weight.to(input.dtype)
    n_pred_ch = input.shape[1]
    if activation is not None:
        input = activation(input)
    if softmax:
        if n_pred_ch == 1:
            warnings.warn("single channel prediction, `softmax=True` ignored.", stacklevel=3)
        else:
            input = torch.softmax(input, 1)
    if to_onehot_y:
        if n_pred_ch == 1:
            warnings.warn("single channel prediction, `to_onehot_y=True` ignored.", stacklevel=3)
        else:
            if target.shape[1] != 1:
                raise ValueError(
                    f"`target` must have 1 channel of class indices when `to_onehot_y=True`, "
                    f"got shape {tuple(target.shape)}."
                )
            target = one_hot(target, num_classes=n_pred_ch)
    if target.shape[1] != n_pred_ch:
        raise ValueError(
            f"`target` must have {n_pred_ch} channels like `input` (or 1 channel with `to_onehot_y=True`), "
            f"got shape {tuple(target.shape)}."
        )
    if not include_background:
        if n_pred_ch == 1:
            warnings.warn("single channel prediction, `include_background=False` ignored.", stacklevel=3)
        else:
            input = input[:, 1:]
            target = target[:, 1:]
            if weight is not None and weight.shape[1] > 1:
                weight = weight[:, 1:]
    return input, target.to(input.dtype), weight


def reduce_per_channel(f: torch.Tensor, reduction: str, ndim: int) -> torch.Tensor:
    """Reduce a per-(batch, channel) score as MONAI's ``DiceLoss`` does (``none`` keeps a broadcastable shape)."""
    if reduction == LossReduction.MEAN.value:
        return torch.mean(f)
    if reduction == LossReduction.SUM.value:
        return torch.sum(f)
    return f.view(list(f.shape[0:2]) + [1] * (ndim - 2))
