"""Gradient-sign diagnostics (paper 2, section 3.4, Figures 2-3): counts, references, the training handler."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from monai_imbalance.losses import MapBridgeLoss, PrepareBatchWithMap, RegionWiseLoss, VoxelWeightedBCELoss
from monai_imbalance.maps import boundary_distance_map, rrw_map
from monai_imbalance.reporting.gradients import (
    GradientSignHandler,
    logit_gradient,
    negative_component_counts,
    negative_component_map,
)
from tests._reference_region_wise import boundary_reference, random_labels, rrw_reference


def reference_rw_gradient(logits, z):
    """dL/dx_k = p_k (Z_k - sum_j p_j Z_j) / N by hand, voxel by voxel (N = B*C*spatial, the mean)."""
    logits, z = np.asarray(logits, np.float64), np.asarray(z, np.float64)
    n = logits.size
    grad = np.zeros_like(logits)
    for b in range(logits.shape[0]):
        for idx in np.ndindex(logits.shape[2:]):
            x = logits[(b, slice(None), *idx)]
            e = np.exp(x - x.max())
            p = e / e.sum()
            zz = z[(b, slice(None), *idx)]
            mean = sum(p[j] * zz[j] for j in range(len(p)))
            for k in range(len(p)):
                grad[(b, k, *idx)] = p[k] * (zz[k] - mean) / n
    return grad


def reference_counts(grad, num_classes):
    per_voxel = (grad < 0).sum(axis=1)
    return np.array([(per_voxel == m).sum() for m in range(num_classes + 1)])


def _batch_maps(labels, num_classes, kind):
    ref = rrw_reference if kind == "rrw" else boundary_reference
    return torch.from_numpy(np.stack([ref(lab, num_classes) for lab in labels]))


@settings(max_examples=25, deadline=None)
@given(
    num_classes=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 4.0),
    ndim=st.sampled_from([1, 2, 3]),
)
def test_rrw_maps_give_exactly_one_negative_component(num_classes, seed, scale, ndim):
    rng = np.random.default_rng(seed)
    shape = {1: (17,), 2: (9, 8), 3: (5, 6, 4)}[ndim]
    labels = np.stack([random_labels(rng, shape, num_classes) for _ in range(2)])
    z = _batch_maps(labels, num_classes, "rrw")
    logits = torch.from_numpy(scale * rng.standard_normal((2, num_classes, *shape)))
    counts = negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z)
    assert counts.shape == (num_classes + 1,)
    assert counts[1] == labels.size, counts
    # the single negative component sits at the true class
    grad = logit_gradient(RegionWiseLoss(), logits, None, rw_map=z).numpy()
    np.testing.assert_array_equal(grad.argmin(axis=1), labels)


def test_rrw_computed_from_target_inside_the_loss():
    rng = np.random.default_rng(3)
    labels = np.stack([random_labels(rng, (12, 10), 4) for _ in range(2)])
    target = torch.from_numpy(labels[:, None])
    logits = torch.from_numpy(rng.standard_normal((2, 4, 12, 10)))
    counts = negative_component_counts(RegionWiseLoss(), logits, target)
    assert counts[1] == labels.size
    assert counts.sum() == labels.size


def test_rw_boundary_three_classes_has_several_negative_components():
    # background, class 1 on the left, class 2 on the right: background voxels next to class 1 and far from
    # class 2 have both Z_0 and Z_1 below the mean under uniform probabilities
    label = np.zeros((1, 24, 24), np.int64)
    label[0, 4:10, 2:8] = 1
    label[0, 14:20, 16:22] = 2
    z = torch.from_numpy(boundary_distance_map(label, num_classes=3))[None].double()
    np.testing.assert_allclose(z[0].numpy(), boundary_reference(label[0], 3))
    logits = torch.zeros(1, 3, 24, 24, dtype=torch.float64)
    counts = negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z)
    assert counts[2:].sum() > 0
    assert counts[1] < label.size
    # the same label with its RRW map: all ones
    z_rrw = torch.from_numpy(rrw_map(label, num_classes=3))[None].double()
    assert negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z_rrw)[1] == label.size


def test_two_classes_boundary_map_is_fine():
    # with two classes the gradient components are opposite: exactly one negative whenever Z_0 != Z_1
    rng = np.random.default_rng(0)
    label = random_labels(rng, (16, 16), 2)
    z = torch.from_numpy(boundary_reference(label, 2))[None]
    logits = torch.from_numpy(rng.standard_normal((1, 2, 16, 16)))
    counts = negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z)
    unequal = int((z[0, 0] != z[0, 1]).sum())
    assert counts[1] == unequal


@pytest.mark.parametrize("kind", ["rrw", "boundary", "random"])
@pytest.mark.parametrize("num_classes", [2, 3, 5])
def test_gradient_and_counts_match_the_analytic_reference(kind, num_classes):
    rng = np.random.default_rng(num_classes)
    shape = (7, 6)
    labels = np.stack([random_labels(rng, shape, num_classes) for _ in range(2)])
    if kind == "random":
        z = torch.from_numpy(rng.normal(size=(2, num_classes, *shape)))
    else:
        z = _batch_maps(labels, num_classes, kind)
    logits = torch.from_numpy(2 * rng.standard_normal((2, num_classes, *shape)))
    grad = logit_gradient(RegionWiseLoss(), logits, None, rw_map=z)
    ref = reference_rw_gradient(logits.numpy(), z.numpy())
    np.testing.assert_allclose(grad.numpy(), ref, rtol=1e-10, atol=1e-15)
    expected = reference_counts(ref, num_classes)
    np.testing.assert_array_equal(negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z), expected)
    per_voxel = negative_component_map(RegionWiseLoss(), logits, None, rw_map=z)
    np.testing.assert_array_equal(per_voxel, (ref < 0).sum(axis=1))


def test_map_arg_and_tolerance():
    # voxel-weighted BCE: d/dx = w (p - y) / N, negative exactly at positive targets with p < 1
    x = torch.tensor([[[0.0, 0.0, 0.0, 30.0]]], dtype=torch.float64)
    y = torch.tensor([[[1.0, 0.0, 1.0, 1.0]]], dtype=torch.float64)
    w = torch.tensor([[[1.0, 1.0, 0.0, 1.0]]], dtype=torch.float64)
    counts = negative_component_map(VoxelWeightedBCELoss(), x, y, rw_map=w, map_arg="weight")
    np.testing.assert_array_equal(counts, [[1, 0, 0, 1]])  # zero weight: zero gradient; p ~ 1: tiny negative
    counts = negative_component_map(VoxelWeightedBCELoss(), x, y, rw_map=w, map_arg="weight", tol=1e-6)
    np.testing.assert_array_equal(counts, [[1, 0, 0, 0]])


def test_saturated_softmax_gives_zero_not_two():
    # s_c == 1.0 exactly in float64: the true-class component rounds to 0, the others are 0 too -> 0 negatives;
    # a rectified map never produces two
    x = torch.tensor([[[60.0, 0.0], [-60.0, 0.0], [-60.0, 0.0]]], dtype=torch.float64)
    z = torch.tensor([[[-1.0, -1.0], [1.0, 1.0], [1.0, 1.0]]], dtype=torch.float64)
    np.testing.assert_array_equal(negative_component_map(RegionWiseLoss(), x, None, rw_map=z), [[0, 1]])


def test_logits_graph_is_untouched():
    logits = torch.randn(1, 3, 4, requires_grad=True)
    out = logits * 2
    z = torch.ones(1, 3, 4)
    z[:, 0] = -1
    logit_gradient(RegionWiseLoss(), out, None, rw_map=z)
    assert logits.grad is None
    out.sum().backward()  # the caller's graph still works
    assert torch.equal(logits.grad, torch.full((1, 3, 4), 2.0))


def test_errors():
    loss = RegionWiseLoss()
    z = torch.ones(1, 2, 3)
    with pytest.raises(TypeError, match=r"`logits` must be a torch\.Tensor"):
        logit_gradient(loss, np.zeros((1, 2, 3)), None, z)
    with pytest.raises(TypeError, match="`logits` must be a floating tensor"):
        logit_gradient(loss, torch.zeros(1, 2, 3, dtype=torch.long), None, z)
    with pytest.raises(ValueError, match=r"`logits` must have shape \(B, C, \*spatial\)"):
        logit_gradient(loss, torch.zeros(2, 3), None, z)
    with pytest.raises(ValueError, match="does not depend on `logits`"):
        logit_gradient(lambda x, y: torch.tensor(1.0, requires_grad=True), torch.zeros(1, 2, 3), None)
    with pytest.raises(ValueError, match="no value depending on `logits`"):
        logit_gradient(lambda x, y: torch.tensor(1.0), torch.zeros(1, 2, 3), None)
    with pytest.raises(ValueError, match="`tol` must be a non-negative number"):
        negative_component_counts(loss, torch.zeros(1, 2, 3), None, z, tol=-1)
    with pytest.raises(ValueError, match="`interval` must be a positive integer"):
        GradientSignHandler(interval=0)
    with pytest.raises(ValueError, match="`tol` must be a non-negative number"):
        GradientSignHandler(tol=-0.1)
    with pytest.raises(ValueError, match="`metric_name` must be a non-empty string"):
        GradientSignHandler(metric_name="")


# ---------------------------------------------------------------- the handler on a tiny SupervisedTrainer


def _datalist(n=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    items = []
    for _ in range(n):
        label = random_labels(rng, (size, size), 3, smooth=2.0)[None]
        image = (label + 0.5 * rng.standard_normal(label.shape)).astype(np.float32)
        items.append({"image": image, "label": label.astype(np.float32)})
    return items


def _trainer(map_kind, handler, max_epochs=2):
    from monai.data import DataLoader, Dataset
    from monai.engines import SupervisedTrainer
    from monai.networks.nets import UNet
    from monai.transforms import Compose, EnsureTyped

    from monai_imbalance.transforms import ComputeBoundaryMapd, ComputeRRWMapd

    torch.manual_seed(0)
    if map_kind == "rrw":
        make_map, key = ComputeRRWMapd("label", num_classes=3), "label_rrw"
    else:
        make_map, key = ComputeBoundaryMapd("label", num_classes=3), "label_boundary"
    transform = Compose([make_map, EnsureTyped(keys=["image", "label", key])])
    loader = DataLoader(Dataset(_datalist(), transform), batch_size=2, num_workers=0)
    net = UNet(2, 1, 3, channels=(4, 8), strides=(2,), num_res_units=0)
    trainer = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=max_epochs,
        train_data_loader=loader,
        network=net,
        optimizer=torch.optim.Adam(net.parameters(), 1e-2),
        loss_function=MapBridgeLoss(RegionWiseLoss(), key),
        prepare_batch=PrepareBatchWithMap(key),
    )
    handler.attach(trainer)
    return trainer


@pytest.mark.parametrize("map_kind", ["rrw", "boundary"])
def test_handler_on_a_tiny_trainer(map_kind, tmp_path):
    out = tmp_path / "grad" / "signs.json"
    handler = GradientSignHandler(interval=3, output_file=out)
    seen = []
    trainer = _trainer(map_kind, handler)
    from ignite.engine import Events

    trainer.add_event_handler(
        Events.ITERATION_COMPLETED, lambda e: seen.append(e.state.metrics.get(handler.metric_name))
    )
    trainer.run()
    # 2 epochs x 2 iterations = 4 iterations; recorded at 1 and 4
    assert [r["iteration"] for r in handler.history] == [1, 4]
    assert [r["epoch"] for r in handler.history] == [1, 2]
    fractions = handler.fractions
    assert all(0.0 <= f <= 1.0 for f in fractions)
    for r in handler.history:
        assert sum(r["counts"]) == 2 * 16 * 16
        assert len(r["counts"]) == 4
    for r in handler.history:
        assert r["multiple_fraction"] == sum(r["counts"][2:]) / sum(r["counts"])
    if map_kind == "rrw":
        assert fractions == [1.0, 1.0]
        assert [r["multiple_fraction"] for r in handler.history] == [0.0, 0.0]
    else:
        assert fractions[0] < 1.0
        assert handler.history[0]["multiple_fraction"] > 0.0
    assert seen[0] == fractions[0]
    assert seen[-1] == fractions[-1]
    saved = json.loads(out.read_text())
    assert saved["history"] == handler.history
    assert saved["metric"] == "grad_one_negative_fraction"


def test_handler_matches_direct_counts_with_an_explicit_loss():
    # an explicit loss_function overrides the trainer's: RW-Boundary maps given by the transform are ignored and
    # the RRW map computed from the label is used, so every record is exactly one negative component
    handler = GradientSignHandler(interval=1, loss_function=lambda x, y: RegionWiseLoss()(x, y.as_tensor()))
    trainer = _trainer("boundary", handler, max_epochs=1)
    trainer.run()
    assert handler.fractions == [1.0, 1.0]


def test_handler_on_a_plain_ignite_engine():
    from ignite.engine import Engine

    z = torch.ones(1, 3, 5, dtype=torch.float64)
    z[0, 0, :2] = 5.0  # not rectified
    z[0, 2, :] = -1.0

    def step(engine, batch):
        return {"pred": torch.zeros(1, 3, 5), "label": z}

    handler = GradientSignHandler(loss_function=lambda x, y: RegionWiseLoss()(x, None, rw_map=y))
    engine = Engine(step)
    handler.attach(engine)
    engine.run([0, 1], max_epochs=1)
    expected = reference_counts(reference_rw_gradient(np.zeros((1, 3, 5)), z.numpy()), 3)
    assert handler.history[0]["counts"] == expected.tolist()
    assert handler.fractions == [expected[1] / 5] * 2


@pytest.mark.parametrize(
    ("output", "loss", "error", "match"),
    [
        ({"pred": torch.zeros(1, 2, 3)}, RegionWiseLoss(), KeyError, "must hold `pred` and `label`"),
        (torch.zeros(1, 2, 3), RegionWiseLoss(), TypeError, "must be a dictionary or a list of them"),
        ({"pred": torch.zeros(1, 2, 3), "label": torch.zeros(1, 1, 3)}, None, ValueError, "No loss to differentiate"),
    ],
    ids=["missing-key", "not-a-dict", "no-loss"],
)
def test_handler_errors_when_called(output, loss, error, match):
    from ignite.engine import Engine

    handler = GradientSignHandler(loss_function=loss)
    engine = Engine(lambda e, b: output)
    handler.attach(engine)
    with pytest.raises(error, match=match):
        engine.run([0], max_epochs=1)


def test_handler_on_decollated_outputs():
    from ignite.engine import Engine

    label = torch.tensor([[0.0, 1.0, 1.0]])
    items = [{"pred": torch.zeros(2, 3), "label": label}, {"pred": torch.ones(2, 3), "label": label}]
    handler = GradientSignHandler(loss_function=RegionWiseLoss())  # RRW map computed from the stacked labels
    engine = Engine(lambda e, b: items)
    handler.attach(engine)
    engine.run([0], max_epochs=1)
    assert handler.history[0]["counts"] == [0, 6, 0]
