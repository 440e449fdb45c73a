"""Deprecated import paths: a module ``__getattr__`` that forwards moved names to their new home with a warning."""

from __future__ import annotations

import importlib
import runpy
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["moved_names", "run_moved"]


def moved_names(old: str, homes: str | Sequence[str] | Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module-level ``__getattr__`` (PEP 562) for a module whose names moved elsewhere.

    Accessing ``old.<name>`` imports the new home, emits a ``DeprecationWarning`` naming the new path
    (``"<old>.<name> is deprecated: use <home>.<name>"``) and returns the very same object. Names defined in
    the old module itself are found before ``__getattr__`` is called and do not warn; dunder names are never
    forwarded (``inspect`` and ``pydoc`` probe them). The forwarded names are not listed by ``dir``, so
    MONAI's ``ComponentLocator``, which scans every loaded ``monai*`` module, does not trigger the warning.

    Args:
        old: the deprecated module's name (pass ``__name__``).
        homes: the module every name moved to, modules searched in order, or a mapping ``name -> module``
            (only those names are forwarded).

    Returns:
        The function to bind as ``__getattr__`` in the old module.

    Raises:
        AttributeError: (when called) the name is in none of the homes.

    Example:
        >>> import warnings
        >>> getattr_ = moved_names("old.place", "monai_imbalance.utils.deprecation")
        >>> with warnings.catch_warnings(record=True) as w:
        ...     warnings.simplefilter("always")
        ...     found = getattr_("moved_names")
        >>> found is moved_names, str(w[0].message)
        (True, 'old.place.moved_names is deprecated: use monai_imbalance.utils.deprecation.moved_names')
    """
    if isinstance(homes, str):
        homes = (homes,)

    def module_getattr(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        candidates = ([homes[name]] if name in homes else []) if isinstance(homes, Mapping) else list(homes)
        for home in candidates:
            module = importlib.import_module(home)
            if hasattr(module, name):
                warnings.warn(f"{old}.{name} is deprecated: use {home}.{name}", DeprecationWarning, stacklevel=2)
                return getattr(module, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return module_getattr


def run_moved(old: str, new: str) -> None:
    """Run ``python -m <new>`` for a deprecated ``python -m <old>``, with a ``DeprecationWarning`` naming ``new``.

    Call it from the old module's ``if __name__ == "__main__":`` block (or the old package's ``__main__.py``);
    the command-line arguments are passed on unchanged.

    Args:
        old: the deprecated module or package name.
        new: the module or package that replaces it (a package runs its ``__main__``).
    """
    warnings.warn(f"python -m {old} is deprecated: use python -m {new}", DeprecationWarning, stacklevel=2)
    runpy.run_module(new, run_name="__main__", alter_sys=True)
