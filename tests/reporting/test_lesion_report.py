from __future__ import annotations

import json
import math
import struct
import warnings

import numpy as np
import pytest

from monai_imbalance.metrics import (
    CaseRecords,
    average_recall,
    bootstrap,
    froc_curve,
    object_dice,
    size_groups,
)
from monai_imbalance.reporting import (
    lesion_report,
    load_records,
    plot_froc,
    plot_recall_by_size,
    save_records,
    write_lesion_report,
)
from tests._lesion_cases import hand_cases, random_cases
from tests._reference_metrics import LUNA16_RATES, ref_luna16_average_recall

# ----------------------------------------------------------------- data


def _ref_recall_at(cases, rate):
    return ref_luna16_average_recall([(c.lesion_confidence.tolist(), c.fp_confidence.tolist()) for c in cases], [rate])


def _ref_ar(cases, n_cases=None):
    pairs = [(c.lesion_confidence.tolist(), c.fp_confidence.tolist()) for c in cases]
    return ref_luna16_average_recall(pairs, LUNA16_RATES, n_cases)


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24]), len(data)


# ----------------------------------------------------------------- lesion_report


def test_hand_built_values():
    r = lesion_report(hand_cases(), n_draws=5)
    # curve (FP/image, recall) with the origin: (0,0) (0,1/3) (0.5,1/3) (0.5,2/3); rates 1/8, 1/4 -> 1/3,
    # rate 1/2 -> the top of the vertical run 2/3, rates >= 1 -> held at 2/3
    expected = [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3]
    assert r["average_recall"] == pytest.approx(sum(expected) / 7)
    assert [r["recall_at_fp"][str(x)] for x in LUNA16_RATES] == pytest.approx(expected)
    assert (r["n_cases"], r["n_lesions"], r["n_detected"], r["n_false_positives"]) == (2, 3, 2, 1)
    assert r["object_dice"] == pytest.approx({"mean": 0.7, "std": 0.1, "n": 2})
    assert r["froc"]["fp_per_image"] == [0.0, 0.5, 0.5]
    assert r["froc"]["recall"] == pytest.approx([1 / 3, 1 / 3, 2 / 3])
    assert r["froc"]["thresholds"] == [0.9, 0.7, 0.6]
    assert r["protocol"] == "luna16"
    assert r["bootstrap"]["n_draws"] == 5
    assert r["bootstrap"]["fraction"] == 0.8


def test_matches_functional_core_and_reference():
    cases = random_cases()
    r = lesion_report(cases, n_draws=20, seed=3)
    assert r["average_recall"] == pytest.approx(average_recall(cases))
    assert r["average_recall"] == pytest.approx(_ref_ar(cases))
    for rate in LUNA16_RATES:
        assert r["recall_at_fp"][str(rate)] == pytest.approx(_ref_recall_at(cases, rate))
    boot = bootstrap(cases, n_draws=20, seed=3)
    assert (r["bootstrap"]["mean"], r["bootstrap"]["std"]) == pytest.approx((boot.mean, boot.std))
    # independent bootstrap: the documented draws (80% without replacement, default_rng(seed), FP / k)
    rng = np.random.default_rng(3)
    k = int(len(cases) * 0.8)
    values = [_ref_ar([cases[i] for i in rng.choice(len(cases), size=k, replace=False)], k) for _ in range(20)]
    assert r["bootstrap"]["mean"] == pytest.approx(np.mean(values))
    assert r["bootstrap"]["std"] == pytest.approx(np.std(values))
    assert (r["object_dice"]["mean"], r["object_dice"]["std"]) == pytest.approx(object_dice(cases))
    _, fp, rec = froc_curve(cases)
    assert r["froc"]["fp_per_image"] == pytest.approx(fp[::-1].tolist())
    assert r["froc"]["recall"] == pytest.approx(rec[::-1].tolist())
    band = r["froc"]["band"]
    assert len(band["fp_per_image"]) == len(band["lower"]) == len(band["upper"]) == len(band["mean"])
    assert all(0 <= lo <= m <= hi <= 1 for lo, m, hi in zip(band["lower"], band["mean"], band["upper"], strict=True))
    assert np.all(np.diff(band["fp_per_image"]) > 0)
    assert set(LUNA16_RATES) <= set(band["fp_per_image"])


def test_size_groups_tertiles_add_up_and_match_reference():
    cases = random_cases(seed=1)
    r = lesion_report(cases, n_draws=4)
    groups = r["size_groups"]
    assert [g["name"] for g in groups] == ["small", "medium", "large"]
    assert sum(g["n_lesions"] for g in groups) == r["n_lesions"]
    assert sum(g["n_detected"] for g in groups) == r["n_detected"]
    assert r["size_groups_by"] == "volume"
    vols = np.concatenate([c.lesion_volume for c in cases])
    t1, t2 = np.quantile(vols, [1 / 3, 2 / 3])
    assert [g["range"] for g in groups] == [[None, t1], [t1, t2], [t2, None]]
    core = size_groups(cases)
    for g in groups:
        lo = -math.inf if g["range"][0] is None else g["range"][0]
        hi = math.inf if g["range"][1] is None else g["range"][1]
        sub = [
            (
                c.lesion_confidence[(c.lesion_volume >= lo) & (c.lesion_volume < hi)].tolist(),
                c.fp_confidence[(c.fp_volume >= lo) & (c.fp_volume < hi)].tolist(),
            )
            for c in cases
        ]
        assert g["n_lesions"] == sum(len(s[0]) for s in sub)
        assert g["average_recall"] == pytest.approx(ref_luna16_average_recall(sub))
        assert g["average_recall"] == pytest.approx(average_recall(core[g["name"]]))


def test_size_groups_diameter_thresholds():
    cases = random_cases(seed=2)
    r = lesion_report(cases, size_thresholds=[5.0, 12.0], n_draws=4)
    assert r["size_groups_by"] == "diameter"
    assert [(g["name"], g["range"]) for g in r["size_groups"]] == [
        ("small", [None, 5.0]),
        ("medium", [5.0, 12.0]),
        ("large", [12.0, None]),
    ]
    diam = np.concatenate([c.lesion_diameter for c in cases])
    assert [g["n_lesions"] for g in r["size_groups"]] == [
        int((diam < 5).sum()),
        int(((diam >= 5) & (diam < 12)).sum()),
        int((diam >= 12).sum()),
    ]


def test_shirokikh2020_protocol_uses_core():
    cases = random_cases(seed=4)
    r = lesion_report(cases, protocol="shirokikh2020", seed=None)
    boot = bootstrap(cases, "shirokikh2020")
    assert r["bootstrap"]["n_draws"] == 50
    assert r["bootstrap"]["mean"] == pytest.approx(boot.mean)
    assert r["average_recall"] == pytest.approx(average_recall(cases, "shirokikh2020"))


def test_json_has_no_nan_and_loads_back(tmp_path):
    cases = random_cases(seed=5)
    r = write_lesion_report(cases, tmp_path / "out", n_draws=5)
    text = (tmp_path / "out" / "lesion_report.json").read_text()
    assert "NaN" not in text
    assert "Infinity" not in text
    assert json.loads(text) == json.loads(json.dumps(r))
    json.dumps(r, allow_nan=False)


def test_no_lesions_at_all_is_defined(tmp_path):
    cases = [CaseRecords([], [], [], [], [0.6, 0.8]), CaseRecords([], [], [], [], [])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = write_lesion_report(cases, tmp_path, n_draws=3)
    assert (r["n_lesions"], r["n_false_positives"]) == (0, 2)
    assert r["average_recall"] is None
    assert r["bootstrap"]["mean"] is None
    assert r["bootstrap"]["std"] is None
    assert set(r["recall_at_fp"].values()) == {None}
    assert r["object_dice"] == {"mean": None, "std": None, "n": 0}
    assert sum(g["n_lesions"] for g in r["size_groups"]) == 0
    assert "| average recall (7 FP rates) | n/a (bootstrap n/a) |" in (tmp_path / "lesion_report.md").read_text()
    json.dumps(r, allow_nan=False)
    assert _png_size(tmp_path / "lesion_report_froc.png")[1] > 5000
    # nothing at all (no lesion, no prediction): still undefined, not 0
    empty = lesion_report([CaseRecords([], [], [], [], [])], n_draws=2)
    assert empty["average_recall"] is None
    assert set(empty["recall_at_fp"].values()) == {None}
    assert empty["bootstrap"]["mean"] is None


def test_errors():
    with pytest.raises(ValueError, match="`cases` must hold at least one case"):
        lesion_report([])
    with pytest.raises(ValueError, match="`cases` must hold at least one case"):
        write_lesion_report([], "unused")
    with pytest.raises(TypeError, match="`cases` must be a sequence of CaseRecords"):
        lesion_report([{"lesion_confidence": [1.0]}])
    with pytest.raises(ValueError, match="protocol"):
        lesion_report(hand_cases(), protocol="lidc")
    with pytest.raises(ValueError, match="`fp_rates`"):
        lesion_report(hand_cases(), fp_rates=[-1.0])
    with pytest.raises(ValueError, match="`size_thresholds` must be finite and strictly increasing"):
        lesion_report(hand_cases(), size_thresholds=[10.0, 5.0])
    with pytest.raises(ValueError, match="`n_draws`"):
        lesion_report(hand_cases(), n_draws=0)
    with pytest.raises(ValueError, match="`reports` must hold at least one"):
        plot_froc({}, "unused.png")
    with pytest.raises(TypeError, match="`reports` must map"):
        plot_recall_by_size([lesion_report(hand_cases(), n_draws=2)], "unused.png")


# ----------------------------------------------------------------- files


def test_records_round_trip_exactly(tmp_path):
    cases = [*random_cases(seed=6), CaseRecords([-np.inf, 1e-300], [0.0, 1 / 3], [1, 2], [3, 4], [0.1, 0.2])]
    cases[-1].case_id = None
    back = load_records(save_records(cases, tmp_path / "r.json"))
    json.loads((tmp_path / "r.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert len(back) == len(cases)
    for a, b in zip(cases, back, strict=True):
        for name in ("lesion_confidence", "lesion_dice", "lesion_diameter", "lesion_volume"):
            assert np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("fp_confidence", "fp_diameter", "fp_volume"):  # the last case's FP sizes are NaN
            assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True)
        assert (a.n_predictions, a.case_id) == (b.n_predictions, b.case_id)
    assert np.isnan(back[-1].fp_diameter).all()


def test_load_records_errors(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="lesion-records file"):
        load_records(tmp_path / "x.json")
    (tmp_path / "y.json").write_text(json.dumps({"format": "monai_imbalance.lesion_records", "version": 99}))
    with pytest.raises(ValueError, match="version"):
        load_records(tmp_path / "y.json")
    with pytest.raises(TypeError, match="must hold CaseRecords only"):
        save_records([1, 2], tmp_path / "z.json")
    (tmp_path / "t.json").write_text((tmp_path / "x.json").read_text()[:-3])
    with pytest.raises(ValueError, match=r"t.json is not valid JSON \(truncated"):
        load_records(tmp_path / "t.json")
    with pytest.raises(FileNotFoundError, match="no records file"):
        load_records(tmp_path / "missing.json")
    save_records({"paper": hand_cases(), "strict": hand_cases()}, tmp_path / "v.json")
    with pytest.raises(KeyError, match=r"holds the views \['paper', 'strict'\]"):
        load_records(tmp_path / "v.json", view="lenient")


def test_written_files_markdown_and_pngs(tmp_path):
    cases = random_cases(seed=7)
    out = tmp_path / "new" / "dir"
    r = write_lesion_report(cases, out, name="val", title="Validation", n_draws=10, size_thresholds=[8.0])
    names = sorted(p.name for p in out.iterdir())
    assert names == ["val.json", "val.md", "val_froc.png", "val_recall_by_size.png", "val_records.json"]
    md = (out / "val.md").read_text()
    assert md.startswith("# Validation")
    boot = r["bootstrap"]
    assert f"| {r['average_recall']:.3f} (bootstrap {boot['mean']:.3f} ± {boot['std']:.3f}) |" in md
    for rate in LUNA16_RATES:
        assert f"| recall at {rate:g} FP/image | {r['recall_at_fp'][str(rate)]:.3f} ± " in md
    assert f"{r['object_dice']['mean']:.3f} ± {r['object_dice']['std']:.3f} (n = {r['object_dice']['n']})" in md
    for g in r["size_groups"]:
        assert f"| {g['name']} |" in md
        assert f"| {g['n_lesions']} |" in md
    for png in ("val_froc.png", "val_recall_by_size.png"):
        (w, h), size = _png_size(out / png)
        assert w >= 400
        assert h >= 300
        assert size > 10_000
    back = load_records(out / "val_records.json")
    assert lesion_report(back, n_draws=10, size_thresholds=[8.0]) == r


def test_plots_overlay_several_methods(tmp_path):
    cases = random_cases(seed=8)
    better = [
        CaseRecords(np.where(np.isfinite(c.lesion_confidence), 1.0, -np.inf), c.lesion_dice, c.lesion_diameter,
                    c.lesion_volume, c.fp_confidence * 0.5)
        for c in cases
    ]  # fmt: skip
    reports = {"a": lesion_report(cases, n_draws=4), "b": lesion_report(better, n_draws=4)}
    one = _png_size(plot_froc({"a": reports["a"]}, tmp_path / "one.png"))[1]
    two = _png_size(plot_froc(reports, tmp_path / "two.png", title="two methods"))[1]
    assert two > one  # a second curve and band add pixels
    (w, _), _ = _png_size(plot_recall_by_size(reports, tmp_path / "size.png"))
    (w1, _), _ = _png_size(plot_recall_by_size({"a": reports["a"]}, tmp_path / "size1.png"))
    assert w > w1  # wider for two bars per group
