"""Voxel-weighted losses: MONAI's twins at weight 1, slow references, gradcheck, autocast, edge cases, errors.

Tested against monai 1.6.1 and torch 2.13 (setup.cfg pins monai>=1.4,<1.7).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from monai.losses import DiceLoss, FocalLoss, TverskyLoss
from monai.networks import one_hot

from monai_imbalance.losses import (
    VoxelWeightedASLoss,
    VoxelWeightedBCELoss,
    VoxelWeightedDiceLoss,
    VoxelWeightedFocalLoss,
)
from tests._reference_losses import ref_asl, ref_bce, ref_dice, ref_focal

B, C, SPATIAL = 2, 3, (5, 4)


def _data(seed=0, c=C, spatial=SPATIAL, onehot_y=False, multilabel=False, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, c, *spatial, generator=g, dtype=dtype)
    idx = torch.randint(0, max(c, 2), (B, 1, *spatial), generator=g)
    if c == 1:
        y = (idx > 0).to(dtype)
    elif onehot_y:
        y = idx.to(dtype)
    elif multilabel:
        y = (torch.rand(B, c, *spatial, generator=g) > 0.6).to(dtype)
    else:
        y = one_hot(idx, num_classes=c).to(dtype)
    w = torch.rand(B, 1, *spatial, generator=g, dtype=dtype) * 3
    return x, y, w


REDUCTIONS = ["mean", "sum", "none"]

# MONAI test-case style: [kwargs, data kwargs]
DICE_CASES = [
    [
        {
            "include_background": ib,
            "to_onehot_y": oh,
            "sigmoid": act == "sigmoid",
            "softmax": act == "softmax",
            "squared_pred": sq,
            "jaccard": jac,
            "batch": batch,
            "reduction": red,
        },
        {"onehot_y": oh},
    ]
    for ib, oh, act, sq, jac, batch, red in itertools.product(
        [True, False], [True, False], ["sigmoid", "softmax"], [True, False], [True, False], [True, False], REDUCTIONS
    )
]


@pytest.mark.parametrize(("kwargs", "dkw"), DICE_CASES)
def test_dice_equals_monai_at_unit_weight(kwargs, dkw):
    x, y, _ = _data(onehot_y=dkw["onehot_y"])
    expected = DiceLoss(**kwargs)(x, y)
    ours = VoxelWeightedDiceLoss(**kwargs)
    torch.testing.assert_close(ours(x, y), expected)
    torch.testing.assert_close(ours(x, y, torch.ones(B, 1, *SPATIAL)), expected)
    torch.testing.assert_close(ours(x, y, torch.ones(B, C, *SPATIAL)), expected)


def _tversky_kwargs(kwargs, beta, smooth=1e-5):
    b2 = beta**2
    t = {k: v for k, v in kwargs.items() if k not in ("beta", "squared_pred")}
    return {
        **t,
        "alpha": 1 / (1 + b2),
        "beta": b2 / (1 + b2),
        "smooth_nr": smooth / (1 + b2),
        "smooth_dr": smooth / (1 + b2),
    }


ASL_CASES = [
    [
        {
            "include_background": ib,
            "to_onehot_y": oh,
            "sigmoid": act == "sigmoid",
            "softmax": act == "softmax",
            "batch": batch,
            "reduction": red,
            "beta": beta,
        },
        {"onehot_y": oh},
    ]
    for ib, oh, act, batch, red, beta in itertools.product(
        [True, False], [True, False], ["sigmoid", "softmax"], [True, False], REDUCTIONS, [1.0, 1.5]
    )
]


@pytest.mark.parametrize(("kwargs", "dkw"), ASL_CASES)
def test_asl_equals_monai_tversky_at_unit_weight(kwargs, dkw):
    x, y, _ = _data(onehot_y=dkw["onehot_y"])
    expected = TverskyLoss(**_tversky_kwargs(kwargs, kwargs["beta"]))(x, y)
    ours = VoxelWeightedASLoss(**kwargs)
    torch.testing.assert_close(ours(x, y), expected)
    torch.testing.assert_close(ours(x, y, torch.ones(B, 1, *SPATIAL)), expected)


def test_asl_beta_one_is_dice():
    x, y, w = _data()
    a = VoxelWeightedASLoss(beta=1.0, softmax=True)(x, y, w)
    d = VoxelWeightedDiceLoss(softmax=True)(x, y, w)
    torch.testing.assert_close(a, d)
    a = VoxelWeightedASLoss(beta=1.0, softmax=True, squared_pred=True)(x, y, w)
    d = VoxelWeightedDiceLoss(softmax=True, squared_pred=True)(x, y, w)
    torch.testing.assert_close(a, d)


FOCAL_CASES = [
    {"include_background": ib, "to_onehot_y": oh, "gamma": g, "alpha": a, "reduction": red, "use_softmax": sm}
    for ib, oh, g, a, red, sm in itertools.product(
        [True, False], [True, False], [0.0, 2.0], [None, 0.75, "seq"], REDUCTIONS, [True, False]
    )
    if not (sm and not ib and a == 0.75)  # MONAI ignores a scalar alpha there, with a warning: tested below
]


@pytest.mark.parametrize("kwargs", FOCAL_CASES)
def test_focal_equals_monai_at_unit_weight(kwargs):
    kwargs = dict(kwargs)
    if kwargs["alpha"] == "seq":
        kwargs["alpha"] = [0.2, 0.5, 0.9][(0 if kwargs["include_background"] else 1) :]
    x, y, _ = _data(onehot_y=kwargs["to_onehot_y"], multilabel=not kwargs["use_softmax"] and not kwargs["to_onehot_y"])
    expected = FocalLoss(**kwargs)(x, y)
    ours = VoxelWeightedFocalLoss(**kwargs)
    torch.testing.assert_close(ours(x, y), expected)
    torch.testing.assert_close(ours(x, y, torch.ones(B, 1, *SPATIAL)), expected)


def test_focal_softmax_no_background_scalar_alpha_warns_like_monai():
    x, y, _ = _data()
    kw = {"include_background": False, "alpha": 0.75, "use_softmax": True}
    with pytest.warns(UserWarning, match="alpha"):
        expected = FocalLoss(**kw)(x, y)
    with pytest.warns(UserWarning, match="alpha"):
        got = VoxelWeightedFocalLoss(**kw)(x, y)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("include_background", [True, False])
def test_bce_equals_torch_at_unit_weight(reduction, include_background):
    x, y, _ = _data(multilabel=True)
    xs, ys = (x, y) if include_background else (x[:, 1:], y[:, 1:])
    expected = torch.nn.BCEWithLogitsLoss(reduction=reduction)(xs, ys)
    ours = VoxelWeightedBCELoss(include_background=include_background, reduction=reduction)
    torch.testing.assert_close(ours(x, y), expected)
    torch.testing.assert_close(ours(x, y, torch.ones(B, 1, *SPATIAL)), expected)


def test_bce_to_onehot_y():
    x, y, w = _data(onehot_y=True)
    expected = VoxelWeightedBCELoss()(x, one_hot(y, C), w)
    torch.testing.assert_close(VoxelWeightedBCELoss(to_onehot_y=True)(x, y, w), expected)


# ---- slow references from the formulas, random weights
@pytest.mark.parametrize("c", [1, 2])
def test_bce_reference(c):
    x, y, w = _data(c=c, multilabel=True, dtype=torch.float64)
    np.testing.assert_allclose(VoxelWeightedBCELoss()(x, y, w).item(), ref_bce(x, y, w), rtol=1e-10)


@pytest.mark.parametrize(("gamma", "alpha"), [(2.0, 0.75), (0.0, None), (1.5, 0.25)])
def test_focal_reference(gamma, alpha):
    x, y, w = _data(c=2, multilabel=True, dtype=torch.float64)
    got = VoxelWeightedFocalLoss(gamma=gamma, alpha=alpha)(x, y, w).item()
    np.testing.assert_allclose(got, ref_focal(x, y, w, gamma, alpha), rtol=1e-10)


@pytest.mark.parametrize("squared", [True, False])
def test_dice_reference(squared):
    x, y, w = _data(c=2, multilabel=True, dtype=torch.float64)
    got = VoxelWeightedDiceLoss(sigmoid=True, squared_pred=squared)(x, y, w).item()
    np.testing.assert_allclose(got, ref_dice(torch.sigmoid(x), y, w, squared), rtol=1e-10)


@pytest.mark.parametrize(("beta", "squared"), [(1.5, False), (1.5, True), (2.0, False)])
def test_asl_reference(beta, squared):
    x, y, w = _data(c=2, multilabel=True, dtype=torch.float64)
    got = VoxelWeightedASLoss(sigmoid=True, beta=beta, squared_pred=squared)(x, y, w).item()
    np.testing.assert_allclose(got, ref_asl(torch.sigmoid(x), y, w, beta, squared), rtol=1e-10)


def test_bce_mean_divides_by_voxel_count_not_weight_sum():
    x, y, w = _data(c=1, dtype=torch.float64)
    unit = VoxelWeightedBCELoss(reduction="none")(x, y)
    torch.testing.assert_close(VoxelWeightedBCELoss()(x, y, 2 * w), 2 * (unit * w).mean())


def test_channel_weight_selects_channels():
    """A (B, C) map follows the background removal; a per-channel map differs from its first channel."""
    x, y, _ = _data()
    w = torch.rand(B, C, *SPATIAL) + 0.5
    loss = VoxelWeightedDiceLoss(softmax=True, include_background=False, reduction="none")
    got = loss(x, y, w)
    for c in (1, 2):
        single = VoxelWeightedDiceLoss(reduction="none")(
            torch.softmax(x, 1)[:, c : c + 1], y[:, c : c + 1], w[:, c : c + 1]
        )
        torch.testing.assert_close(got[:, c - 1 : c], single)


# ---- gradcheck in float64
LOSSES = {
    "bce": lambda: VoxelWeightedBCELoss(),
    "focal": lambda: VoxelWeightedFocalLoss(gamma=2.0, alpha=0.75),
    "focal_softmax": lambda: VoxelWeightedFocalLoss(use_softmax=True, gamma=2.0),
    "dice": lambda: VoxelWeightedDiceLoss(softmax=True, squared_pred=True),
    "dice_batch": lambda: VoxelWeightedDiceLoss(sigmoid=True, batch=True, jaccard=True),
    "asl": lambda: VoxelWeightedASLoss(softmax=True),
    "asl_squared": lambda: VoxelWeightedASLoss(sigmoid=True, squared_pred=True),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradcheck_float64(name):
    x, y, w = _data(c=2, spatial=(3, 3), dtype=torch.float64)
    x.requires_grad_(True)
    loss = LOSSES[name]()
    assert torch.autograd.gradcheck(lambda inp: loss(inp, y, w), (x,))


# ---- mixed precision and edge targets
@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_finite_under_cpu_autocast(name, dtype):
    x, y, w = _data(c=2, spatial=(8, 8))
    conv = torch.nn.Conv2d(2, 2, 3, padding=1)
    with torch.autocast("cpu", dtype=dtype):
        logits = conv(x * 4)
        assert logits.dtype == dtype
        value = LOSSES[name]()(logits, y, w)  # maps stay float32 (half-precision weights are refused)
    value.backward()
    assert value.dtype == torch.float32
    assert torch.isfinite(value)
    assert all(torch.isfinite(p.grad).all() for p in conv.parameters())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_finite_under_cuda_fp16_autocast(name):
    x, y, w = (t.cuda() for t in _data(c=2, spatial=(8, 8)))
    conv = torch.nn.Conv2d(2, 2, 3, padding=1).cuda()
    with torch.autocast("cuda", dtype=torch.float16):
        value = LOSSES[name]()(conv(x * 4), y, w)
    value.backward()
    assert torch.isfinite(value)
    assert all(torch.isfinite(p.grad).all() for p in conv.parameters())


def _edge_target(kind, shape):
    y = torch.zeros(shape)
    if kind == "all_foreground":
        y[:, 1] = 1
    elif kind == "single_voxel":
        y[:, 1, 0, 0] = 1
    y[:, 0] = 1 - y[:, 1]
    return y


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("kind", ["all_background", "all_foreground", "single_voxel"])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_edge_targets_finite(name, kind, scale):
    x, _, w = _data(c=2, spatial=(6, 6))
    y = _edge_target(kind, x.shape)
    x = (x * scale).requires_grad_(True)
    value = LOSSES[name]()(x, y, w)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(x.grad).all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10.0))
def test_properties_nonnegative_and_perfect_prediction(seed, scale):
    x, y, w = _data(seed=seed, c=2)
    w = w * scale
    for name in ("bce", "focal", "dice", "asl"):
        assert LOSSES[name]()(x, y, w) >= -1e-6
    perfect = (y * 2 - 1) * 50.0  # logits saturating to the target
    for name in ("bce", "focal", "dice", "asl"):
        assert LOSSES[name]()(perfect, y, w) < 1e-4
    # Dice and ASL are invariant to a global rescaling of the weights (up to the smoothing terms)
    d = VoxelWeightedDiceLoss(softmax=True, smooth_nr=0, smooth_dr=0)
    torch.testing.assert_close(d(x, y, w), d(x, y, w * 7.0))


# ---- errors
@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda: VoxelWeightedDiceLoss(sigmoid=True, softmax=True), ValueError, "more than 1"),
        (lambda: VoxelWeightedDiceLoss(other_act=3), TypeError, "other_act"),
        (lambda: VoxelWeightedDiceLoss(reduction="avg"), ValueError, "avg"),
        (lambda: VoxelWeightedFocalLoss(gamma=-1), ValueError, "gamma"),
        (lambda: VoxelWeightedFocalLoss(alpha=1.5), ValueError, "alpha"),
        (lambda: VoxelWeightedASLoss(beta=0), ValueError, "beta"),
    ],
)
def test_constructor_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_forward_errors(name):
    x, y, w = _data(c=2)
    loss = LOSSES[name]()
    with pytest.raises(ValueError, match="`weight` must have shape"):
        loss(x, y, w[..., :2])
    with pytest.raises(ValueError, match="`weight` must have shape"):
        loss(x, y, torch.ones(B, 3, *SPATIAL))
    with pytest.raises(ValueError, match="non-negative"):
        loss(x, y, -w)
    with pytest.raises(TypeError, match=r"`weight` must be a torch\.Tensor"):
        loss(x, y, w.numpy())
    with pytest.raises(TypeError, match="floating-point"):
        loss(x.long(), y, w)
    with pytest.raises(TypeError, match=r"`input` must be a torch\.Tensor"):
        loss(x.numpy(), y, w)
    with pytest.raises(ValueError, match="`target` must have shape"):
        loss(x, y[..., :2], w)
    with pytest.raises(ValueError, match="`target` must have 2 channels"):
        loss(x, y[:, :1], w)
    with pytest.raises(ValueError, match=r"\(B, C, \*spatial\)"):
        loss(x[0, 0], y[0, 0])


def test_onehot_requires_index_target():
    x, y, _ = _data()
    with pytest.raises(ValueError, match="1 channel of class indices"):
        VoxelWeightedDiceLoss(to_onehot_y=True)(x, y)


def test_forward_does_not_mutate_self():
    loss = VoxelWeightedFocalLoss(alpha=[0.2, 0.5, 0.9], use_softmax=True)
    before = {
        k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in vars(loss).items() if not k.startswith("_")
    }
    x, y, w = _data()
    loss(x, y, w)
    for k, v in vars(loss).items():
        if not k.startswith("_"):
            assert torch.equal(v, before[k]) if isinstance(v, torch.Tensor) else v == before[k], k


@pytest.mark.parametrize("loss_cls", [VoxelWeightedDiceLoss, VoxelWeightedASLoss])
@pytest.mark.parametrize("squared", [True, False])
def test_closed_form_gradient_equals_autograd_and_weight_gradient_flows(loss_cls, squared):
    x, y, w = _data(c=2, dtype=torch.float64)
    loss = loss_cls(sigmoid=True, squared_pred=squared)
    x1 = x.clone().requires_grad_(True)
    loss(x1, y, w).backward()  # closed-form path
    x2 = x.clone().requires_grad_(True)
    w2 = w.clone().requires_grad_(True)
    loss(x2, y, w2).backward()  # autograd path (the weight needs a gradient)
    torch.testing.assert_close(x1.grad, x2.grad)
    assert w2.grad is not None
    assert torch.isfinite(w2.grad).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_strided_target_and_weight_give_the_contiguous_result(name):
    # a one-hot moved from channels-last and a weight map sliced from a larger one: values and gradients must not
    # depend on the memory layout (the closed-form path makes the target contiguous before its products)
    x, y, w = _data(c=2, spatial=(6, 5))
    y_strided = y.movedim(1, -1).contiguous().movedim(-1, 1)
    w_strided = torch.stack([w, 2 * w], dim=-1)[..., 0]
    assert not y_strided.is_contiguous()
    assert not w_strided.is_contiguous()
    torch.testing.assert_close(w_strided, w)
    loss = LOSSES[name]()
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    v1, v2 = loss(x1, y, w), loss(x2, y_strided, w_strided)
    v1.backward()
    v2.backward()
    torch.testing.assert_close(v2, v1)
    torch.testing.assert_close(x2.grad, x1.grad)


@pytest.mark.parametrize("logit", [float("inf"), -float("inf"), float("nan")], ids=["inf", "-inf", "nan"])
@pytest.mark.parametrize("target", [0.0, 1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_refuses_a_bad_logit_even_where_its_weight_is_zero(logit, target, reduction):
    # on the CPU a reduced BCE reads its logits through the result: every non-finite logit must still be refused
    x, y, w = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    x[0, 0, 0, 0], y[0, 0, 0, 0], w[0, 0, 0, 0] = logit, target, 0.0
    with pytest.raises(ValueError, match=r"`input` must hold finite values \(NaN / inf logits\)"):
        VoxelWeightedBCELoss(reduction=reduction)(x, y, w)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weight_channels", [None, 1, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bce_fused_sum_equals_torch_value_and_gradient(reduction, weight_channels, dtype):
    # the reduced BCE is a fused sum with a closed-form gradient: torch's function is the reference, with a strided
    # one-hot target, a broadcast (B, 1) or per-channel weight, logits large enough to saturate the softplus
    g = torch.Generator().manual_seed(3)
    x = (torch.randn(2, 3, 7, 6, generator=g) * 12).to(dtype)
    y = torch.nn.functional.one_hot(torch.randint(0, 3, (2, 7, 6), generator=g), 3).movedim(-1, 1).to(dtype)
    w = None if weight_channels is None else torch.rand(2, weight_channels, 7, 6, generator=g).to(dtype) * 3
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours = VoxelWeightedBCELoss(reduction=reduction)(x1, y, w)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(x2, y, weight=w, reduction=reduction)
    ours.backward()
    expected.backward()
    tol = {"rtol": 1e-6, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}
    torch.testing.assert_close(ours, expected, **tol)
    torch.testing.assert_close(x1.grad, x2.grad, **tol)


def test_bce_weight_gradient_flows_through_torch_path():
    x, y, w = _data(c=2, dtype=torch.float64)
    w = w.clone().requires_grad_(True)
    x1 = x.clone().requires_grad_(True)
    VoxelWeightedBCELoss()(x1, y, w).backward()
    x2 = x.clone().requires_grad_(True)
    VoxelWeightedBCELoss()(x2, y, w.detach()).backward()  # fused path
    torch.testing.assert_close(x1.grad, x2.grad)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none").mean(1, keepdim=True)
    torch.testing.assert_close(w.grad, expected / (x.shape[0] * x.shape[2] * x.shape[3]))
