"""Point sets: optimal-assignment distance and the Gaussian point kernel.

A segmentation prompt carries a few positive and negative clicks; the order in which the
model lists them does not matter, so predicted points are matched to true points by the
assignment with the smallest total Euclidean distance.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ._arrays import finite_rows, scalar_or_array

__all__ = ["POINT_SIGMA", "point_set_distance", "point_set_similarity"]

#: Width of the Gaussian point kernel in grid units (5% of the frame on a 0-1000 grid).
POINT_SIGMA = 50.0

# All assignments of k predicted points to k true points, for the brute-force sizes.
_PERMS = {k: np.array(list(itertools.permutations(range(k))), dtype=np.intp) for k in (1, 2, 3)}


def _point_arrays(pred: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(truth, dtype=np.float64)
    if (
        p.ndim < 2
        or g.ndim < 2
        or p.shape[-1] != 2
        or g.shape[-1] != 2
        or p.shape[-2] != g.shape[-2]
    ):
        raise ValueError(
            f"point sets must have shapes (..., k, 2) with the same k, got {p.shape} and {g.shape}"
        )
    return p, g


def point_set_distance(pred: Any, truth: Any) -> Any:
    """Mean Euclidean distance between two point sets under the best assignment.

    Among all one-to-one assignments of predicted to true points, take the one with the
    smallest total distance and return that total divided by the number of points. Sets
    of up to 3 points are solved by trying every permutation (for 3 points: the minimum
    over the 6 permutations), vectorised over the batch; larger sets use
    :func:`scipy.optimize.linear_sum_assignment` per item.

    Degenerate inputs: an empty set (``k == 0``) or a set with any NaN or infinite
    coordinate gives NaN.

    Args:
        pred: array-like of shape ``(..., k, 2)``.
        truth: array-like of shape ``(..., k, 2)`` (same ``k``), broadcastable.

    Returns:
        float64 mean distance of shape ``(...)``.

    >>> float(point_set_distance([[0, 0], [10, 0]], [[10, 0], [0, 3]]))
    1.5
    >>> float(point_set_distance(np.zeros((0, 2)), np.zeros((0, 2))))
    nan
    """
    p, g = _point_arrays(pred, truth)
    p, g = np.broadcast_arrays(p, g)
    k = p.shape[-2]
    batch = p.shape[:-2]
    if k == 0:
        return scalar_or_array(np.full(batch, np.nan))
    ok = finite_rows(p, 2) & finite_rows(g, 2)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.sqrt(np.square(p[..., :, None, :] - g[..., None, :, :]).sum(axis=-1))  # (..., k, k)
    if k in _PERMS:
        perms = _PERMS[k]
        totals = d[..., np.arange(k), perms].sum(axis=-1)  # (..., k!)
        best = totals.min(axis=-1)
    else:
        from scipy.optimize import linear_sum_assignment

        flat_d = d.reshape(-1, k, k)
        flat_ok = ok.reshape(-1)
        best = np.full(flat_d.shape[0], np.nan)
        for i in np.flatnonzero(flat_ok):
            rows, cols = linear_sum_assignment(flat_d[i])
            best[i] = flat_d[i][rows, cols].sum()
        best = best.reshape(batch)
    return scalar_or_array(np.where(ok, best / k, np.nan))


def point_set_similarity(pred: Any, truth: Any, sigma: float = POINT_SIGMA) -> Any:
    """Gaussian kernel of the assignment distance: ``exp(-d**2 / (2 * sigma**2))``.

    ``d`` is :func:`point_set_distance`. Identical sets give 1; the value falls to
    ``exp(-1/2)`` when the points are on average ``sigma`` apart. Degenerate inputs (an
    empty set, NaN or infinite coordinates) give 0.

    >>> float(point_set_similarity([[0, 0], [10, 0], [0, 10]], [[0, 10], [0, 0], [10, 0]]))
    1.0
    >>> round(float(point_set_similarity([[50, 50]] * 3, [[0, 0]] * 3)), 6)
    0.367879
    >>> float(point_set_similarity([[float("nan"), 0]] * 3, [[0, 0]] * 3))
    0.0
    """
    d = np.asarray(point_set_distance(pred, truth), dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        sim = np.where(np.isfinite(d), np.exp(-np.square(d) / (2.0 * sigma * sigma)), 0.0)
    return scalar_or_array(sim)
