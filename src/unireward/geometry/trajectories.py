"""Box trajectories: one box per frame, with frames that may be missing on either side."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._arrays import as_coords, finite_rows, scalar_or_array
from .boxes import _iou

__all__ = ["mean_trajectory_iou", "ragged_mean_iou", "trajectory_iou"]


def _masks(
    p: np.ndarray, g: np.ndarray, pred_present: Any, truth_present: Any
) -> tuple[np.ndarray, np.ndarray]:
    pm = finite_rows(p) if pred_present is None else np.asarray(pred_present, dtype=bool)
    gm = finite_rows(g) if truth_present is None else np.asarray(truth_present, dtype=bool)
    return pm, gm


def trajectory_iou(
    pred: Any, truth: Any, pred_present: Any = None, truth_present: Any = None
) -> Any:
    """Per-frame box IoU of two trajectories, with missing frames.

    A frame the prediction lacks scores 0; a frame the truth lacks is NaN (it is not
    scored). By default a frame is missing where its box has a NaN or infinite
    coordinate; ``pred_present`` / ``truth_present`` (boolean, shape ``(..., T)``) say it
    explicitly (their frames must still be finite to score above 0).

    Args:
        pred: ``(..., T, 4)`` predicted boxes.
        truth: ``(..., T, 4)`` true boxes, broadcastable against ``pred``.
        pred_present: optional ``(..., T)`` mask of predicted frames.
        truth_present: optional ``(..., T)`` mask of true frames.

    Returns:
        ``(..., T)`` IoU per frame: NaN where the truth is missing.

    >>> nan = float("nan")
    >>> trajectory_iou([[0, 0, 2, 2], [nan] * 4, [0, 0, 1, 1]],
    ...                [[0, 0, 2, 2], [0, 0, 1, 1], [nan] * 4]).tolist()
    [1.0, 0.0, nan]
    """
    p = as_coords(pred, 4, "pred trajectory")
    g = as_coords(truth, 4, "truth trajectory")
    pm, gm = _masks(p, g, pred_present, truth_present)
    iou = np.where(pm, _iou(p, g), 0.0)
    return np.where(gm, iou, np.nan)


def mean_trajectory_iou(
    pred: Any, truth: Any, pred_present: Any = None, truth_present: Any = None
) -> Any:
    """Mean per-frame IoU over the frames the truth has (a missing prediction counts 0).

    Frames only the prediction has are ignored. A trajectory whose truth has no frame at
    all scores 0. Masks and defaults as in :func:`trajectory_iou`.

    >>> nan = float("nan")
    >>> float(mean_trajectory_iou([[0, 0, 2, 2], [nan] * 4, [0, 0, 1, 1]],
    ...                           [[0, 0, 2, 2], [0, 0, 1, 1], [nan] * 4]))
    0.5
    >>> float(mean_trajectory_iou(np.zeros((0, 4)), np.zeros((0, 4))))
    0.0
    """
    p = as_coords(pred, 4, "pred trajectory")
    g = as_coords(truth, 4, "truth trajectory")
    pm, gm = _masks(p, g, pred_present, truth_present)
    pm, gm = np.broadcast_arrays(pm, gm)
    iou = np.where(pm & gm, _iou(p, g), 0.0)
    count = gm.sum(axis=-1)
    total = iou.sum(axis=-1)
    return scalar_or_array(np.where(count > 0, total / np.maximum(count, 1), 0.0))


def ragged_mean_iou(pred: Any, truth: Any, owner: Any, counts: Any) -> np.ndarray:
    """Mean box IoU per trajectory, for frames stored flat (a ragged batch).

    Pair ``j`` (``pred[j]`` against ``truth[j]``) belongs to trajectory ``owner[j]``.
    Trajectory ``i`` scores ``sum of its pairs' IoU / counts[i]``: ``counts`` is its number
    of scored frames, so frames without a pair (the prediction lacks them) count 0. A
    trajectory with ``counts[i] == 0`` scores 0. This is :func:`mean_trajectory_iou`
    without padding to a common length.

    Args:
        pred: ``(P, 4)`` predicted boxes of all pairs.
        truth: ``(P, 4)`` true boxes of all pairs.
        owner: ``(P,)`` trajectory index of each pair, in ``[0, len(counts))``.
        counts: ``(N,)`` number of scored frames of each trajectory.

    Returns:
        ``(N,)`` mean IoU per trajectory.

    >>> ragged_mean_iou([[0, 0, 2, 2], [0, 0, 1, 1]], [[0, 0, 2, 2], [0, 0, 2, 2]],
    ...                 [0, 1], [2, 1]).tolist()
    [0.5, 0.25]
    """
    p = as_coords(pred, 4, "pred boxes").reshape(-1, 4)
    g = as_coords(truth, 4, "truth boxes").reshape(-1, 4)
    own = np.asarray(owner, dtype=np.intp).reshape(-1)
    cnt = np.asarray(counts, dtype=np.float64).reshape(-1)
    if not (len(p) == len(g) == len(own)):
        raise ValueError(
            f"pred, truth and owner need one row per pair, got {len(p)}, {len(g)}, {len(own)}"
        )
    sums = (
        np.bincount(own, weights=_iou(p, g), minlength=len(cnt)) if len(own) else np.zeros(len(cnt))
    )
    return np.where(cnt > 0, sums / np.where(cnt > 0, cnt, 1.0), 0.0)
