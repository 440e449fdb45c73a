"""``python -m monai_imbalance.evaluate``: see :mod:`monai_imbalance.evaluate.cli`."""

from __future__ import annotations

import sys

from monai_imbalance.evaluate.cli import main

if __name__ == "__main__":
    sys.exit(main())
