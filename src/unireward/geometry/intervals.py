"""1-D intervals (time spans) and the keyframe time kernel.

Every function takes one item or a batch: the last axis holds the coordinates and every
other axis broadcasts, so ``interval_iou([1, 3], [2, 4])`` and
``interval_iou(preds_of_shape_n_2, truths_of_shape_n_2)`` are the same call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._arrays import as_coords, blockwise, finite_rows, scalar_or_array

__all__ = [
    "INTERVAL_EPS",
    "KEYFRAME_SCALE",
    "interval_iou",
    "iou_one_interval",
    "keyframe_similarity",
]

#: An interval union at or below this length counts as empty (IoU 0).
INTERVAL_EPS = 1e-12
#: Width of the keyframe kernel ``exp(-|dt| / KEYFRAME_SCALE)``, in seconds.
KEYFRAME_SCALE = 2.0


def interval_iou(pred: Any, truth: Any) -> Any:
    """Intersection over union of ``[start, end]`` intervals.

    ``inter = max(0, min(e1, e2) - max(s1, s2))`` and ``union = max(e1, e2) - min(s1, s2)``;
    the IoU is ``inter / union``, and 0 when ``union <= 1e-12``.

    Degenerate inputs: ends are never reordered, so a swapped interval (``end < start``)
    has no intersection with anything and IoU 0; zero-length intervals have IoU 0 (a
    zero-length interval inside a longer one: intersection 0); a pair with any NaN or
    infinite value has IoU 0.

    Args:
        pred: array-like of shape ``(..., 2)``.
        truth: array-like of shape ``(..., 2)``, broadcastable against ``pred``.

    Returns:
        float64 IoU of the broadcast shape without the last axis (a NumPy scalar for one
        pair).

    >>> float(interval_iou([1, 3], [2, 4]))
    0.3333333333333333
    >>> interval_iou([[0, 10], [5, 5]], [[0, 5], [5, 5]]).tolist()
    [0.5, 0.0]
    >>> float(interval_iou([3, 1], [1, 3])), float(interval_iou([0, float("inf")], [0, 1]))
    (0.0, 0.0)
    """
    p = as_coords(pred, 2, "pred interval")
    g = as_coords(truth, 2, "truth interval")
    return scalar_or_array(blockwise(_interval_iou, p, g))


def iou_one_interval(p: Any, g: Any) -> float:
    """:func:`interval_iou` of one pair of finite intervals, in Python floats.

    The same operations as the array formula, in the same order, so the same double; a
    zero comes out as ``+0.0``. For values within ``±1e150`` only; the scorers use it for
    small batches and :func:`interval_iou` otherwise.

    >>> iou_one_interval([1, 3], [2, 4]) == float(interval_iou([1, 3], [2, 4]))
    True
    """
    ps, pe = p
    gs, ge = g
    inter = (pe if pe < ge else ge) - (ps if ps > gs else gs)
    union = (pe if pe > ge else ge) - (ps if ps < gs else gs)
    if union > INTERVAL_EPS and inter > 0.0:
        return inter / union + 0.0
    return 0.0


def _interval_iou(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The one implementation of the 1-D IoU formula (broadcastable ``(..., 2)`` arrays)."""
    ps, pe, gs, ge = p[..., 0], p[..., 1], g[..., 0], g[..., 1]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        inter = np.maximum(np.minimum(pe, ge) - np.maximum(ps, gs), 0.0)
        union = np.maximum(pe, ge) - np.minimum(ps, gs)
        ok = (union > INTERVAL_EPS) & finite_rows(p) & finite_rows(g)
        return np.where(ok, inter / np.where(ok, union, 1.0), 0.0)


def keyframe_similarity(pred: Any, truth: Any, scale: float = KEYFRAME_SCALE) -> Any:
    """Time kernel ``exp(-|pred - truth| / scale)`` (seconds), element-wise.

    1 for the same time, ``exp(-1)`` two seconds apart (default ``scale``); 0 when either
    time is NaN or infinite.

    >>> round(float(keyframe_similarity(3.0, 1.0)), 6)
    0.367879
    >>> keyframe_similarity([0.0, float("nan")], [0.0, 1.0]).tolist()
    [1.0, 0.0]
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(truth, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        dt = np.abs(p - g)
        sim = np.where(np.isfinite(dt), np.exp(-dt / scale), 0.0)
    return scalar_or_array(sim)
