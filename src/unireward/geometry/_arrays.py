"""Array helpers shared by the geometry functions (shape checks with clear messages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["BLOCK", "as_coords", "blockwise", "finite_rows", "scalar_or_array"]

#: Rows per block in :func:`blockwise`: small enough that a block's temporaries stay in
#: the CPU cache, large enough that the per-call overhead does not show.
BLOCK = 32768


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


def blockwise(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray], p: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """``fn(p, g)`` computed in blocks of :data:`BLOCK` rows when both are ``(N, k)`` of the
    same shape (about twice as fast on large batches: the temporaries stay in cache);
    any other shapes go to ``fn`` in one call.

    >>> blockwise(lambda a, b: (a * b).sum(-1), np.ones((70000, 2)), np.ones((70000, 2))).shape
    (70000,)
    """
    if p.ndim != 2 or p.shape != g.shape or len(p) <= BLOCK:
        return fn(p, g)
    out = np.empty(len(p), dtype=np.float64)
    for start in range(0, len(p), BLOCK):
        stop = start + BLOCK
        out[start:stop] = fn(p[start:stop], g[start:stop])
    return out


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
