"""Private helpers shared by the figure modules of :mod:`deeptheory.dynamics.plotting`."""

from __future__ import annotations

from typing import Any

import numpy as np


def _as_1d(name: str, v: Any, min_size: int = 1) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.ndim != 1 or a.size < min_size:
        raise ValueError(f"{name} must be 1-D with at least {min_size} entries, got shape "
                         f"{a.shape}")
    return a
