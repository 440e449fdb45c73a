"""The bad-input matrix: cases registered at import, one parametrised test per kind (error or value).

An error case is one call of a public entry point that must raise an exception of exactly the given type whose
message holds the given words in order; a value case is a call whose result must equal an independent
reference. Ids read ``<entry point>-<case>``. Used by ``tests/test_bad_inputs*.py``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch


class Matrix:
    """The cases of one test module: ``raises`` (call, type, regex) and ``values`` (call, reference, rtol)."""

    def __init__(self) -> None:
        self.raises: list[Any] = []
        self.values: list[Any] = []

    def err(self, entry: str, case: str, call: Callable[[], Any], exc: type[Exception], *words: str) -> None:
        """Register an error case: ``call()`` raises ``exc`` whose message holds ``words`` in this order."""
        pattern = ".*".join(re.escape(w) for w in words)
        self.raises.append(pytest.param(call, exc, pattern, id=f"{entry}-{case}"))

    def val(
        self, entry: str, case: str, call: Callable[[], Any], reference: Callable[[], Any], rtol: float = 1e-5
    ) -> None:
        """Register a value case: ``call()`` equals ``reference()`` (numbers, arrays, tensors, or exact objects)."""
        self.values.append(pytest.param(call, reference, rtol, id=f"{entry}-{case}"))


def _as_float64(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def check_raises(call: Callable[[], Any], exc: type[Exception], pattern: str) -> None:
    """``call()`` raises exactly ``exc`` (not a subclass) with a message matching ``pattern``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. MONAI's single-channel softmax warnings
        with pytest.raises(exc) as info:
            call()
    message = str(info.value.args[0]) if exc is KeyError else str(info.value)
    assert type(info.value) is exc, f"{type(info.value).__name__}: {message}"
    assert re.search(pattern, message, re.DOTALL), message


def check_value(call: Callable[[], Any], reference: Callable[[], Any], rtol: float) -> None:
    """``call()`` equals ``reference()``: exactly for ints, strings, tuples, lists and dicts; else as finite floats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got, expected = call(), reference()
    if isinstance(expected, (tuple, list, int, str, dict, bool, type(None))):
        assert got == expected
        return
    got64, exp64 = _as_float64(got), _as_float64(expected)
    assert got64.shape == exp64.shape
    assert np.isfinite(got64).all()
    atol = 1e-6 if rtol < 1e-3 else rtol
    np.testing.assert_allclose(got64, exp64, rtol=rtol, atol=atol)
