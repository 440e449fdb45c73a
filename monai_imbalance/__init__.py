"""monai_imbalance: inverse lesion-size weighting and region-wise losses for MONAI.

Flat re-exports of the public API. Submodules: ``maps`` (label -> weight / distance maps),
``transforms`` (MONAI transforms around the maps), ``losses``, ``metrics`` (lesion-wise evaluation),
``handlers`` (ignite), ``data`` (built-in synthetic data), ``reporting``.
"""

from __future__ import annotations

__version__ = "0.1.0"
