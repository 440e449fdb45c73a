"""Where the repository's bundles and configs are found, from a source checkout or from an installed package.

The experiment runner and the command lines name resources as paths relative to the repository root
(``bundles/lesion_inverse_weighting``, ``configs/experiments/paper1_metastases.yaml``). They are looked up by one
function, :func:`resolve_resource`, in this order:

1. the path as given (absolute, or relative to the current folder);
2. the source checkout this package was imported from (:data:`CHECKOUT_ROOT`, when it is one);
3. the copy shipped inside the installed package, :data:`PACKAGED_ROOT` =
   ``monai_imbalance/apps/packaged/``, which holds the repository's ``bundles/`` and ``configs/`` folders with
   the layout they have in the repository (``monai_imbalance/apps/packaged/bundles/<bundle>/...``,
   ``monai_imbalance/apps/packaged/configs/experiments/*.yaml``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CHECKOUT_ROOT", "PACKAGED_ROOT", "resolve_resource", "resource_root"]

_PACKAGE_DIR = Path(__file__).resolve().parents[1]

#: the repository root when the package is imported from a source checkout (``None`` when installed)
CHECKOUT_ROOT: Path | None = (
    _PACKAGE_DIR.parent if (_PACKAGE_DIR.parent / "setup.cfg").is_file() and (_PACKAGE_DIR.parent / "bundles").is_dir()
    else None
)  # fmt: skip

#: the copy of the repository's ``bundles/`` and ``configs/`` shipped inside an installed package
PACKAGED_ROOT: Path = _PACKAGE_DIR / "apps" / "packaged"


def resource_root() -> Path:
    """The folder holding ``bundles/`` and ``configs/``: the checkout's root, else :data:`PACKAGED_ROOT`.

    Example:
        >>> (resource_root() / "configs" / "experiments").is_dir()
        True
    """
    return CHECKOUT_ROOT if CHECKOUT_ROOT is not None else PACKAGED_ROOT


def resolve_resource(path: str | Path) -> Path:
    """Find a repository-relative resource (a bundle folder, an experiment YAML) and return its absolute path.

    Looked up, in order: ``path`` as given (absolute or relative to the current folder), then relative to the
    source checkout (:data:`CHECKOUT_ROOT`), then relative to the packaged copy (:data:`PACKAGED_ROOT`,
    ``monai_imbalance/apps/packaged/``: the repository's ``bundles/`` and ``configs/`` as they are laid out in
    the repository).

    Args:
        path: a file or folder, e.g. ``"bundles/lesion_inverse_weighting"`` or
            ``"configs/experiments/paper2_multiclass.yaml"``.

    Returns:
        The resolved absolute path of the first candidate that exists.

    Raises:
        TypeError: when ``path`` is not a string or a path.
        FileNotFoundError: when no candidate exists; the message lists every place looked at.

    Example:
        >>> resolve_resource("bundles/lesion_inverse_weighting").name
        'lesion_inverse_weighting'
        >>> resolve_resource("configs/experiments/no_such.yaml")
        Traceback (most recent call last):
            ...
        FileNotFoundError: resource 'configs/experiments/no_such.yaml' not found; looked at: ...
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"`path` must be a string or a pathlib.Path, got {type(path).__name__}.")
    given = Path(path).expanduser()
    candidates = [given]
    if not given.is_absolute():
        candidates += [root / given for root in (CHECKOUT_ROOT, PACKAGED_ROOT) if root is not None]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    looked = ", ".join(str(c if c.is_absolute() else Path.cwd() / c) for c in candidates)
    raise FileNotFoundError(f"resource {str(path)!r} not found; looked at: {looked}.")
