"""Shared argument checks and input preparation for the voxel-weighted losses (MONAI's loss vocabulary)."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
from monai.networks import one_hot
from monai.utils import LossReduction

from monai_imbalance.utils.validation import check_option

__all__ = [
    "accepts_keyword",
    "check_activation",
    "check_empty_mean",
    "check_input",
    "check_integer_values",
    "check_reduction",
    "check_target",
    "check_target_shape",
    "check_values",
    "check_weight",
    "dense_view",
    "prepare_inputs",
    "reduce_loss",
    "reduce_per_channel",
    "renamed_keyword",
]


def check_reduction(reduction: LossReduction | str) -> str:
    """Resolve ``reduction`` to one of ``"none"``, ``"mean"``, ``"sum"`` (closest match suggested on a typo)."""
    try:
        return str(check_option(reduction, LossReduction, "reduction").value)
    except ValueError as e:
        raise ValueError(f"`reduction` must be one of 'none', 'mean', 'sum', got {reduction!r}. {e}") from None


def accepts_keyword(loss: Any, name: str) -> bool:
    """Whether ``loss``'s ``forward`` (or its call) takes the keyword ``name`` (a ``**kwargs`` takes any).

    The one signature test of the losses that route a map to the loss taking it. A callable without a readable
    signature (a builtin) is assumed to take it.

    Example:
        >>> accepts_keyword(torch.nn.L1Loss(), "weight"), accepts_keyword(lambda x, y, weight=None: x, "weight")
        (False, True)
    """
    try:
        params = inspect.signature(loss.forward if hasattr(loss, "forward") else loss).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return True
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def renamed_keyword(new_value: Any, old_value: Any, new: str, old: str, owner: str, default: Any) -> Any:
    """The value of a renamed keyword: ``new_value``, or a given ``old_value`` with a ``DeprecationWarning``.

    ``old_value`` is ``None`` when the old keyword was not given.

    Raises:
        TypeError: when both the old and the new keyword are given.
    """
    if old_value is None:
        return new_value
    if new_value is not default and new_value != default:
        raise TypeError(f"{owner}: give `{new}` only; `{old}` is its deprecated name.")
    warnings.warn(f"{owner}(`{old}`=...) is deprecated: use `{new}`.", DeprecationWarning, stacklevel=3)
    return old_value


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
    """Check that ``input`` is a floating tensor ``(B, C, *spatial)``: ``C >= 1``, every spatial size ``>= 1``.

    ``B = 0`` passes (see :func:`check_empty_mean`). Shape and dtype only: values are checked by
    :func:`check_values`.

    Raises:
        TypeError: when ``input`` is not a tensor or not floating point.
        ValueError: when it has fewer than 3 dimensions, no channel or an empty spatial dimension.
    """
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(input).__name__}.")
    if input.ndim < 3:
        raise ValueError(f"`{name}` must have shape (B, C, *spatial), got shape {tuple(input.shape)}.")
    if not input.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {input.dtype}.")
    if input.shape[1] == 0 or 0 in input.shape[2:]:
        raise ValueError(
            f"`{name}` must have at least one channel and one voxel, got shape {tuple(input.shape)} (B, C, *spatial)."
        )


def check_empty_mean(input: torch.Tensor, reduction: str, name: str = "input") -> None:
    """Refuse ``reduction="mean"`` over an empty batch (``B = 0``): a mean over nothing is undefined (NaN in torch).

    With ``"sum"`` an empty batch gives 0 and with ``"none"`` an empty tensor; both are well defined.

    Raises:
        ValueError: when ``input.shape[0] == 0`` and ``reduction == "mean"``.
    """
    if reduction == LossReduction.MEAN.value and input.shape[0] == 0:
        raise ValueError(
            f"`{name}` is an empty batch (shape {tuple(input.shape)}): reduction='mean' over no sample is undefined; "
            "skip empty batches or use reduction='sum' (0) or 'none'."
        )


def check_values(
    x: torch.Tensor,
    name: str,
    expected: str = "finite values",
    low: float | None = None,
    high: float | None = None,
    asynchronous: bool | None = None,
) -> None:
    """Check that ``x`` is finite and within ``[low, high]`` with one reduction (``aminmax``; NaN propagates to both).

    CPU (and every device but CUDA): an eager ``ValueError`` naming the argument, the expectation and what was
    found (the NaN / inf count or the range). CUDA: an asynchronous device-side assertion
    (``torch._assert_async``) with the same text and no host sync: a bad value fails a later kernel launch (or
    the next synchronisation) with a ``RuntimeError`` instead of stalling every training step on a
    device-to-host copy. ``asynchronous`` overrides the choice (for tests). Boolean and empty tensors pass.

    Raises:
        ValueError: (not asynchronous) when ``x`` holds NaN / inf or a value outside ``[low, high]``.
    """
    if x.numel() == 0 or x.dtype == torch.bool:
        return
    lo, hi = torch.aminmax(dense_view(x.detach()))
    ok = (lo >= low if low is not None else lo > -math.inf) & (hi <= high if high is not None else hi < math.inf)
    if asynchronous is None:
        asynchronous = x.device.type == "cuda"
    if asynchronous:
        # on a GPU a host-side check would stall every training step on a device-to-host copy; the asynchronous
        # assertion fails a later kernel launch instead, with this message
        torch._assert_async(ok, f"`{name}` must hold {expected}, got a value that is not (device-side check).")
        return
    if bool(ok):
        return
    if x.is_floating_point():
        bad = int((~torch.isfinite(x)).sum())
        if bad:
            raise ValueError(f"`{name}` must hold {expected}, got {bad} NaN or infinite value(s).")
    raise ValueError(f"`{name}` must hold {expected}, got values in [{float(lo) + 0.0:g}, {float(hi) + 0.0:g}].")


def dense_view(x: torch.Tensor) -> torch.Tensor:
    """``x`` with its dimensions in memory order: a view that is contiguous when ``x`` is a permuted dense tensor.

    A full reduction reads a strided tensor out of order (a one-hot target moved from channels-last, say):
    ``aminmax`` over such a ``(2, 4, 128^3)`` target took 20x the time of the contiguous one on the CPU. The
    view holds the same elements, so any order-free reduction (min, max, any) gives the same result.

    Example:
        >>> t = torch.zeros(2, 3, 4).movedim(-1, 1)
        >>> t.is_contiguous(), dense_view(t).is_contiguous()
        (False, True)
    """
    if x.is_contiguous():
        return x
    strides = x.stride()
    order = sorted(range(x.ndim), key=lambda d: (-strides[d], -x.shape[d]))
    dense = x.permute(order)
    return dense if dense.is_contiguous() else x


def check_integer_values(x: torch.Tensor, name: str, expected: str, asynchronous: bool | None = None) -> None:
    """Check that a floating ``x`` holds integer values (class indices); integer dtypes pass. CUDA: asynchronous.

    Raises:
        ValueError: (not asynchronous) when a value is not an integer.
    """
    if x.numel() == 0 or not x.is_floating_point():
        return
    x = dense_view(x.detach())
    frac = x != x.round()
    if asynchronous is None:
        asynchronous = x.device.type == "cuda"
    if asynchronous:
        torch._assert_async(~frac.any(), f"`{name}` must hold {expected}, got a non-integer value (device-side check).")
        return
    if bool(frac.any()):
        raise ValueError(f"`{name}` must hold {expected}, got non-integer value {float(x[frac].reshape(-1)[0]):g}.")


def check_weight(weight: torch.Tensor, input: torch.Tensor, name: str = "weight") -> torch.Tensor:
    """Check a voxel weight map ``(B, 1 or C, *spatial)`` against ``input`` and return it.

    The one validator of voxel weights, shared by every loss. Half-precision weights are refused, not upcast:
    float16 holds at most 65504 while inverse lesion-size weights reach the patch size (a 1-voxel lesion in a
    64^3 patch weighs 131072, inf in float16: BCE / Focal would return inf, Dice / ASL NaN), and bfloat16 keeps 8
    significant bits; a map that is finite in one batch overflows in the next, so the dtype is refused up front.
    Compute and store weight maps in float32 (the map functions and transforms return float32). Integer and
    boolean weights (masks) are accepted. Values: finite and non-negative, one ``aminmax`` (see
    :func:`check_values`; asynchronous on CUDA).

    Raises:
        TypeError: when ``weight`` is not a real tensor, or is float16 / bfloat16.
        ValueError: when its shape does not match ``input`` or it holds a negative, NaN or infinite value; on a
            CUDA device a bad value fails asynchronously instead (a device-side assertion), without a host sync.
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor or None, got {type(weight).__name__}.")
    if weight.is_complex():
        raise TypeError(f"`{name}` must be a real tensor, got dtype {weight.dtype}.")
    if weight.dtype in (torch.float16, torch.bfloat16):
        raise TypeError(
            f"`{name}` must be float32 or float64 (or an integer / boolean mask), got dtype {weight.dtype}: half "
            "precision overflows or rounds inverse lesion-size weights (float16 holds at most 65504); compute and "
            "store weight maps in float32."
        )
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
    check_values(weight, name, "finite non-negative values", low=0.0)
    return weight


def check_target_shape(
    target: Any, input: torch.Tensor, channels: tuple[int, ...] | None = None, name: str = "target"
) -> None:
    """Check that ``target`` is a real tensor ``(B, c, *spatial)`` with the batch and spatial sizes of ``input``.

    ``c`` is any number of channels (``channels=None``, checked by the caller) or one of ``channels``. The one
    shape check of every loss's target; a target without its channel dimension is named as such.

    Raises:
        TypeError: when ``target`` is not a tensor or is complex.
        ValueError: when its shape does not match ``input``.
    """
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(target).__name__}.")
    if target.is_complex():
        raise TypeError(f"`{name}` must be a real tensor, got dtype {target.dtype}.")
    same = target.ndim == input.ndim and target.shape[0] == input.shape[0] and target.shape[2:] == input.shape[2:]
    if not same or (channels is not None and target.shape[1] not in channels):
        hint = " (no channel dimension?)" if target.ndim == input.ndim - 1 else ""
        c = "1 or C" if channels is None else " or ".join(map(str, channels))
        raise ValueError(
            f"`{name}` must have shape (B, {c}, *spatial) matching `input` {tuple(input.shape)}, "
            f"got shape {tuple(target.shape)}{hint}."
        )


def check_target(
    target: torch.Tensor, input: torch.Tensor, num_classes: int | None = None, name: str = "target"
) -> None:
    """Check a target ``(B, 1 or C, *spatial)`` against ``input``: type, shape and values (one ``aminmax``).

    ``num_classes=None``: binary, soft or one-hot values in ``[0, 1]``; ``num_classes=n``: integer class
    indices in ``[0, n - 1]`` (the ``to_onehot_y`` case). Asynchronous on CUDA (see :func:`check_values`).

    Raises:
        TypeError: when ``target`` is not a tensor or is complex.
        ValueError: when its shape does not match ``input`` (a missing channel dimension included) or a value is
            NaN / inf, outside ``[0, 1]``, or not an index below ``num_classes``.
    """
    check_target_shape(target, input, name=name)
    if num_classes is None:
        check_values(target, name, "binary, soft or one-hot values in [0, 1]", low=0.0, high=1.0)
    else:
        expected = f"integer class indices in [0, {num_classes - 1}] (to_onehot_y with {num_classes} channels)"
        check_values(target, name, expected, low=0.0, high=num_classes - 1)
        check_integer_values(target, name, expected)


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
    probabilities: bool = False,
    reduction: str | None = None,
    check_input_values: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Validate, activate, one-hot and drop the background exactly as MONAI's ``DiceLoss`` does.

    Checks, in order: shapes and dtypes (:func:`check_input`, :func:`check_target`, :func:`check_weight`), an
    empty batch under ``reduction="mean"`` (:func:`check_empty_mean`), then values with one ``aminmax`` per
    tensor: ``input`` finite (in ``[0, 1]`` with ``probabilities``, i.e. an overlap loss without activation),
    ``target`` in ``[0, 1]`` or integer indices below ``C`` with ``to_onehot_y``, ``weight`` finite and
    non-negative. Value checks raise eagerly on the CPU and assert asynchronously on CUDA (:func:`check_values`).
    Half-precision ``input`` is cast to float32 first (autocast-safe sums); float64 stays float64.
    ``check_input_values=False`` leaves the ``input`` value check to the caller (:func:`check_finite_result`).
    The weight map follows the channel selection when it has ``C`` channels and broadcasts when it has one.

    Returns:
        ``(input, target, weight)`` of shapes ``(B, C', *spatial)`` (weight ``(B, 1 or C', *spatial)`` or None).
    """
    check_input(input)
    n_pred_ch = input.shape[1]
    index_target = to_onehot_y and n_pred_ch > 1
    if index_target and isinstance(target, torch.Tensor) and target.ndim == input.ndim and target.shape[1] != 1:
        raise ValueError(
            f"`target` must have 1 channel of class indices when `to_onehot_y=True`, got shape {tuple(target.shape)}."
        )
    check_target(target, input, num_classes=n_pred_ch if index_target else None)
    if not index_target and target.shape[1] != n_pred_ch:
        raise ValueError(
            f"`target` must have {n_pred_ch} channels like `input` (or 1 channel with `to_onehot_y=True`), "
            f"got shape {tuple(target.shape)}."
        )
    if weight is not None:
        weight = check_weight(weight, input)
    if reduction is not None:
        check_empty_mean(input, reduction)
    if probabilities:
        expected = "probabilities in [0, 1] (no activation is set: use sigmoid=True or softmax=True for logits)"
        check_values(input, "input", expected, low=0.0, high=1.0)
    elif check_input_values:
        check_values(input, "input", "finite values (NaN / inf logits)")
    input = to_compute_dtype(input)
    if weight is not None:
        weight = weight.to(input.dtype)
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
            target = one_hot(target, num_classes=n_pred_ch)
    if not include_background:
        if n_pred_ch == 1:
            warnings.warn("single channel prediction, `include_background=False` ignored.", stacklevel=3)
        else:
            input = input[:, 1:]
            target = target[:, 1:]
            if weight is not None and weight.shape[1] > 1:
                weight = weight[:, 1:]
    return input, target.to(input.dtype), weight


def defers_input_check(input: Any, reduction: str) -> bool:
    """Whether a loss may check its logits through its reduced result (:func:`check_finite_result`).

    On the CPU a reduced loss is one scalar: when the target and weights are valid (checked first), a NaN or
    infinite logit makes the result NaN or infinite, so reading the scalar replaces a pass over the logits.
    CUDA keeps the asynchronous check of the logits (reading a scalar would synchronise the host);
    ``reduction="none"`` keeps the direct check.
    """
    return isinstance(input, torch.Tensor) and input.device.type != "cuda" and reduction != LossReduction.NONE.value


def check_finite_result(loss: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
    """Return a reduced loss, or raise the logits' error when it is not finite because they are not.

    Raises:
        ValueError: when ``input`` holds NaN / inf (the message of :func:`check_values`).
    """
    if not bool(torch.isfinite(loss.detach()).all()):
        check_values(input, "input", "finite values (NaN / inf logits)")
    return loss


def reduce_loss(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce a loss tensor: its mean (``"mean"``), its sum (``"sum"``) or itself (``"none"``); the one reduction.

    Example:
        >>> reduce_loss(torch.tensor([1.0, 3.0]), "mean"), reduce_loss(torch.tensor([1.0, 3.0]), "sum")
        (tensor(2.), tensor(4.))
    """
    if reduction == LossReduction.MEAN.value:
        return loss.mean()
    if reduction == LossReduction.SUM.value:
        return loss.sum()
    return loss


def reduce_per_channel(f: torch.Tensor, reduction: str, ndim: int) -> torch.Tensor:
    """Reduce a per-(batch, channel) score as MONAI's ``DiceLoss`` does (``none`` keeps a broadcastable shape)."""
    if reduction == LossReduction.NONE.value:
        return f.view(list(f.shape[0:2]) + [1] * (ndim - 2))
    return reduce_loss(f, reduction)
