"""Bitwise comparison of two results (shared by the progress= tests)."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

import numpy as np


def _equal(a, b, where="result"):
    """Bitwise equality of two results, field by field (NaN equal to NaN)."""
    if is_dataclass(a):
        for f in fields(a):
            _equal(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _equal(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _equal(x, y, f"{where}[{i}]")
    elif isinstance(a, (np.ndarray, float, int, np.generic)):
        assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True), where
    else:
        assert a == b, where
