"""monai_imbalance: inverse lesion-size weighting and region-wise losses for MONAI.

Flat re-exports of the public API, resolved lazily (PEP 562) so that ``import monai_imbalance`` stays cheap
and the command-line entries do not pay for ``import monai`` before they need it. The table of names is read
from each subpackage's ``__all__`` (parsed, not imported), so a name added to a subpackage is exported here.

Submodules: ``maps`` (label -> weight / distance maps), ``transforms`` (MONAI transforms: the maps, the bundles'
loading checks), ``losses``, ``metrics`` (lesion-wise evaluation), ``handlers`` (every ignite handler), ``data``
(built-in synthetic data), ``reporting`` (reports and diagnostics), ``evaluate`` (lesion-wise report of a
folder of predictions), ``utils`` (validation, conversions) and ``apps`` (bundle helpers, the experiment runner,
the demo); all but ``utils`` and ``apps`` are re-exported flat.

Example:
    >>> import monai_imbalance as mi
    >>> mi.inverse_weight_map is mi.maps.inverse_weight_map
    True
    >>> sorted(n for n in mi.__all__ if n.startswith("ComputeInverse"))[:2]
    ['ComputeInverseWeightMap', 'ComputeInverseWeightMapD']
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

__version__ = "0.2.0"

_SUBMODULES = ("maps", "transforms", "losses", "metrics", "handlers", "data", "reporting", "evaluate", "utils", "apps")

#: the subpackages whose public names are re-exported at the top level
_FLAT = ("maps", "transforms", "losses", "metrics", "handlers", "data", "reporting", "evaluate")


def _public_names(subpackage: str) -> tuple[str, ...]:
    """The ``__all__`` of a subpackage, read from its ``__init__.py`` without importing it (no torch, no MONAI)."""
    source = (Path(__file__).with_name(subpackage) / "__init__.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise ImportError(f"monai_imbalance.{subpackage} must define `__all__` as a literal list of names.")


#: subpackage -> its public names, generated from each subpackage's ``__all__``
_EXPORTS: dict[str, tuple[str, ...]] = {module: _public_names(module) for module in _FLAT}

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_SUBMODULES, *sorted(_WHERE)]


def __getattr__(name: str) -> Any:
    """Import the submodule or the public name on first access (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
