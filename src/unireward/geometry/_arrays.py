"""Array helpers shared by the geometry functions (shape checks with clear messages)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_coords", "finite_rows", "scalar_or_array"]


def as_coords(x: Any, width: int, name: str) -> np.ndarray:
    """``x`` as a float64 array whose last axis has ``width`` entries.

    >>> as_coords([1, 2], 2, "interval").shape
    (2,)
    >>> as_coords([1, 2, 3], 2, "interval")
    Traceback (most recent call last):
    ...
    ValueError: interval must have shape (..., 2), got shape (3,)
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0 or a.shape[-1] != width:
        raise ValueError(f"{name} must have shape (..., {width}), got shape {a.shape}")
    return a


def finite_rows(a: np.ndarray, axes: int = 1) -> np.ndarray:
    """True where every value of the last ``axes`` axes is finite.

    >>> finite_rows(np.array([[0.0, 1.0], [np.nan, 1.0]])).tolist()
    [True, False]
    """
    ok = np.isfinite(a)
    for _ in range(axes):
        ok = ok.all(axis=-1)
    return ok


def scalar_or_array(a: np.ndarray) -> Any:
    """A 0-d array as a NumPy scalar-shaped array is returned as is (callers use ``float()``)."""
    return a[()] if a.ndim == 0 else a
