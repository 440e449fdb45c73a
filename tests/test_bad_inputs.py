"""Bad-input matrix of the maps, transforms, losses and the schedule handler: a named error or a checked value.

Every case is one call of a public entry point with one bad or edge-case input. An error case asserts the exact
type and words of the message (the argument's name, the expectation, what was received); a value case compares
the result with an independent slow reference (``tests/_reference_*.py``) or with the same call on a clean input.
Ids read ``<entry point>-<case>``. CUDA paths assert asynchronously (``torch._assert_async``); their conditions
and messages are checked here on the CPU with ``asynchronous=True``.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_imbalance.handlers.schedule import CombinedLossAlphaHandler
from monai_imbalance.losses import (
    FrequencyWeightedBCELoss,
    InverseWeightedLoss,
    MapBridgeLoss,
    PrepareBatchWithMap,
    RegionWiseLoss,
    ScheduledCombinedLoss,
    VoxelWeightedASLoss,
    VoxelWeightedBCELoss,
    VoxelWeightedDiceLoss,
    VoxelWeightedFocalLoss,
)
from monai_imbalance.losses._common import check_integer_values, check_values
from monai_imbalance.maps import active_contour_map, boundary_distance_map, inverse_weight_map, rrw_map
from monai_imbalance.transforms import (
    ComputeBoundaryMap,
    ComputeBoundaryMapd,
    ComputeInverseWeightMap,
    ComputeInverseWeightMapd,
    ComputeRRWMap,
    ComputeRRWMapd,
)
from tests._matrix import Matrix, check_raises, check_value
from tests._reference_losses import ref_asl, ref_bce, ref_dice, ref_focal, ref_wce
from tests._reference_maps import reference_inverse_weight_map
from tests._reference_region_wise import rrw_reference

MATRIX = Matrix()
err, val = MATRIX.err, MATRIX.val
RAISES, VALUES = MATRIX.raises, MATRIX.values


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _sig(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x.double())


# ---- data: 2D (B=2, C=1, 6x6) and 3D (B=1, C=1, 4x4x3)
X2 = torch.randn(2, 1, 6, 6, generator=_gen(0))
Y2 = (torch.rand(2, 1, 6, 6, generator=_gen(1)) > 0.6).float()
W2 = torch.rand(2, 1, 6, 6, generator=_gen(2)) * 3 + 0.1
X3 = torch.randn(1, 1, 4, 4, 3, generator=_gen(3))
Y3 = (torch.rand(1, 1, 4, 4, 3, generator=_gen(4)) > 0.6).float()
W3 = torch.rand(1, 1, 4, 4, 3, generator=_gen(5)) * 3
XC = torch.randn(2, 3, 6, 6, generator=_gen(6))  # 3-class logits for to_onehot_y
IDX = torch.randint(0, 3, (2, 1, 6, 6), generator=_gen(7)).float()
NAN, INF = float("nan"), float("inf")

# name -> (factory, input transform (logits -> what the loss takes), reference(x, y, w) on that input)
VOXEL_LOSSES: dict[str, tuple[Callable[[], Any], Callable, Callable]] = {
    "VoxelWeightedBCELoss": (VoxelWeightedBCELoss, lambda x: x, ref_bce),
    "VoxelWeightedFocalLoss": (
        lambda: VoxelWeightedFocalLoss(gamma=2.0, alpha=0.75),
        lambda x: x,
        lambda x, y, w: ref_focal(x, y, w, 2.0, 0.75),
    ),
    "VoxelWeightedDiceLoss": (
        lambda: VoxelWeightedDiceLoss(sigmoid=True, squared_pred=True),
        lambda x: x,
        lambda x, y, w: ref_dice(_sig(x), y, w, squared=True),
    ),
    "VoxelWeightedASLoss": (
        lambda: VoxelWeightedASLoss(sigmoid=True, beta=1.5),
        lambda x: x,
        lambda x, y, w: ref_asl(_sig(x), y, w, beta=1.5),
    ),
    "VoxelWeightedDiceLoss(probabilities)": (
        VoxelWeightedDiceLoss,
        torch.sigmoid,
        lambda p, y, w: ref_dice(p, y, w, squared=False),
    ),
}


def _voxel_loss_cases() -> None:
    for name, (make, act, ref) in VOXEL_LOSSES.items():
        x = act(X2)
        probs = act is torch.sigmoid
        finite = "probabilities in [0, 1]" if probs else "finite values"
        # -- weights: NaN / inf / negative / half precision / shapes / containers
        for case, bad in (("weight_nan", NAN), ("weight_inf", INF), ("weight_neg_inf", -INF)):
            wb = W2.clone()
            wb[0, 0, 1, 1] = bad
            err(
                name,
                case,
                lambda wb=wb, m=make, x=x: m()(x, Y2, wb),
                ValueError,
                "`weight`",
                "finite non-negative",
                "1 NaN or infinite",
            )
        err(
            name,
            "weight_negative",
            lambda m=make, x=x: m()(x, Y2, W2 - 2),
            ValueError,
            "`weight` must hold finite non-negative values",
            "got values in [",
        )
        for dtype in (torch.float16, torch.bfloat16):
            err(
                name,
                f"weight_{str(dtype)[6:]}",
                lambda m=make, x=x, d=dtype: m()(x, Y2, W2.to(d)),
                TypeError,
                "`weight` must be float32 or float64",
                f"got dtype {dtype}",
                "float32",
            )
        # the realistic case: a 1-voxel lesion in a 64^3 patch has inverse weight 131072, inf in float16
        overflow = torch.full((2, 1, 6, 6), 131072.0).half()
        err(
            name,
            "weight_float16_overflow",
            lambda m=make, x=x, o=overflow: m()(x, Y2, o),
            TypeError,
            "`weight` must be float32",
            "65504",
        )
        err(
            name,
            "weight_channels",
            lambda m=make, x=x: m()(x, Y2, W2.repeat(1, 3, 1, 1)),
            ValueError,
            "`weight` must have shape (B, 1 or C, *spatial) = (2, 1 or 1, 6, 6)",
            "got shape (2, 3, 6, 6)",
        )
        err(
            name,
            "weight_spatial",
            lambda m=make, x=x: m()(x, Y2, W2[..., :5]),
            ValueError,
            "`weight` must have shape",
            "got shape (2, 1, 6, 5)",
        )
        err(
            name,
            "weight_missing_channel",
            lambda m=make, x=x: m()(x, Y2, W2[:, 0]),
            ValueError,
            "`weight` must have shape",
            "got shape (2, 6, 6)",
        )
        err(
            name,
            "weight_list",
            lambda m=make, x=x: m()(x, Y2, W2.tolist()),
            TypeError,
            "`weight` must be a torch.Tensor or None, got list",
        )
        err(
            name,
            "weight_numpy",
            lambda m=make, x=x: m()(x, Y2, W2.numpy()),
            TypeError,
            "`weight` must be a torch.Tensor or None, got ndarray",
        )
        err(
            name,
            "weight_complex",
            lambda m=make, x=x: m()(x, Y2, W2.to(torch.complex64)),
            TypeError,
            "`weight` must be a real tensor",
            "complex64",
        )
        # -- targets: values, shapes, containers
        for case, yb, got in (
            ("target_nan", Y2 * NAN, "72 NaN or infinite"),
            ("target_inf", Y2.masked_fill(Y2 == 0, INF), "NaN or infinite"),
            ("target_0_255", Y2 * 255, "got values in [0, 255]"),
            ("target_negative", -Y2, "got values in [-1, 0]"),
            ("target_above_one_soft", Y2 * 1.5, "got values in [0, 1.5]"),
        ):
            err(
                name,
                case,
                lambda m=make, x=x, yb=yb: m()(x, yb, W2),
                ValueError,
                "`target` must hold binary, soft or one-hot values in [0, 1]",
                got,
            )
        err(
            name,
            "target_missing_channel",
            lambda m=make, x=x: m()(x, Y2[:, 0], W2),
            ValueError,
            "`target` must have shape (B, 1 or C, *spatial) matching `input` (2, 1, 6, 6)",
            "got shape (2, 6, 6) (no channel dimension?)",
        )
        err(
            name,
            "target_batch_mismatch",
            lambda m=make, x=x: m()(x, Y2[:1], W2),
            ValueError,
            "`target` must have shape",
            "got shape (1, 1, 6, 6)",
        )
        err(
            name,
            "target_channels_mismatch",
            lambda m=make, x=x: m()(x, Y2.repeat(1, 2, 1, 1), W2),
            ValueError,
            "`target` must have 1 channels like `input`",
            "got shape (2, 2, 6, 6)",
        )
        err(
            name,
            "target_list",
            lambda m=make, x=x: m()(x, Y2.tolist(), W2),
            TypeError,
            "`target` must be a torch.Tensor, got list",
        )
        err(
            name,
            "target_numpy",
            lambda m=make, x=x: m()(x, Y2.numpy(), W2),
            TypeError,
            "`target` must be a torch.Tensor, got ndarray",
        )
        # -- input: values, shapes, containers, dtypes
        for case, xb in (
            ("input_nan", x.masked_fill(Y2 > 0, NAN)),
            ("input_inf", x.masked_fill(Y2 > 0, INF)),
            ("input_neg_inf", x.masked_fill(Y2 > 0, -INF)),
        ):
            err(
                name,
                case,
                lambda m=make, xb=xb: m()(xb, Y2, W2),
                ValueError,
                f"`input` must hold {finite}",
                "NaN or infinite",
            )
        err(
            name,
            "input_list",
            lambda m=make, x=x: m()(x.tolist(), Y2, W2),
            TypeError,
            "`input` must be a torch.Tensor, got list",
        )
        err(
            name,
            "input_numpy",
            lambda m=make, x=x: m()(x.numpy(), Y2, W2),
            TypeError,
            "`input` must be a torch.Tensor, got ndarray",
        )
        err(
            name,
            "input_integer",
            lambda m=make: m()(Y2.long(), Y2, W2),
            TypeError,
            "`input` must be a floating-point tensor",
            "torch.int64",
        )
        err(
            name,
            "input_missing_channel_and_batch",
            lambda m=make, x=x: m()(x[0, 0], Y2[0, 0], None),
            ValueError,
            "`input` must have shape (B, C, *spatial)",
            "got shape (6, 6)",
        )
        err(
            name,
            "input_no_channel",
            lambda m=make, x=x: m()(x[:, :0], Y2[:, :0], None),
            ValueError,
            "`input` must have at least one channel and one voxel",
            "(2, 0, 6, 6)",
        )
        err(
            name,
            "input_empty_spatial",
            lambda m=make, x=x: m()(x[..., :0], Y2[..., :0], W2[..., :0]),
            ValueError,
            "`input` must have at least one channel and one voxel",
            "(2, 1, 6, 0)",
        )
        # -- empty batch
        err(
            name,
            "batch0_mean",
            lambda m=make, x=x: m()(x[:0], Y2[:0], W2[:0]),
            ValueError,
            "`input` is an empty batch (shape (0, 1, 6, 6))",
            "reduction='mean'",
        )
        val(name, "batch0_sum", lambda m=make, x=x: _new(m, reduction="sum")(x[:0], Y2[:0], W2[:0]), lambda: 0.0)
        val(
            name,
            "batch0_none_shape",
            lambda m=make, x=x: _new(m, reduction="none")(x[:0], Y2[:0], W2[:0]).shape[0],
            lambda: 0,
        )
        # -- values against the slow reference
        val(name, "2d", lambda m=make, x=x: m()(x, Y2, W2), lambda x=x, r=ref: r(x, Y2, W2))
        x3 = act(X3)
        val(name, "3d", lambda m=make, x3=x3: m()(x3, Y3, W3), lambda x3=x3, r=ref: r(x3, Y3, W3))
        val(name, "no_weight", lambda m=make, x=x: m()(x, Y2), lambda x=x, r=ref: r(x, Y2, None))
        val(name, "target_bool", lambda m=make, x=x: m()(x, Y2.bool(), W2), lambda x=x, r=ref: r(x, Y2, W2))
        val(name, "target_uint8", lambda m=make, x=x: m()(x, Y2.to(torch.uint8), W2), lambda x=x, r=ref: r(x, Y2, W2))
        val(name, "target_empty", lambda m=make, x=x: m()(x, Y2 * 0, W2), lambda x=x, r=ref: r(x, Y2 * 0, W2))
        val(
            name,
            "target_all_foreground",
            lambda m=make, x=x: m()(x, Y2 * 0 + 1, W2),
            lambda x=x, r=ref: r(x, Y2 * 0 + 1, W2),
        )
        if "Focal" not in name:  # the focal reference takes hard labels only
            soft = Y2 * 0.6 + 0.2
            val(name, "target_soft", lambda m=make, x=x, s=soft: m()(x, s, W2), lambda x=x, r=ref, s=soft: r(x, s, W2))
        val(
            name,
            "weight_bool_mask",
            lambda m=make, x=x: m()(x, Y2, W2 > 1),
            lambda x=x, r=ref: r(x, Y2, (W2 > 1).double()),
        )
        val(name, "weight_zero", lambda m=make, x=x: m()(x, Y2, W2 * 0), lambda x=x, r=ref: r(x, Y2, W2 * 0))
        val(
            name,
            "weight_float64",
            lambda m=make, x=x: m()(x.double(), Y2, W2.double()),
            lambda x=x, r=ref: r(x, Y2, W2),
            rtol=1e-10,
        )
        val(
            name,
            "metatensor",
            lambda m=make, x=x: m()(MetaTensor(x), MetaTensor(Y2), MetaTensor(W2)),
            lambda x=x, r=ref: r(x, Y2, W2),
        )
        for dtype in (torch.float16, torch.bfloat16):
            xd = x.to(dtype)
            val(
                name,
                f"input_{str(dtype)[6:]}",
                lambda m=make, xd=xd: m()(xd, Y2, W2),
                lambda xd=xd, r=ref: r(xd.double(), Y2, W2),
            )
            val(
                name,
                f"cpu_autocast_{str(dtype)[6:]}",
                lambda m=make, xd=xd, d=dtype: _autocast(m(), xd, d),
                lambda xd=xd, r=ref: r(xd.double(), Y2, W2),
            )
        val(
            name,
            "pickle",
            lambda m=make, x=x: pickle.loads(pickle.dumps(m()))(x, Y2, W2),
            lambda m=make, x=x: m()(x, Y2, W2),
        )
        val(name, "deepcopy", lambda m=make, x=x: copy.deepcopy(m())(x, Y2, W2), lambda m=make, x=x: m()(x, Y2, W2))
        # -- index targets with to_onehot_y (3 classes)
        xc = act(XC)
        for case, yb, got in (
            ("onehot_index_out_of_range", IDX + 1, "got values in [1, 3]"),
            ("onehot_index_nan", IDX * NAN, "NaN or infinite"),
            ("onehot_index_negative", IDX - 1, "got values in [-1, 1]"),
            ("onehot_index_non_integer", IDX * 0.5, "got non-integer value 0.5"),
        ):
            err(
                name,
                case,
                lambda m=make, xc=xc, yb=yb: _new(m, to_onehot_y=True)(xc, yb),
                ValueError,
                "`target` must hold integer class indices in [0, 2] (to_onehot_y with 3 channels)",
                got,
            )
        err(
            name,
            "onehot_target_several_channels",
            lambda m=make, xc=xc: _new(m, to_onehot_y=True)(xc, IDX.repeat(1, 3, 1, 1)),
            ValueError,
            "`target` must have 1 channel of class indices when `to_onehot_y=True`",
            "(2, 3, 6, 6)",
        )
        val(
            name,
            "onehot_index_uint8",
            lambda m=make, xc=xc: _new(m, to_onehot_y=True)(xc, IDX.to(torch.uint8)),
            lambda m=make, xc=xc: _new(m, to_onehot_y=True)(xc, IDX),
        )


def _new(make: Callable[..., Any], **kwargs: Any) -> Any:
    """``make`` with extra settings (the factories above take none: rebuild from the class with its settings)."""
    base = make()
    settings = {
        VoxelWeightedBCELoss: {},
        VoxelWeightedFocalLoss: {"gamma": 2.0},
        VoxelWeightedDiceLoss: {
            "sigmoid": getattr(base, "sigmoid", False),
            "squared_pred": base.__dict__.get("squared_pred", False),
        },
        VoxelWeightedASLoss: {"sigmoid": True, "beta": 1.5},
    }[type(base)]
    if kwargs.get("to_onehot_y") and settings.get("sigmoid"):
        settings["sigmoid"], settings["softmax"] = False, True
    return type(base)(**settings, **kwargs)


def _autocast(loss: Any, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    with torch.autocast("cpu", dtype=dtype):
        out = loss(x, Y2, W2)
    assert out.dtype == torch.float32
    return out


_voxel_loss_cases()

# ---- FrequencyWeightedBCELoss
F_ = "FrequencyWeightedBCELoss"
err(
    F_,
    "smooth_dr_zero",
    lambda: FrequencyWeightedBCELoss(smooth_dr=0),
    ValueError,
    "`smooth_dr` must be a finite number > 0, got 0",
)
err(
    F_,
    "smooth_dr_nan",
    lambda: FrequencyWeightedBCELoss(smooth_dr=NAN),
    ValueError,
    "`smooth_dr` must be a finite number > 0, got nan",
)
err(
    F_,
    "smooth_dr_str",
    lambda: FrequencyWeightedBCELoss(smooth_dr="1e-5"),
    TypeError,
    "`smooth_dr` must be a real number, got '1e-5' (str)",
)
err(
    F_,
    "mode_typo",
    lambda: FrequencyWeightedBCELoss(mode="labels"),
    ValueError,
    "`mode` must be 'probability' or 'label', got 'labels'",
)
err(
    F_,
    "target_0_255",
    lambda: FrequencyWeightedBCELoss()(X2, Y2 * 255),
    ValueError,
    "`target` must hold binary, soft or one-hot values in [0, 1]",
    "[0, 255]",
)
err(
    F_,
    "input_nan",
    lambda: FrequencyWeightedBCELoss()(X2 * NAN, Y2),
    ValueError,
    "`input` must hold finite values",
    "NaN or infinite",
)
err(F_, "batch0_mean", lambda: FrequencyWeightedBCELoss()(X2[:0], Y2[:0]), ValueError, "`input` is an empty batch")
err(
    F_,
    "input_list",
    lambda: FrequencyWeightedBCELoss()(X2.tolist(), Y2),
    TypeError,
    "`input` must be a torch.Tensor, got list",
)
for _mode in ("probability", "label"):
    val(F_, f"2d_{_mode}", lambda m=_mode: FrequencyWeightedBCELoss(mode=m)(X2, Y2), lambda m=_mode: ref_wce(X2, Y2, m))
    val(F_, f"3d_{_mode}", lambda m=_mode: FrequencyWeightedBCELoss(mode=m)(X3, Y3), lambda m=_mode: ref_wce(X3, Y3, m))
    val(
        F_,
        f"target_empty_{_mode}",
        lambda m=_mode: FrequencyWeightedBCELoss(mode=m)(X2, Y2 * 0),
        lambda m=_mode: ref_wce(X2, Y2 * 0, m),
    )
val(F_, "target_bool", lambda: FrequencyWeightedBCELoss()(X2, Y2.bool()), lambda: ref_wce(X2, Y2))
val(F_, "batch0_sum", lambda: FrequencyWeightedBCELoss(reduction="sum")(X2[:0], Y2[:0]), lambda: 0.0)
val(F_, "pickle", lambda: pickle.loads(pickle.dumps(FrequencyWeightedBCELoss()))(X2, Y2), lambda: ref_wce(X2, Y2))

# ---- RegionWiseLoss (2 classes from one logit channel)
R_ = "RegionWiseLoss"
Z2 = torch.ones(2, 2, 6, 6)


def _ref_rw(x: torch.Tensor, label: torch.Tensor, spacing: Any = None) -> float:
    """mean over b, c, voxels of softmax([0, x]) * RRW(label) with the slow RRW reference."""
    logits = torch.cat([torch.zeros_like(x), x], 1).double()
    s = torch.softmax(logits, 1).numpy()
    z = np.stack([rrw_reference(label[b, 0].numpy(), 2, spacing) for b in range(label.shape[0])])
    return float((s * z).mean())


def _ref_rw_full(x: torch.Tensor, cls: int) -> float:
    """The loss when class ``cls`` fills every image: z = -1 for it, 1 for the other class."""
    s = torch.softmax(torch.cat([torch.zeros_like(x), x], 1).double(), 1)
    return float((s[:, 1 - cls] - s[:, cls]).mean() / 2)


err(
    R_,
    "input_nan",
    lambda: RegionWiseLoss()(X2 * NAN, Y2),
    ValueError,
    "`input` must hold finite values",
    "NaN or infinite",
)
err(
    R_,
    "rw_map_nan",
    lambda: RegionWiseLoss()(X2, None, Z2 * NAN),
    ValueError,
    "`rw_map` must hold finite values",
    "144 NaN or infinite",
)
err(
    R_,
    "rw_map_inf",
    lambda: RegionWiseLoss()(X2, None, Z2 * INF),
    ValueError,
    "`rw_map` must hold finite values",
    "NaN or infinite",
)
err(
    R_,
    "rw_map_shape",
    lambda: RegionWiseLoss()(X2, None, Z2[:, :1]),
    ValueError,
    "`rw_map` must have shape (2, 2, 6, 6)",
    "got (2, 1, 6, 6)",
)
err(
    R_,
    "rw_map_list",
    lambda: RegionWiseLoss()(X2, None, Z2.tolist()),
    TypeError,
    "`rw_map` must be a torch.Tensor or None, got list",
)
err(
    R_,
    "target_0_255",
    lambda: RegionWiseLoss()(X2, Y2 * 255),
    ValueError,
    "`target` item 0 of the batch",
    "class indices must be < num_classes=2",
    "255",
)
err(
    R_,
    "target_soft",
    lambda: RegionWiseLoss()(X2, Y2 * 0.5),
    ValueError,
    "`target` item 0 of the batch",
    "integer class indices",
    "0.5",
)
err(
    R_,
    "target_nan",
    lambda: RegionWiseLoss()(X2, Y2 * NAN),
    ValueError,
    "`target` item 0 of the batch",
    "finite values",
)
err(
    R_,
    "target_negative",
    lambda: RegionWiseLoss()(X2, -Y2),
    ValueError,
    "`target` item 0 of the batch",
    "must be >= 0",
    "-1",
)
err(
    R_,
    "target_missing_channel",
    lambda: RegionWiseLoss()(X2, Y2[:, 0]),
    ValueError,
    "`target` must have shape (B, 1 or 2, *spatial)",
    "(2, 6, 6) (no channel dimension?)",
)
err(
    R_,
    "target_none_no_map",
    lambda: RegionWiseLoss()(X2, None),
    TypeError,
    "`target` must be a torch.Tensor when `rw_map` is None, got NoneType",
)
err(R_, "input_list", lambda: RegionWiseLoss()(X2.tolist(), Y2), TypeError, "`input` must be a torch.Tensor, got list")
err(R_, "batch0_mean", lambda: RegionWiseLoss()(X2[:0], Y2[:0]), ValueError, "`input` is an empty batch")
for _case, _spacing, _exc, _words in (
    ("spacing_zero", 0, ValueError, ("`spacing` must hold finite positive values", "(0.0,)")),
    ("spacing_negative", (1, -1), ValueError, ("`spacing` must hold finite positive values", "(1.0, -1.0)")),
    ("spacing_nan", NAN, ValueError, ("`spacing` must hold finite positive values", "(nan,)")),
    ("spacing_str", "1", TypeError, ("`spacing` must be a number or a sequence of numbers, got str",)),
):
    err(R_, _case, lambda s=_spacing: RegionWiseLoss(spacing=s), _exc, *_words)
err(
    R_,
    "spacing_wrong_length",
    lambda: RegionWiseLoss(spacing=(1, 1, 1))(X2, Y2),
    ValueError,
    "`target` item 0 of the batch",
    "`spacing` must have one value per spatial dimension (2), got 3 values",
)
val(R_, "2d", lambda: RegionWiseLoss()(X2, Y2), lambda: _ref_rw(X2, Y2))
val(R_, "3d_spacing", lambda: RegionWiseLoss(spacing=(1, 2, 0.5))(X3, Y3), lambda: _ref_rw(X3, Y3, (1, 2, 0.5)))
val(R_, "target_bool", lambda: RegionWiseLoss()(X2, Y2.bool()), lambda: _ref_rw(X2, Y2))
val(R_, "target_uint8", lambda: RegionWiseLoss()(X2, Y2.to(torch.uint8)), lambda: _ref_rw(X2, Y2))
# one class filling the image has no boundary: -1 there, 1 for the absent class (rrw_map's convention)
val(R_, "target_empty", lambda: RegionWiseLoss()(X2, Y2 * 0), lambda: _ref_rw_full(X2, 0))
val(R_, "target_all_foreground", lambda: RegionWiseLoss()(X2, Y2 * 0 + 1), lambda: _ref_rw_full(X2, 1))
val(R_, "rw_map_float16", lambda: RegionWiseLoss()(X2, None, Z2.half() * 0.5), lambda: 0.25)  # 0.5 * sum_c s_c / C
val(R_, "batch0_sum", lambda: RegionWiseLoss(reduction="sum")(X2[:0], Y2[:0]), lambda: 0.0)
val(
    R_, "batch0_none_shape", lambda: tuple(RegionWiseLoss(reduction="none")(X2[:0], Y2[:0]).shape), lambda: (0, 2, 6, 6)
)
val(R_, "pickle", lambda: pickle.loads(pickle.dumps(RegionWiseLoss()))(X2, Y2), lambda: _ref_rw(X2, Y2))
val(R_, "deepcopy", lambda: copy.deepcopy(RegionWiseLoss())(X2, Y2), lambda: _ref_rw(X2, Y2))

# ---- InverseWeightedLoss around BCE (reference: BCE with the slow inverse weights)
I_ = "InverseWeightedLoss"


def _iw_ref(x: torch.Tensor, y: torch.Tensor, **kwargs: Any) -> float:
    w = np.stack([reference_inverse_weight_map(y[b].numpy(), **kwargs) for b in range(y.shape[0])])
    return ref_bce(x, (y > 0.5).double() if y.shape[1] == 1 else y, w)


def _iw() -> InverseWeightedLoss:
    return InverseWeightedLoss(VoxelWeightedBCELoss())


err(
    I_,
    "loss_without_weight",
    lambda: InverseWeightedLoss(torch.nn.BCEWithLogitsLoss()),
    TypeError,
    "`loss` must take the weights as `forward(input, target, weight=...)`",
    "BCEWithLogitsLoss.forward has no `weight` argument",
)
err(
    I_, "loss_not_callable", lambda: InverseWeightedLoss(3), TypeError, "`loss` must be a callable loss module, got int"
)
err(
    I_,
    "threshold_one",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(), threshold=1.0),
    ValueError,
    "`threshold` must be in [0, 1), got 1.0",
)
err(
    I_,
    "threshold_nan",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(), threshold=NAN),
    ValueError,
    "`threshold` must be in [0, 1), got nan",
)
err(
    I_,
    "connectivity_zero",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(), connectivity=0),
    ValueError,
    "`connectivity` must be None (full) or a positive int",
    "got 0",
)
err(
    I_,
    "connectivity_str",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(), connectivity="full"),
    TypeError,
    "`connectivity` must be None or a positive int, got 'full'",
)
err(
    I_,
    "connectivity_above_ndim",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(), connectivity=3)(X2, Y2),
    ValueError,
    "`target` item 0 of the batch",
    "`connectivity` must be None (full) or an int in [1, 2]",
    "got 3",
)
err(
    I_,
    "min_weight_negative",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(), min_weight=-1),
    ValueError,
    "`min_weight` must be positive",
    "-1.0",
)
err(
    I_,
    "min_above_max",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(), min_weight=2, max_weight=1),
    ValueError,
    "`min_weight` must not exceed `max_weight`",
)
err(
    I_,
    "num_classes_zero",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(), num_classes=0),
    ValueError,
    "`num_classes` must be a positive int, got 0",
)
err(
    I_,
    "target_nan",
    lambda: _iw()(X2, Y2 * NAN),
    ValueError,
    "`target` must hold finite non-negative values",
    "NaN or infinite",
)
err(
    I_,
    "target_inf",
    lambda: _iw()(X2, Y2 * INF),
    ValueError,
    "`target` must hold finite non-negative values",
    "NaN or infinite",
)
err(
    I_,
    "target_negative",
    lambda: _iw()(X2, -Y2),
    ValueError,
    "`target` must hold finite non-negative values",
    "[-1, 0]",
)
err(
    I_,
    "target_0_255",
    lambda: _iw()(X2, Y2 * 255),
    ValueError,
    "`target` must hold binary, soft or one-hot values in [0, 1]",
    "[0, 255]",
)
err(
    I_,
    "target_missing_channel",
    lambda: _iw()(X2, Y2[:, 0]),
    ValueError,
    "`target` must have shape (B, 1 or C, *spatial) matching `input` (2, 1, 6, 6)",
    "(no channel dimension?)",
)
err(I_, "target_list", lambda: _iw()(X2, Y2.tolist()), TypeError, "`target` must be a torch.Tensor, got list")
err(
    I_,
    "target_onehot_not_summing_to_one",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss())(XC, torch.ones(2, 3, 6, 6)),
    ValueError,
    "`target` item 0 of the batch",
    "must be one-hot",
)
err(
    I_,
    "target_index_above_num_classes",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(to_onehot_y=True), num_classes=3)(XC, IDX + 1),
    ValueError,
    "`target` must hold integer class indices in [0, 2] (num_classes=3)",
    "[1, 3]",
)
err(
    I_,
    "target_index_non_integer",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(to_onehot_y=True), num_classes=3)(XC, IDX * 0.5),
    ValueError,
    "`target` must hold integer class indices in [0, 2] (num_classes=3)",
    "non-integer value 0.5",
)
err(I_, "batch0_mean", lambda: _iw()(X2[:0], Y2[:0]), ValueError, "`input` is an empty batch")
val(I_, "batch0_sum", lambda: InverseWeightedLoss(VoxelWeightedBCELoss(reduction="sum"))(X2[:0], Y2[:0]), lambda: 0.0)
val(I_, "batch0_weight_map_shape", lambda: tuple(_iw().weight_map(Y2[:0]).shape), lambda: (0, 1, 6, 6))
val(I_, "2d", lambda: _iw()(X2, Y2), lambda: _iw_ref(X2, Y2))
val(I_, "3d", lambda: _iw()(X3, Y3), lambda: _iw_ref(X3, Y3))
val(
    I_,
    "target_soft",
    lambda: _iw()(X2, Y2 * 0.6 + 0.1),
    lambda: ref_bce(X2, Y2 * 0.6 + 0.1, np.stack([reference_inverse_weight_map(Y2[b].numpy()) for b in range(2)])),
)
val(I_, "target_bool", lambda: _iw()(X2, Y2.bool()), lambda: _iw_ref(X2, Y2))
val(I_, "target_empty", lambda: _iw()(X2, Y2 * 0), lambda: ref_bce(X2, Y2 * 0))
val(I_, "target_all_foreground", lambda: _iw()(X2, Y2 * 0 + 1), lambda: ref_bce(X2, Y2 * 0 + 1))
val(I_, "metatensor_target", lambda: _iw()(X2, MetaTensor(Y2)), lambda: _iw_ref(X2, Y2))
_ONEHOT = torch.nn.functional.one_hot(IDX[:, 0].long(), 3).movedim(-1, 1).float()
val(
    I_,
    "index_target_num_classes",
    lambda: InverseWeightedLoss(VoxelWeightedBCELoss(to_onehot_y=True), num_classes=3)(XC, IDX),
    lambda: _iw_ref(XC, _ONEHOT),
)
val(I_, "onehot_target", lambda: _iw()(XC, _ONEHOT), lambda: _iw_ref(XC, _ONEHOT))
val(I_, "pickle", lambda: pickle.loads(pickle.dumps(_iw()))(X2, Y2), lambda: _iw_ref(X2, Y2))
val(I_, "deepcopy", lambda: copy.deepcopy(_iw())(X2, Y2), lambda: _iw_ref(X2, Y2))

# ---- ScheduledCombinedLoss and its handler
S_ = "ScheduledCombinedLoss"


def _sched(**kwargs: Any) -> ScheduledCombinedLoss:
    return ScheduledCombinedLoss(torch.nn.L1Loss(), torch.nn.MSELoss(), **kwargs)


err(
    S_,
    "weight_taken_by_no_loss",
    lambda: _sched()(X2, Y2, weight=W2),
    TypeError,
    "`weight` was given but neither `loss_a` (L1Loss) nor `loss_b` (MSELoss) takes a `weight`",
)
err(
    S_,
    "rw_map_taken_by_no_loss",
    lambda: _sched()(X2, Y2, rw_map=Z2),
    TypeError,
    "`rw_map` was given but neither",
    "takes a `rw_map`",
)
err(S_, "alpha_nan", lambda: _sched(alpha=NAN), ValueError, "`alpha` must be a finite number >= 0 and <= 1, got nan")
err(
    S_,
    "alpha_above_one",
    lambda: _sched(alpha=1.5),
    ValueError,
    "`alpha` must be a finite number >= 0 and <= 1, got 1.5",
)
err(S_, "alpha_str", lambda: _sched(alpha="0.5"), TypeError, "`alpha` must be a real number, got '0.5' (str)")
err(
    S_,
    "alpha_step_negative",
    lambda: _sched(alpha_step=-0.1),
    ValueError,
    "`alpha_step` must be a finite number >= 0, got -0.1",
)
err(
    S_,
    "alpha_min_above_alpha",
    lambda: _sched(alpha=0.5, alpha_min=0.7),
    ValueError,
    "`alpha_min` must be a finite number >= 0 and <= 0.5, got 0.7",
)
err(
    S_,
    "loss_not_callable",
    lambda: ScheduledCombinedLoss(torch.nn.L1Loss(), "dice"),
    TypeError,
    "`loss_b` must be a callable loss, got str",
)
err(S_, "epoch_zero", lambda: _sched().set_epoch(0), ValueError, "`epoch` must be >= 1, got 0")
err(S_, "epoch_float", lambda: _sched().set_epoch(1.5), TypeError, "`epoch` must be an int (1-based), got 1.5 (float)")
err(S_, "epoch_str", lambda: _sched().alpha_at("2"), TypeError, "`epoch` must be an int (1-based), got '2' (str)")
_SW = ScheduledCombinedLoss(VoxelWeightedBCELoss(), torch.nn.MSELoss(), alpha=0.25)
val(
    S_,
    "weight_goes_to_the_loss_taking_it",
    lambda: _SW(X2, Y2, weight=W2),
    lambda: 0.25 * ref_bce(X2, Y2, W2) + 0.75 * float(((X2 - Y2) ** 2).mean()),
)
val(S_, "pickle", lambda: pickle.loads(pickle.dumps(_SW))(X2, Y2, weight=W2), lambda: _SW(X2, Y2, weight=W2))
val(S_, "deepcopy", lambda: copy.deepcopy(_SW)(X2, Y2, weight=W2), lambda: _SW(X2, Y2, weight=W2))
H_ = "CombinedLossAlphaHandler"
err(
    H_,
    "loss_without_set_epoch",
    lambda: CombinedLossAlphaHandler(torch.nn.L1Loss()),
    TypeError,
    "`loss` must have a `set_epoch(epoch)` method, got L1Loss",
)
err(
    H_,
    "name_not_str",
    lambda: CombinedLossAlphaHandler(_sched(), name=3),
    TypeError,
    "`name` must be None or a string",
    "int",
)
val(
    H_,
    "pickle",
    lambda: pickle.loads(pickle.dumps(CombinedLossAlphaHandler(_sched(alpha=1.0, alpha_step=0.5), "a"))).loss.alpha_at(
        2
    ),
    lambda: 0.5,
)
err(
    "MapBridgeLoss",
    "target_without_map",
    lambda: MapBridgeLoss(VoxelWeightedBCELoss())(X2, Y2),
    KeyError,
    "`target` carries no map under `label_weight`",
)
err(
    "MapBridgeLoss",
    "loss_not_callable",
    lambda: MapBridgeLoss(None),
    TypeError,
    "`loss` must be a callable loss, got NoneType",
)


# ---- the map bridge: PrepareBatchWithMap + MapBridgeLoss
BR_ = "PrepareBatchWithMap"
_BATCH = {"image": X2, "label": Y2, "label_weight": W2}
err(BR_, "batch_not_a_dict", lambda: PrepareBatchWithMap()([X2, Y2]), TypeError, "`batchdata` must be a dictionary")
err(BR_, "image_missing", lambda: PrepareBatchWithMap()({"label": Y2}), KeyError, "Key `image` not found in the batch")
err(BR_, "map_missing", lambda: PrepareBatchWithMap()({"image": X2, "label": Y2}), KeyError,
    "Map key `label_weight` not found in the batch", "allow_missing_keys=True")  # fmt: skip
val(BR_, "map_missing_allowed",
    lambda: sorted(PrepareBatchWithMap(allow_missing_keys=True)({"image": X2, "label": Y2})[1].meta),
    lambda: sorted(MetaTensor(Y2).meta))  # fmt: skip
val(BR_, "metatensor_map", lambda: PrepareBatchWithMap()({**_BATCH, "label_weight": MetaTensor(W2)})[1].meta[
    "label_weight"], lambda: W2)  # fmt: skip
val(BR_, "pickle", lambda: pickle.loads(pickle.dumps(PrepareBatchWithMap("label_weight")))(_BATCH)[1].meta[
    "label_weight"], lambda: W2)  # fmt: skip
_BRIDGE = MapBridgeLoss(VoxelWeightedBCELoss())
val("MapBridgeLoss", "weight_reaches_the_loss", lambda: _BRIDGE(X2, PrepareBatchWithMap()(_BATCH)[1]),
    lambda: ref_bce(X2, Y2, W2))  # fmt: skip
val("MapBridgeLoss", "pickle", lambda: pickle.loads(pickle.dumps(_BRIDGE))(X2, PrepareBatchWithMap()(_BATCH)[1]),
    lambda: ref_bce(X2, Y2, W2))  # fmt: skip
val("MapBridgeLoss", "deepcopy", lambda: copy.deepcopy(_BRIDGE)(X2, PrepareBatchWithMap()(_BATCH)[1]),
    lambda: ref_bce(X2, Y2, W2))  # fmt: skip
_NAN_BATCH = {**_BATCH, "label_weight": W2 * NAN}
err("MapBridgeLoss", "bad_map_named", lambda: _BRIDGE(X2, PrepareBatchWithMap()(_NAN_BATCH)[1]), ValueError,
    "`weight` must hold finite non-negative values")  # fmt: skip

# ---- half precision and CPU autocast for the other losses (promoted to float32 inside; the value is float32's)
for _n, _make, _args in (
    ("FrequencyWeightedBCELoss", FrequencyWeightedBCELoss, ()),
    ("RegionWiseLoss", RegionWiseLoss, ()),
    ("InverseWeightedLoss", _iw, ()),
    ("ScheduledCombinedLoss", lambda: ScheduledCombinedLoss(VoxelWeightedBCELoss(), RegionWiseLoss()), ()),
):
    for _dtype in (torch.float16, torch.bfloat16):
        _x = X2.to(_dtype)
        val(_n, f"input_{str(_dtype)[6:]}", lambda m=_make, x=_x: m()(x, Y2), lambda m=_make, x=_x: m()(x.float(), Y2))
        val(_n, f"cpu_autocast_{str(_dtype)[6:]}", lambda m=_make, x=_x, d=_dtype: _autocast_any(m(), x, d),
            lambda m=_make, x=_x: m()(x.float(), Y2))  # fmt: skip
val("RegionWiseLoss", "3d", lambda: RegionWiseLoss()(X3, Y3), lambda: _ref_rw(X3, Y3))
val("ScheduledCombinedLoss", "3d", lambda: ScheduledCombinedLoss(VoxelWeightedBCELoss(), RegionWiseLoss())(X3, Y3),
    lambda: 0.5 * ref_bce(X3, Y3) + 0.5 * _ref_rw(X3, Y3))  # fmt: skip
val("FrequencyWeightedBCELoss", "deepcopy", lambda: copy.deepcopy(FrequencyWeightedBCELoss())(X2, Y2),
    lambda: ref_wce(X2, Y2))  # fmt: skip
val("ScheduledCombinedLoss", "batch0_sum",
    lambda: ScheduledCombinedLoss(VoxelWeightedBCELoss(reduction="sum"), RegionWiseLoss(reduction="sum"))(
        X2[:0], Y2[:0]), lambda: 0.0)  # fmt: skip


def _autocast_any(loss: Any, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    with torch.autocast("cpu", dtype=dtype):
        out = loss(x, Y2)
    assert out.dtype == torch.float32
    return out


# ---- maps
M_ = "inverse_weight_map"
LAB = np.zeros((1, 6, 5))
LAB[0, 1:3, 1:3] = 1
LAB[0, 4, 4] = 1
LAB3 = np.zeros((1, 4, 4, 3))
LAB3[0, :2, :2, :2] = 1
for _case, _label, _exc, _words in (
    ("list", LAB.tolist(), TypeError, ("`label` must be a numpy array or a torch tensor, got list",)),
    ("missing_channel", LAB[0, 0], ValueError, ("`label` must be channel-first (C, *spatial)", "got shape (5,)")),
    (
        "four_spatial_dims",
        np.zeros((1, 2, 2, 2, 2)),
        ValueError,
        ("`label` must be channel-first", "1 to 3 spatial dimensions", "(1, 2, 2, 2, 2)"),
    ),
    ("nan", LAB * NAN, ValueError, ("`label` must hold finite values", "30 NaN or infinite")),
    ("inf", LAB + INF, ValueError, ("`label` must hold finite values",)),
    ("0_255", LAB * 255, ValueError, ("`label` must hold binary or soft values in [0, 1]", "[0, 255]")),
    ("negative", -LAB, ValueError, ("`label` must hold binary or soft values in [0, 1]", "[-1, 0]")),
    ("index_without_num_classes", LAB * 2, ValueError, ("`label` must hold binary or soft values in [0, 1]", "[0, 2]")),
    (
        "onehot_not_summing_to_one",
        np.ones((2, 3, 3)),
        ValueError,
        ("`label` with 2 channels must be one-hot", "9 voxel(s)"),
    ),
):
    err(M_, _case, lambda lab=_label: inverse_weight_map(lab), _exc, *_words)
err(
    M_,
    "index_above_num_classes",
    lambda: inverse_weight_map(LAB * 3, num_classes=3),
    ValueError,
    "`label` with num_classes=3 must hold integer class indices in [0, 2]",
    "[0, 3]",
)
err(
    M_,
    "index_non_integer",
    lambda: inverse_weight_map(LAB * 1.5, num_classes=3),
    ValueError,
    "`label` with num_classes=3 must hold integer class indices in [0, 2]",
    "non-integer",
)
err(
    M_,
    "num_classes_zero",
    lambda: inverse_weight_map(LAB, num_classes=0),
    ValueError,
    "`num_classes` must be a positive int, got 0",
)
err(
    M_,
    "num_classes_str",
    lambda: inverse_weight_map(LAB, num_classes="2"),
    TypeError,
    "`num_classes` must be None or a positive int, got '2'",
)
err(
    M_,
    "num_classes_onehot_mismatch",
    lambda: inverse_weight_map(np.stack([1 - LAB[0], LAB[0]]), num_classes=3),
    ValueError,
    "`label` one-hot has 2 channels but num_classes=3",
)
err(
    M_,
    "threshold_nan",
    lambda: inverse_weight_map(LAB, threshold=NAN),
    ValueError,
    "`threshold` must be in [0, 1), got nan",
)
err(
    M_,
    "threshold_str",
    lambda: inverse_weight_map(LAB, threshold="0.5"),
    TypeError,
    "`threshold` must be a number, got str",
)
err(
    M_,
    "connectivity_above_ndim",
    lambda: inverse_weight_map(LAB, connectivity=3),
    ValueError,
    "`connectivity` must be None (full) or an int in [1, 2]",
    "got 3",
)
err(M_, "max_weight_zero", lambda: inverse_weight_map(LAB, max_weight=0), ValueError, "`max_weight` must be positive")


def _ref_iw(label: Any, **kwargs: Any) -> np.ndarray:
    return reference_inverse_weight_map(np.asarray(label, dtype=np.float64), **kwargs)


def _float32(out: Any) -> Any:
    """The map, after checking it is float32 whatever the label's dtype."""
    assert out.dtype in (np.float32, torch.float32), out.dtype
    return out


_T = torch.from_numpy
for _case, _label in (
    ("numpy_float64", LAB),
    ("numpy_bool", LAB.astype(bool)),
    ("numpy_uint8", LAB.astype(np.uint8)),
    ("torch_float16", _T(LAB).half()),
    ("torch_bfloat16", _T(LAB).bfloat16()),
    ("torch_bool", _T(LAB).bool()),
    ("torch_uint8", _T(LAB).to(torch.uint8)),
    ("metatensor", MetaTensor(_T(LAB).float())),
    ("3d", LAB3),
    ("empty_label", LAB * 0),
    ("soft", LAB * 0.7 + 0.1),
):
    val(
        M_,
        _case,
        lambda lab=_label: _float32(inverse_weight_map(lab)),
        lambda lab=_label: _ref_iw(lab.float() if isinstance(lab, torch.Tensor) else lab),
    )
# one lesion filling the patch: the package drops the empty background (weights 1), the paper's K + 1 would give
# 0.5 (the reference; the difference is named in tests/maps/test_inverse.py)
val(M_, "all_foreground", lambda: _float32(inverse_weight_map(LAB * 0 + 1)), lambda: np.ones((1, *LAB.shape[1:])))
_IDX_LAB = LAB * 2
_IDX_LAB[0, 4, 4] = 1  # a class-1 lesion touching nothing, a class-2 lesion
_IDX_LAB[0, 3, 3] = 1  # a class-1 voxel touching the class-2 lesion diagonally: separate components per class
_IDX_ONEHOT = np.stack([_IDX_LAB[0] == c for c in range(3)]).astype(float)
val(
    M_, "index_num_classes", lambda: _float32(inverse_weight_map(_IDX_LAB, num_classes=3)), lambda: _ref_iw(_IDX_ONEHOT)
)
val(
    M_,
    "index_num_classes_torch",
    lambda: _float32(inverse_weight_map(_T(_IDX_LAB), num_classes=3)),
    lambda: _ref_iw(_IDX_ONEHOT),
)
val(M_, "index_num_classes_one", lambda: inverse_weight_map(LAB * 0, num_classes=1), lambda: np.ones((1, 6, 5)))

for _fn in (rrw_map, boundary_distance_map, active_contour_map):
    _n = _fn.__name__
    err(
        _n,
        "0_255_inferred_classes",
        lambda f=_fn: f(LAB * 255),
        ValueError,
        "`label` class indices were inferred as 0..255 (num_classes=None), but 254 of these classes are absent",
        "pass `num_classes`",
        "label > 0",
    )
    err(
        _n,
        "0_255_num_classes_2",
        lambda f=_fn: f(LAB * 255, num_classes=2),
        ValueError,
        "`label` class indices must be < num_classes=2, got maximum 255",
    )
    err(_n, "nan", lambda f=_fn: f(LAB * NAN), ValueError, "`label` must hold finite values")
    err(_n, "negative", lambda f=_fn: f(-LAB), ValueError, "`label` class indices must be >= 0, got minimum -1")
    err(
        _n,
        "soft",
        lambda f=_fn: f(LAB * 0.5),
        ValueError,
        "`label` with one channel must hold integer class indices, got non-integer 0.5",
    )
    err(
        _n,
        "onehot_not_binary",
        lambda f=_fn: f(np.stack([1 - LAB[0], LAB[0]]) * 0.5),
        ValueError,
        "`label` with several channels must be one-hot (values 0 and 1), got value 0.5",
    )
    err(
        _n,
        "list",
        lambda f=_fn: f(LAB.tolist()),
        TypeError,
        "`label` must be a numpy array or a torch tensor, got list",
    )
    err(_n, "missing_channel", lambda f=_fn: f(LAB[0, 0]), ValueError, "`label` must be channel-first", "(5,)")
    err(
        _n,
        "num_classes_bool",
        lambda f=_fn: f(LAB, num_classes=True),
        TypeError,
        "`num_classes` must be None or a positive int, got True",
    )
    val(_n, "bool_equals_float", lambda f=_fn: _float32(f(LAB.astype(bool))), lambda f=_fn: f(LAB))
    val(_n, "uint8_equals_float", lambda f=_fn: _float32(f(LAB.astype(np.uint8))), lambda f=_fn: f(LAB))
    val(_n, "torch_float16_equals_float", lambda f=_fn: _float32(f(_T(LAB).half())), lambda f=_fn: f(LAB))
    val(_n, "torch_bool_equals_float", lambda f=_fn: _float32(f(_T(LAB).bool())), lambda f=_fn: f(LAB))
for _fn in (rrw_map, boundary_distance_map):
    _n = _fn.__name__
    for _case, _spacing, _exc, _words in (
        ("spacing_zero", 0, ValueError, ("`spacing` must hold finite positive values", "(0.0, 0.0)")),
        ("spacing_negative", (1, -2), ValueError, ("`spacing` must hold finite positive values", "(1.0, -2.0)")),
        ("spacing_nan", (1, NAN), ValueError, ("`spacing` must hold finite positive values", "(1.0, nan)")),
        (
            "spacing_wrong_length",
            (1, 1, 1),
            ValueError,
            ("`spacing` must have one value per spatial dimension (2), got 3 values",),
        ),
        ("spacing_str", "iso", TypeError, ("`spacing` must be a number or a sequence of numbers, got str",)),
    ):
        err(_n, _case, lambda f=_fn, s=_spacing: f(LAB, spacing=s), _exc, *_words)
val(
    "rrw_map",
    "3d_spacing_reference",
    lambda: rrw_map(LAB3, spacing=(1, 2, 3)),
    lambda: rrw_reference(LAB3[0], 2, (1, 2, 3)),
)
val("rrw_map", "absent_class_num_classes", lambda: rrw_map(LAB * 2, num_classes=3)[1], lambda: np.ones((6, 5)))

# ---- transforms
T_ = "ComputeInverseWeightMap"
err(
    T_,
    "list",
    lambda: ComputeInverseWeightMap()(LAB.tolist()),
    TypeError,
    "`label` must be a numpy array or a torch tensor, got list",
)
err(
    T_,
    "connectivity_zero",
    lambda: ComputeInverseWeightMap(connectivity=0),
    ValueError,
    "`connectivity` must be None (full) or a positive int",
    "got 0",
)
err(
    T_,
    "num_classes_negative",
    lambda: ComputeInverseWeightMap(num_classes=-1),
    ValueError,
    "`num_classes` must be a positive int, got -1",
)
err(
    T_,
    "0_255",
    lambda: ComputeInverseWeightMap()(LAB * 255),
    ValueError,
    "`label` must hold binary or soft values in [0, 1]",
    "[0, 255]",
)
val(
    T_,
    "metatensor_float16_to_float32",
    lambda: _float32(ComputeInverseWeightMap()(MetaTensor(_T(LAB).half()))),
    lambda: _ref_iw(LAB),
)
val(
    T_,
    "metatensor_keeps_affine",
    lambda: ComputeInverseWeightMap()(MetaTensor(_T(LAB), affine=torch.diag(torch.tensor([2.0, 3, 1, 1])))).affine,
    lambda: torch.diag(torch.tensor([2.0, 3, 1, 1])).double(),
)
val(T_, "index_num_classes", lambda: ComputeInverseWeightMap(num_classes=3)(_IDX_LAB), lambda: _ref_iw(_IDX_ONEHOT))


def _with_affine(diagonal: list[float]) -> MetaTensor:
    return MetaTensor(_T(LAB).float(), affine=torch.diag(torch.tensor(diagonal)))


for _cls in (ComputeRRWMap, ComputeBoundaryMap):
    _n = _cls.__name__
    err(
        _n,
        "affine_nan",
        lambda c=_cls: c()(_with_affine([NAN, 1, 1, 1])),
        ValueError,
        "`label.affine` must hold finite positive values, got (nan, 1.0)",
        "pass `spacing` to override",
    )
    err(
        _n,
        "affine_zero_column",
        lambda c=_cls: c()(_with_affine([0, 1, 1, 1])),
        ValueError,
        "`label.affine` must hold finite positive values, got (0.0, 1.0)",
    )
    err(
        _n,
        "spacing_wrong_length_at_call",
        lambda c=_cls: c()(LAB, spacing=[1, 1, 1]),
        ValueError,
        "`spacing` must have one value per spatial dimension (2), got 3 values",
    )
    err(
        _n,
        "spacing_negative",
        lambda c=_cls: c(spacing=-1),
        ValueError,
        "`spacing` must hold finite positive values, got (-1.0,)",
    )
    err(
        _n,
        "num_classes_zero",
        lambda c=_cls: c(num_classes=0),
        ValueError,
        "`num_classes` must be a positive int, got 0",
    )
    val(
        _n,
        "spacing_overrides_nan_affine",
        lambda c=_cls: c(spacing=(2, 3))(_with_affine([NAN, 1, 1, 1])).as_tensor(),
        lambda c=_cls: c()(_with_affine([2, 3, 1, 1])).as_tensor(),
    )
    val(
        _n, "affine_spacing_used", lambda c=_cls: c()(_with_affine([2, 3, 1, 1])), lambda c=_cls: c(spacing=(2, 3))(LAB)
    )
err(
    "ComputeBoundaryMap",
    "kind_unknown",
    lambda: ComputeBoundaryMap(kind="kervadek"),
    ValueError,
    "`kind` must be 'kervadec' or 'active_contour', got 'kervadek'",
    "kervadec",
)
err(
    "ComputeBoundaryMap",
    "kind_not_str",
    lambda: ComputeBoundaryMap(kind=1),
    TypeError,
    "`kind` must be 'kervadec' or 'active_contour', got 1 (int)",
)

DICT_TRANSFORMS = {
    "ComputeInverseWeightMapd": (ComputeInverseWeightMapd, "label_weight"),
    "ComputeRRWMapd": (ComputeRRWMapd, "label_rrw"),
    "ComputeBoundaryMapd": (ComputeBoundaryMapd, "label_boundary"),
}
for _n, (_cls, _out) in DICT_TRANSFORMS.items():
    for _case, _data in (("ndarray", LAB), ("tensor", _T(LAB)), ("list", [LAB]), ("metatensor", MetaTensor(_T(LAB)))):
        err(
            _n,
            f"data_{_case}",
            lambda c=_cls, d=_data: c("label")(d),
            TypeError,
            f"`data` of {_n} must be a dictionary",
            f"got {type(_data).__name__}",
        )
    err(
        _n,
        "missing_key",
        lambda c=_cls: c("label")({"image": LAB}),
        KeyError,
        "`keys`: 'label' is not in the data",
        "keys present: ['image']",
    )
    err(
        _n,
        "postfix_empty",
        lambda c=_cls: c("label", postfix=""),
        ValueError,
        "`postfix` must be a non-empty string",
        "got ''",
    )
    err(
        _n,
        "bad_label_named",
        lambda c=_cls: c("label")({"label": LAB * NAN}),
        ValueError,
        "`label` must hold finite values",
    )
    val(
        _n,
        "missing_key_allowed",
        lambda c=_cls: sorted(c("label", allow_missing_keys=True)({"image": LAB})),
        lambda: ["image"],
    )
    val(
        _n,
        "pickle",
        lambda c=_cls, o=_out: pickle.loads(pickle.dumps(c("label")))({"label": LAB})[o],
        lambda c=_cls, o=_out: c("label")({"label": LAB})[o],
    )
    val(
        _n,
        "deepcopy",
        lambda c=_cls, o=_out: copy.deepcopy(c("label"))({"label": LAB})[o],
        lambda c=_cls, o=_out: c("label")({"label": LAB})[o],
    )
    val(_n, "label_untouched", lambda c=_cls: c("label")({"label": LAB.copy()})["label"], lambda: LAB)


@pytest.mark.parametrize(("call", "exc", "pattern"), RAISES)
def test_bad_input_raises_named_error(call, exc, pattern):
    check_raises(call, exc, pattern)


@pytest.mark.parametrize(("call", "reference", "rtol"), VALUES)
def test_edge_input_value_matches_reference(call, reference, rtol):
    check_value(call, reference, rtol)


def test_matrix_size():
    """The matrix covers every kind of input the issue lists; guard against cases silently dropping out."""
    assert len(RAISES) >= 300
    assert len(VALUES) >= 150


# ---- the asynchronous (CUDA) branch of the value checks, run on the CPU: same condition, same message
@pytest.mark.parametrize(
    ("x", "low", "high", "bad"),
    [
        (torch.tensor([0.0, 1.0]), 0.0, 1.0, False),
        (torch.tensor([0.0, NAN]), 0.0, 1.0, True),
        (torch.tensor([0.0, INF]), None, None, True),
        (torch.tensor([-INF, 0.0]), None, None, True),
        (torch.tensor([0.0, 255.0]), 0.0, 1.0, True),
        (torch.tensor([-1.0, 0.5]), 0.0, None, True),
        (torch.tensor([3, 4]), 0.0, 3.0, True),
    ],
    ids=["ok", "nan", "inf", "neg_inf", "above", "below", "integer_above"],
)
def test_asynchronous_check_condition_and_message(x, low, high, bad):
    if not bad:
        check_values(x, "weight", "finite non-negative values", low, high, asynchronous=True)
        return
    with pytest.raises(RuntimeError, match=r"`weight` must hold finite non-negative values, got a value that is not"):
        check_values(x, "weight", "finite non-negative values", low, high, asynchronous=True)
    with pytest.raises(ValueError, match=r"`weight` must hold finite non-negative values, got"):
        check_values(x, "weight", "finite non-negative values", low, high, asynchronous=False)


def test_asynchronous_integer_check_message():
    check_integer_values(torch.tensor([0.0, 2.0]), "target", "class indices", asynchronous=True)
    with pytest.raises(RuntimeError, match=r"`target` must hold class indices, got a non-integer value"):
        check_integer_values(torch.tensor([0.0, 0.5]), "target", "class indices", asynchronous=True)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bad_weight_fails_at_synchronisation():
    # a device-side assertion leaves the CUDA context unusable: run it in a process of its own
    code = (
        "import torch\n"
        "from monai_imbalance.losses import VoxelWeightedBCELoss\n"
        "x, y = torch.zeros(1, 1, 4, device='cuda'), torch.ones(1, 1, 4, device='cuda')\n"
        "VoxelWeightedBCELoss()(x, y, torch.ones(1, 1, 4, device='cuda'))\n"
        "torch.cuda.synchronize()\n"
        "print('clean ok', flush=True)\n"
        "VoxelWeightedBCELoss()(x, y, torch.full((1, 1, 4), float('nan'), device='cuda'))\n"
        "torch.cuda.synchronize()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert "clean ok" in proc.stdout
    assert proc.returncode != 0
    assert "`weight` must hold finite non-negative values" in proc.stderr
