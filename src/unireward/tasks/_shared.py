"""What the structured scorers share: the ``strict`` reordering of swapped ends, the
per-item outcomes of a batch, the flagging of non-finite values and the matching of answer
frames to truth frames (tracking and spatio-temporal grounding).

Not a task module (its name starts with ``_``): the task discovery skips it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..result import Status, TaskOutcome
from ..schemas import Issues

__all__ = ["FramePairs", "flag_non_finite", "order_boxes", "order_intervals", "outcomes"]

_NON_FINITE = Status.NON_FINITE


def order_intervals(a: np.ndarray) -> np.ndarray:
    """Swap the ends of ``(..., 2)`` intervals given end first (the ``strict`` profile).

    >>> order_intervals(np.array([[3.0, 1.0], [1.0, 2.0]])).tolist()
    [[1.0, 3.0], [1.0, 2.0]]
    """
    return np.stack([np.fmin(a[..., 0], a[..., 1]), np.fmax(a[..., 0], a[..., 1])], axis=-1)


def order_boxes(a: np.ndarray) -> np.ndarray:
    """Reorder the corners of ``(..., 4)`` boxes to ``x1 <= x2``, ``y1 <= y2`` (``strict``).

    >>> order_boxes(np.array([[3.0, 4.0, 1.0, 2.0]])).tolist()
    [[1.0, 2.0, 3.0, 4.0]]
    """
    x = order_intervals(a[..., [0, 2]])
    y = order_intervals(a[..., [1, 3]])
    return np.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], axis=-1)


def outcomes(
    acc: np.ndarray | list[float], structure: Sequence[float], issues: Issues
) -> list[TaskOutcome]:
    """Assemble the per-item outcomes of a batch (accuracy is always finite here)."""
    accs = acc.tolist() if isinstance(acc, np.ndarray) else acc
    out = [TaskOutcome(a, s) for a, s in zip(accs, structure, strict=True)]
    for i, (status, reason) in issues.items.items():
        out[i] = TaskOutcome(out[i].accuracy, out[i].structure, status, reason)
    return out


def flag_non_finite(
    rows: np.ndarray, index: Sequence[int] | np.ndarray, issues: Issues, what: str
) -> None:
    """Flag items whose used values (``rows``, owned by ``index``) are not all finite."""
    if len(rows) == 0:
        return
    bad = ~np.isfinite(rows.reshape(len(rows), -1)).all(axis=1)
    for i in np.unique(np.asarray(index)[bad]).tolist():
        issues.flag(i, _NON_FINITE, f"{what} has a NaN or infinite value: that component scores 0")


class FramePairs:
    """The ``(answer box, truth box)`` pairs of the frames answers share with their
    truths, over a batch, with the item owning each pair."""

    __slots__ = ("owner", "pred", "true")

    def __init__(self) -> None:
        self.pred: list[list[float]] = []
        self.true: list[tuple[float, ...]] = []
        self.owner: list[int] = []

    def match_frames(
        self,
        item: int,
        frames: Mapping[str, list[float] | None],
        truth: Mapping[str, tuple[float, ...]],
    ) -> int:
        """Pair item ``item``'s usable answer boxes with the truth's boxes of the same
        frame; returns how many truth frames the answer names (usable or not)."""
        shared = 0
        for k, gb in truth.items():
            if k in frames:
                shared += 1
                b = frames[k]
                if b is not None:
                    self.pred.append(b)
                    self.true.append(gb)
                    self.owner.append(item)
        return shared

    def arrays(self, strict: bool) -> tuple[np.ndarray, np.ndarray]:
        """The pairs as two ``(k, 4)`` arrays (corners reordered under ``strict``)."""
        p = np.array(self.pred, dtype=np.float64).reshape(-1, 4)
        g = np.array(self.true, dtype=np.float64).reshape(-1, 4)
        if strict:
            p, g = order_boxes(p), order_boxes(g)
        return p, g
