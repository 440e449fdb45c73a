"""Sphinx configuration of the API reference (``python -m sphinx -W --keep-going -b html docs/api build/docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # document the checkout this file belongs to, even beside another installed copy

import monai_imbalance  # noqa: E402

project = "monai_imbalance"
author = "monai_imbalance developers"
copyright = "monai_imbalance developers, Apache-2.0"
release = version = monai_imbalance.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "sphinx.ext.viewcode"]
exclude_patterns = ["_build"]
# Google-style docstrings (the house style); the Example sections are doctests run by pytest --doctest-modules
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
# MONAI's and torch's docstrings are theirs: an inherited method is shown only where the class documents it
autodoc_inherit_docstrings = False
autodoc_default_options = {"members": True, "imported-members": True, "show-inheritance": True}
html_theme = "alabaster"
html_title = f"monai_imbalance {release} API"
html_show_sourcelink = False
