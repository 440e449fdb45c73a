"""Demo: the package's maps on a synthetic multi-lesion volume (``python -m monai_imbalance.apps.demo``).

Builds one binary multi-lesion case (inverse lesion-size weights, paper 1) and one multi-class case (RRW,
RW-Boundary and active-contour maps, paper 2), prints one line per lesion, and saves the maps as ``.npz``
and NIfTI plus a picture of the middle slices.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monai_imbalance.data.synthetic import make_case
from monai_imbalance.maps import (
    active_contour_map,
    boundary_distance_map,
    inverse_weight_map,
    label_components,
    rrw_map,
)
from monai_imbalance.utils.figures import agg_figure, save_png

__all__ = ["main", "run_demo"]


def _save_nifti(path: Path, array: np.ndarray, spacing: tuple[float, ...]) -> None:
    import nibabel as nib

    affine = np.diag([*spacing, 1.0])
    data = np.moveaxis(array, 0, -1) if array.ndim == 4 else array  # channels last, as NIfTI stores them
    nib.save(nib.Nifti1Image(np.ascontiguousarray(data), affine), str(path))


def _plot(path: Path, panels: list[tuple[str, np.ndarray, str]], class_names: Sequence[str]) -> None:
    """One row of slices; a ``"classes"`` panel is a label map drawn with a legend of ``class_names``."""
    from matplotlib.colors import ListedColormap, TwoSlopeNorm
    from matplotlib.patches import Patch

    fig = agg_figure(figsize=(3.4 * len(panels), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    colors = ["#000000", "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"][: len(class_names)]
    for ax, (title, image, cmap) in zip(axes, panels, strict=True):
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        if cmap == "classes":
            ax.imshow(image.T, cmap=ListedColormap(colors), vmin=0, vmax=len(colors) - 1, origin="lower")
            handles = [Patch(color=c, label=n) for c, n in zip(colors, class_names, strict=True)]
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=7)
            continue
        signed = cmap == "coolwarm" and image.min() < 0 < image.max()
        norm = TwoSlopeNorm(vcenter=0.0, vmin=float(image.min()), vmax=float(image.max())) if signed else None
        im = ax.imshow(image.T, cmap=cmap, origin="lower", norm=norm)
        fig.colorbar(im, ax=ax, shrink=0.7)
    save_png(fig, path, dpi=110)


def run_demo(output_dir: str | Path, shape: Sequence[int] = (96, 96, 64), seed: int = 7) -> dict[str, Path]:
    """Compute every map of the package on synthetic cases, print a lesion table and save the results.

    Args:
        output_dir: folder for ``maps.npz``, the NIfTI files and ``maps.png`` (created if needed).
        shape: spatial shape of the synthetic volumes.
        seed: seed of the synthetic cases.

    Returns:
        The paths written, by name.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    size = (int(shape[0]), int(shape[1]), int(shape[2]))

    image, label, spacing = make_case(size, "metastases", seed=seed)
    weights = inverse_weight_map(label[None])[0]
    components, k = label_components(label > 0)
    n = label.size
    print(f"binary case {size}, spacing {spacing} mm: {k} lesions, {int((label > 0).sum())} lesion voxels of {n}")
    print(f"{'component':>10} {'voxels':>8} {'weight':>10} {'total weight':>13}")
    for j in range(k + 1):
        region = components == j
        voxels = int(region.sum())
        w = float(weights[region][0])
        name = "background" if j == 0 else f"lesion {j}"
        print(f"{name:>10} {voxels:>8} {w:>10.3f} {w * voxels:>13.1f}")
    print(f"every component carries N/(K+1) = {n / (k + 1):.1f}; sum of weights = {float(weights.sum()):.1f} = N")

    mc_image, mc_label, mc_spacing = make_case(size, "multiclass", seed=seed)
    num_classes = 4
    rrw = rrw_map(mc_label[None], spacing=mc_spacing, num_classes=num_classes)
    boundary = boundary_distance_map(mc_label[None], spacing=mc_spacing, num_classes=num_classes)
    contour = active_contour_map(mc_label[None], num_classes=num_classes)
    present = [int(c) for c in np.unique(mc_label)]
    print(f"multi-class case {size}, spacing {mc_spacing} mm, classes present {present}:")
    for c in range(num_classes):
        print(
            f"  class {c}: RRW in [{rrw[c].min():+.3f}, {rrw[c].max():+.3f}], "
            f"RW-Boundary in [{boundary[c].min():+.1f}, {boundary[c].max():+.1f}] mm"
        )

    paths = {"npz": out / "maps.npz", "png": out / "maps.png"}
    np.savez_compressed(
        paths["npz"], image=image, label=label, inverse_weights=weights, spacing=np.asarray(spacing),
        mc_image=mc_image, mc_label=mc_label, rrw=rrw, rw_boundary=boundary, active_contour=contour,
        mc_spacing=np.asarray(mc_spacing),
    )  # fmt: skip
    for name, array, sp in [
        ("image", image, spacing),
        ("label", label, spacing),
        ("inverse_weights", weights, spacing),
        ("mc_label", mc_label, mc_spacing),
        ("rrw", rrw, mc_spacing),
    ]:
        paths[name] = out / f"{name}.nii.gz"
        _save_nifti(paths[name], array, sp)

    # the slice crossing the most lesions, to show small and large ones side by side
    z = int(np.argmax([len(np.unique(components[:, :, i])) for i in range(components.shape[2])]))
    zc = int(np.argmax((mc_label == 2).sum(axis=(0, 1))))
    _plot(
        paths["png"],
        [
            ("image (slice crossing most lesions)", image[:, :, z], "gray"),
            ("inverse weights (log10)", np.log10(weights[:, :, z]), "magma"),
            ("multi-class label", mc_label[:, :, zc], "classes"),
            ("RRW map, tumour class", rrw[2, :, :, zc], "coolwarm"),
            ("RW-Boundary map, tumour (mm)", boundary[2, :, :, zc], "coolwarm"),
        ],
        class_names=["background", "organ", "tumour", "third structure"][:num_classes],
    )
    print("wrote: " + ", ".join(str(p) for p in paths.values()))
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m monai_imbalance.apps.demo", description=__doc__)
    parser.add_argument("--output_dir", default="demo_out", help="where to write the maps (default: demo_out)")
    parser.add_argument("--shape", type=int, nargs=3, default=(96, 96, 64), help="volume shape in voxels")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic cases")
    args = parser.parse_args(argv)
    run_demo(args.output_dir, shape=args.shape, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
